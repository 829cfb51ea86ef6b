//! The repository list: what is in the registry.

use berth_model::ecr::Repository;
use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api;
use crate::format;
use crate::ConnectionSignal;

#[component]
pub fn RepositoryList() -> impl IntoView {
    let connection = expect_context::<ConnectionSignal>();
    let repositories = LocalResource::new(move || {
        let current = connection.get();
        async move {
            match current {
                Some(c) => api::all_repositories(&c).await,
                None => Ok(Vec::new()),
            }
        }
    });
    view! {
        <Show when=move || connection.with(Option::is_some) fallback=|| view! { <Redirect path="/sign-in"/> }>
            <div class="page-head">
                <h1>"Private repositories"</h1>
                <button class="secondary" data-testid="refresh" on:click=move |_| repositories.refetch()>"Refresh"</button>
            </div>
            <Transition fallback=|| view! { <p class="state loading" data-testid="loading">"Loading repositories…"</p> }>
                {move || Suspend::new(async move {
                    match repositories.await {
                        Ok(list) if list.is_empty() => view! { <EmptyRepositories/> }.into_any(),
                        Ok(list) => view! { <RepositoryTable repositories=list/> }.into_any(),
                        Err(error) => view! {
                            <div class="state error" role="alert" data-testid="load-error">
                                <h2>"The repositories could not be loaded"</h2>
                                <p>{error.to_string()}</p>
                                <button class="secondary" on:click=move |_| repositories.refetch()>"Try again"</button>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </Show>
    }
}

#[component]
fn EmptyRepositories() -> impl IntoView {
    view! {
        <div class="state empty" data-testid="empty">
            <h2>"No repositories yet"</h2>
            <p>"A repository holds the images of one application. Create one, then push to it:"</p>
            <pre class="command">"aws ecr create-repository --repository-name my-app --endpoint-url <registry URL> --region <region>"</pre>
        </div>
    }
}

#[component]
fn RepositoryTable(repositories: Vec<Repository>) -> impl IntoView {
    let count = repositories.len();
    let rows = repositories
        .into_iter()
        .map(|r| {
            let uri = r.repository_uri.clone();
            let copy_uri = uri.clone();
            view! {
                <tr data-testid="repository-row">
                    <td class="name" data-testid="repository-name">{r.repository_name.clone()}</td>
                    <td class="uri">
                        <code>{uri}</code>
                        <button class="copy" title="Copy URI" on:click=move |_| copy_to_clipboard(&copy_uri)>"Copy"</button>
                    </td>
                    <td title=format::exact_time(r.created_at)>{format::local_time(r.created_at)}</td>
                    <td>{if r.image_tag_mutability == "IMMUTABLE" { "Immutable" } else { "Mutable" }}</td>
                    <td>{if r.image_scanning_configuration.scan_on_push { "Enabled" } else { "Disabled" }}</td>
                    <td>{r.encryption_configuration.encryption_type.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    mark("berth:repositories-rendered");
    view! {
        <p class="count" data-testid="repository-count">{format!("{count} repositor{}", if count == 1 { "y" } else { "ies" })}</p>
        <table class="list" data-testid="repository-table">
            <thead>
                <tr>
                    <th>"Repository name"</th>
                    <th>"URI"</th>
                    <th>"Created at"</th>
                    <th>"Tag immutability"</th>
                    <th>"Scan on push"</th>
                    <th>"Encryption"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

fn copy_to_clipboard(text: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
}

/// A `performance.mark` for benchmarks to read.
fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}
