//! One repository: breadcrumb, push commands, and tabs Images · Permissions · Settings.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::NavigateOptions;

use berth_model::ecr::Repository;

use crate::api;
use crate::components::push_commands::PushCommands;
use crate::components::tabs::{TabList, TabSpec};
use crate::components::{CopyButton, LoadError, Loading};
use crate::pages::images::ImagesTab;
use crate::pages::permissions::{PermissionsTab, PolicyDraft};
use crate::pages::repositories::repository_href;
use crate::pages::settings::SettingsTab;
use crate::session::use_connection;
use crate::table::mutability_label;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Images,
    Permissions,
    Settings,
}

impl Tab {
    const ALL: [Tab; 3] = [Tab::Images, Tab::Permissions, Tab::Settings];

    fn from_query(value: Option<String>) -> Tab {
        Tab::ALL
            .into_iter()
            .find(|t| value.as_deref() == Some(t.id()))
            .unwrap_or(Tab::Images)
    }

    fn id(self) -> &'static str {
        match self {
            Tab::Images => "images",
            Tab::Permissions => "permissions",
            Tab::Settings => "settings",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Tab::Images => "Images",
            Tab::Permissions => "Permissions",
            Tab::Settings => "Settings",
        }
    }
}

/// The repository name from a `/repositories/*name` route.
pub fn route_name() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| {
        params.with(|p| {
            p.get("name")
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string()
        })
    })
}

#[component]
pub fn RepositoryPage() -> impl IntoView {
    let connection = use_connection();
    let name = route_name();
    let query = use_query_map();
    let tab = Memo::new(move |_| Tab::from_query(query.with(|q| q.get("tab"))));
    let just_created = Memo::new(move |_| query.with(|q| q.get("created").is_some()));
    let push_open = RwSignal::new(false);
    let navigate = use_navigate();
    // Survives switching tabs: a draft is work a person has not saved yet.
    let draft = PolicyDraft::new();

    let repository = LocalResource::new(move || {
        let (c, name) = (connection.clone(), name.get());
        async move { api::repository(&c, &name).await }
    });
    let loaded = Memo::new(move |_| repository.get().and_then(Result::ok));

    let select_tab = Callback::new(move |t: Tab| {
        navigate(
            &format!("{}?tab={}", repository_href(&name.get_untracked()), t.id()),
            NavigateOptions {
                scroll: false,
                ..Default::default()
            },
        )
    });
    let tabs = Tab::ALL
        .into_iter()
        .map(|t| TabSpec {
            value: t,
            id: format!("tab-{}", t.id()),
            label: t.label(),
            panel: "repository-tabpanel".into(),
        })
        .collect::<Vec<_>>();

    view! {
        <nav class="breadcrumb" aria-label="Breadcrumb"><a href="/repositories">"Repositories"</a>" / "<span>{move || name.get()}</span></nav>
        <div class="page-head">
            <h1 data-testid="repository-title">{move || name.get()}</h1>
            <Show when=move || loaded.with(Option::is_some)>
                <button type="button" class="primary" on:click=move |_| push_open.set(true)>"View push commands"</button>
            </Show>
        </div>
        <Show when=move || just_created.get() && loaded.with(Option::is_some)>
            <div class="banner ok" role="status">
                "Repository created. Next, push an image to it. "
                <button type="button" class="link" on:click=move |_| push_open.set(true)>"View push commands"</button>
            </div>
        </Show>
        <Transition fallback=|| view! { <Loading text="Loading the repository…"/> }>
            {move || { let tabs = tabs.clone(); Suspend::new(async move {
                match repository.await {
                    Ok(repo) => {
                        let summary = repo.clone();
                        view! {
                            <RepositorySummary repository=summary/>
                            <TabList tabs=tabs selected=tab select=select_tab label="Repository"/>
                            <div role="tabpanel" id="repository-tabpanel"
                                aria-labelledby=move || format!("tab-{}", tab.get().id())>
                                {move || match tab.get() {
                                    Tab::Images => view! { <ImagesTab repository=repo.clone()/> }.into_any(),
                                    Tab::Permissions => view! { <PermissionsTab repository=repo.clone() draft=draft/> }.into_any(),
                                    Tab::Settings => view! { <SettingsTab repository=repo.clone() on_saved=Callback::new(move |_| repository.refetch())/> }.into_any(),
                                }}
                            </div>
                        }.into_any()
                    }
                    Err(error) => view! {
                        <LoadError title="The repository could not be loaded" message=error.to_string()
                            on_retry=Callback::new(move |_| repository.refetch())/>
                    }.into_any(),
                }
            })}}
        </Transition>
        {move || (push_open.get()).then(|| loaded.get()).flatten().map(|repo| view! {
            <PushCommands repository=repo on_close=Callback::new(move |_| push_open.set(false))/>
        })}
    }
}

#[component]
fn RepositorySummary(repository: Repository) -> impl IntoView {
    let uri = repository.repository_uri.clone();
    view! {
        <dl class="summary">
            <div><dt>"URI"</dt><dd><code>{uri.clone()}</code><CopyButton text=Signal::derive(move || uri.clone()) label="repository URI"/></dd></div>
            <div><dt>"ARN"</dt><dd><code>{repository.repository_arn.clone()}</code></dd></div>
            <div><dt>"Created"</dt><dd title=crate::format::exact_time(repository.created_at)>{crate::format::local_time(repository.created_at)}</dd></div>
            <div><dt>"Tag immutability"</dt><dd>{mutability_label(&repository.image_tag_mutability)}</dd></div>
        </dl>
    }
}
