//! One repository: breadcrumb, push commands, and tabs Images · Permissions · Settings.

use berth_model::ecr::{
    Action as EcrAction, DescribeRepositoriesRequest, DescribeRepositoriesResponse, Repository,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api;
use crate::components::push_commands::PushCommands;
use crate::components::{LoadError, Loading};
use crate::pages::images::ImagesTab;
use crate::pages::permissions::PermissionsTab;
use crate::pages::repositories::repository_href;
use crate::pages::settings::SettingsTab;
use crate::ConnectionSignal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Images,
    Permissions,
    Settings,
}

impl Tab {
    fn from_query(value: Option<String>) -> Tab {
        match value.as_deref() {
            Some("permissions") => Tab::Permissions,
            Some("settings") => Tab::Settings,
            _ => Tab::Images,
        }
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
    let connection = expect_context::<ConnectionSignal>();
    let name = route_name();
    let query = use_query_map();
    let tab = Memo::new(move |_| Tab::from_query(query.with(|q| q.get("tab"))));
    let just_created = Memo::new(move |_| query.with(|q| q.get("created").is_some()));
    let push_open = RwSignal::new(false);
    let navigate = use_navigate();

    let repository = LocalResource::new(move || {
        let current = connection.get();
        let name = name.get();
        async move {
            let Some(c) = current else {
                return Err(api::ApiError::Signing("not signed in".into()));
            };
            let request = DescribeRepositoriesRequest {
                repository_names: Some(vec![name]),
                ..Default::default()
            };
            let response: DescribeRepositoriesResponse =
                api::call(&c, EcrAction::DescribeRepositories, &request).await?;
            response
                .repositories
                .into_iter()
                .next()
                .ok_or_else(|| api::ApiError::Decode("no repository in the answer".into()))
        }
    });

    let tab_link = move |t: Tab| {
        let navigate = navigate.clone();
        view! {
            <button type="button" role="tab" class="tab" aria-selected=move || (tab.get() == t).to_string()
                on:click=move |_| navigate(&format!("{}?tab={}", repository_href(&name.get_untracked()), t.id()), Default::default())>
                {t.label()}
            </button>
        }
    };

    view! {
        <nav class="breadcrumb" aria-label="Breadcrumb"><a href="/repositories">"Repositories"</a>" / "<span>{move || name.get()}</span></nav>
        <div class="page-head">
            <h1 data-testid="repository-title">{move || name.get()}</h1>
            <button type="button" class="primary" on:click=move |_| push_open.set(true)>"View push commands"</button>
        </div>
        <Show when=move || just_created.get()>
            <div class="banner ok" role="status">
                "Repository created. Next, push an image to it. "
                <button type="button" class="link" on:click=move |_| push_open.set(true)>"View push commands"</button>
            </div>
        </Show>
        <Transition fallback=|| view! { <Loading text="Loading the repository…"/> }>
            {move || { let tab_link = tab_link.clone(); Suspend::new(async move {
                match repository.await {
                    Ok(repo) => {
                        let summary = repo.clone();
                        let push_repo = repo.clone();
                        view! {
                            <RepositorySummary repository=summary/>
                            <div class="tabs" role="tablist" aria-label="Repository">
                                {tab_link(Tab::Images)}{tab_link(Tab::Permissions)}{tab_link(Tab::Settings)}
                            </div>
                            <div role="tabpanel">
                                {move || match tab.get() {
                                    Tab::Images => view! { <ImagesTab repository=repo.clone()/> }.into_any(),
                                    Tab::Permissions => view! { <PermissionsTab repository=repo.clone()/> }.into_any(),
                                    Tab::Settings => view! { <SettingsTab repository=repo.clone() on_saved=Callback::new(move |_| repository.refetch())/> }.into_any(),
                                }}
                            </div>
                            {move || push_open.get().then(|| view! {
                                <PushCommands repository=push_repo.clone() on_close=Callback::new(move |_| push_open.set(false))/>
                            })}
                        }.into_any()
                    }
                    Err(error) => view! {
                        <LoadError title="The repository could not be loaded" message=error.to_string()
                            on_retry=Callback::new(move |_| repository.refetch())/>
                    }.into_any(),
                }
            })}}
        </Transition>
    }
}

#[component]
fn RepositorySummary(repository: Repository) -> impl IntoView {
    let uri = repository.repository_uri.clone();
    view! {
        <dl class="summary">
            <div><dt>"URI"</dt><dd><code>{uri.clone()}</code><crate::components::CopyButton text=Signal::derive(move || uri.clone()) label="repository URI"/></dd></div>
            <div><dt>"ARN"</dt><dd><code>{repository.repository_arn.clone()}</code></dd></div>
            <div><dt>"Created"</dt><dd title=crate::format::exact_time(repository.created_at)>{crate::format::local_time(repository.created_at)}</dd></div>
            <div><dt>"Tag immutability"</dt><dd>{if repository.image_tag_mutability == "IMMUTABLE" { "Immutable" } else { "Mutable" }}</dd></div>
        </dl>
    }
}
