//! The repository list: what is in the registry, with filter, sort, paging,
//! push commands and delete.

use berth_model::ecr::{
    Action as EcrAction, DeleteRepositoryRequest, DescribeRepositoriesRequest,
    DescribeRepositoriesResponse, Repository, RepositoryResponse,
};
use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api;
use crate::components::paging::{PageSizeSelect, PagerNav, Paging};
use crate::components::push_commands::PushCommands;
use crate::components::{
    mark, mark_after_render, notify, sort_header, ConfirmDelete, CopyButton, LoadError, Loading,
};
use crate::format;
use crate::table::{repositories_view, Direction, Pager, RepositoryColumn};
use crate::ConnectionSignal;

/// A link to a repository's page (names contain `/`, which stays as is).
pub fn repository_href(name: &str) -> String {
    format!("/repositories/{name}")
}

#[component]
pub fn RepositoryList() -> impl IntoView {
    let connection = expect_context::<ConnectionSignal>();
    let paging = Paging::new("berth.repositories.pageSize");
    let filter = RwSignal::new(String::new());
    let sort = RwSignal::new((RepositoryColumn::Name, Direction::Ascending));
    let selected = RwSignal::new(Vec::<String>::new());
    let push_for = RwSignal::new(None::<Repository>);
    let deleting = RwSignal::new(false);

    let page = LocalResource::new(move || {
        let current = connection.get();
        let token = paging.token.get();
        let max = paging.size.get();
        async move {
            let Some(c) = current else {
                return Ok(DescribeRepositoriesResponse::default());
            };
            let request = DescribeRepositoriesRequest {
                next_token: token,
                max_results: Some(max),
                ..Default::default()
            };
            let response = api::call::<_, DescribeRepositoriesResponse>(
                &c,
                EcrAction::DescribeRepositories,
                &request,
            )
            .await;
            mark("berth:repositories-data");
            response
        }
    });
    paging.follow(page, |r: &DescribeRepositoriesResponse| {
        r.next_token.clone()
    });

    let header = move |label: &'static str, column: RepositoryColumn| {
        sort_header(label, column, sort, Direction::Ascending)
    };

    let rows = move |list: Vec<Repository>| {
        let (column, direction) = sort.get();
        repositories_view(&list, &filter.get(), column, direction)
            .into_iter()
            .map(|r| {
                let name = r.repository_name.clone();
                let checked_name = name.clone();
                let toggle_name = name.clone();
                let uri = r.repository_uri.clone();
                let push_repo = r.clone();
                view! {
                    <tr data-testid="repository-row">
                        <td>
                            <input type="checkbox" aria-label=format!("Select {name}")
                                prop:checked=move || selected.with(|s| s.contains(&checked_name))
                                on:change=move |_| selected.update(|s| {
                                    if let Some(i) = s.iter().position(|n| n == &toggle_name) { s.remove(i); } else { s.push(toggle_name.clone()); }
                                })/>
                        </td>
                        <td class="name"><a data-testid="repository-name" href=repository_href(&name)>{name.clone()}</a></td>
                        <td class="uri"><code>{uri.clone()}</code><CopyButton text=Signal::derive(move || uri.clone()) label=format!("URI of {name}")/></td>
                        <td title=format::exact_time(r.created_at)>{format::local_time(r.created_at)}</td>
                        <td>{if r.image_tag_mutability == "IMMUTABLE" { "Immutable" } else { "Mutable" }}</td>
                        <td>{if r.image_scanning_configuration.scan_on_push { "Enabled" } else { "Disabled" }}</td>
                        <td>{r.encryption_configuration.encryption_type.clone()}</td>
                        <td><button type="button" class="link" on:click=move |_| push_for.set(Some(push_repo.clone()))>"View push commands"</button></td>
                    </tr>
                }
            })
            .collect_view()
    };

    let confirm_open = RwSignal::new(false);
    let force = RwSignal::new(false);
    let image_count = LocalResource::new(move || {
        let open = confirm_open.get();
        let names = selected.get_untracked();
        let current = connection.get_untracked();
        async move {
            let (true, Some(c)) = (open, current) else {
                return None;
            };
            let mut total = 0;
            for name in names {
                total += api::count_images(&c, &name).await.ok()?;
            }
            Some(total)
        }
    });
    let delete_error = RwSignal::new(None::<String>);
    let delete_selected = Callback::new(move |_| {
        let Some(c) = connection.get_untracked() else {
            return;
        };
        let names = selected.get_untracked();
        let force_now = force.get_untracked();
        deleting.set(true);
        delete_error.set(None);
        leptos::task::spawn_local(async move {
            let mut failures = Vec::new();
            for name in &names {
                let request = DeleteRepositoryRequest {
                    repository_name: name.clone(),
                    force: force_now,
                    ..Default::default()
                };
                if let Err(e) =
                    api::call::<_, RepositoryResponse>(&c, EcrAction::DeleteRepository, &request)
                        .await
                {
                    failures.push(format!("{name}: {e}"));
                }
            }
            deleting.set(false);
            if failures.is_empty() {
                notify(true, format!("Deleted {}", names.join(", ")));
                confirm_open.set(false);
                selected.set(Vec::new());
            } else {
                delete_error.set(Some(failures.join(" ")));
            }
            page.refetch();
        });
    });

    view! {
        <Show when=move || connection.with(Option::is_some) fallback=|| view! { <Redirect path="/sign-in"/> }>
            <div class="page-head">
                <h1>"Private repositories"</h1>
                <div class="actions">
                    <button type="button" class="secondary" data-testid="refresh" on:click=move |_| page.refetch()>"Refresh"</button>
                    <button type="button" class="secondary" disabled=move || selected.with(Vec::is_empty)
                        on:click=move |_| { force.set(false); delete_error.set(None); confirm_open.set(true) }>"Delete"</button>
                    <a class="button primary" href="/create-repository">"Create repository"</a>
                </div>
            </div>
            <div class="toolbar">
                <label class="inline">"Filter repositories"
                    <input type="search" data-testid="filter" bind:value=filter placeholder="Find by name"/>
                </label>
                <PageSizeSelect paging=paging/>
            </div>
            <Transition fallback=|| view! { <Loading text="Loading repositories…"/> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(response) if response.repositories.is_empty() && !paging.pager.with_untracked(Pager::has_previous) => {
                            view! { <EmptyRepositories/> }.into_any()
                        }
                        Ok(response) => {
                            let count = response.repositories.len();
                            let list = response.repositories.clone();
                            view! {
                                <p class="count" data-testid="repository-count">
                                    {move || {
                                        let shown = repositories_view(&list, &filter.get(), RepositoryColumn::Name, Direction::Ascending).len();
                                        let base = format!("{count} repositor{}", if count == 1 { "y" } else { "ies" });
                                        if shown == count { base } else { format!("{shown} of {base} match the filter") }
                                    }}
                                </p>
                                <div class="table-wrap">
                                <table class="list" data-testid="repository-table">
                                    <thead><tr>
                                        <th><span class="visually-hidden">"Selected"</span></th>
                                        {header("Repository name", RepositoryColumn::Name)}
                                        <th>"URI"</th>
                                        {header("Created at", RepositoryColumn::CreatedAt)}
                                        {header("Tag immutability", RepositoryColumn::TagImmutability)}
                                        {header("Scan on push", RepositoryColumn::ScanOnPush)}
                                        {header("Encryption", RepositoryColumn::Encryption)}
                                        <th><span class="visually-hidden">"Push commands"</span></th>
                                    </tr></thead>
                                    <tbody>{move || rows(response.repositories.clone())}</tbody>
                                </table>
                                </div>
                                {mark_after_render("berth:repositories-rendered")}
                            }.into_any()
                        }
                        Err(error) => view! {
                            <LoadError title="The repositories could not be loaded" message=error.to_string()
                                on_retry=Callback::new(move |_| page.refetch())/>
                        }.into_any(),
                    }
                })}
            </Transition>
            <PagerNav paging=paging label="Pages"/>
            {move || push_for.get().map(|repository| view! {
                <PushCommands repository=repository on_close=Callback::new(move |_| push_for.set(None))/>
            })}
            <Show when=move || confirm_open.get()>
                {move || {
                    let names = selected.get();
                    let (title, word) = if names.len() == 1 {
                        (format!("Delete {}", names[0]), names[0].clone())
                    } else {
                        (format!("Delete {} repositories", names.len()), "delete".to_string())
                    };
                    view! {
                        <ConfirmDelete title=title confirm_word=word busy=deleting
                            what=format!("This deletes {}. It cannot be undone.", names.join(", "))
                            on_confirm=delete_selected on_close=Callback::new(move |_| confirm_open.set(false))>
                            <label class="inline">
                                <input type="checkbox" data-testid="force-delete" bind:checked=force/>
                                {move || match image_count.get().flatten() {
                                    Some(n) => format!("Also delete the {n} image{} they contain", if n == 1 { "" } else { "s" }),
                                    None => "Also delete the images they contain".to_string(),
                                }}
                            </label>
                            {move || delete_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                        </ConfirmDelete>
                    }
                }}
            </Show>
        </Show>
    }
}

#[component]
fn EmptyRepositories() -> impl IntoView {
    view! {
        <div class="state empty" data-testid="empty">
            <h2>"No repositories yet"</h2>
            <p>"A repository holds the images of one application. Create one, then push to it with the commands it shows you."</p>
            <p><a class="button primary" href="/create-repository">"Create repository"</a></p>
            <p>"Or from a terminal:"</p>
            <pre class="command">"aws ecr create-repository --repository-name my-app --endpoint-url <registry URL> --region <region>"</pre>
        </div>
    }
}
