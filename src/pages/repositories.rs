//! The repository list: every repository the key may see, searched, sorted and
//! paged in the browser with the state in the URL; push commands and delete.

use berth_model::ecr::{
    Action as EcrAction, DeleteRepositoryRequest, Repository, RepositoryResponse,
};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::access;
use crate::api;
use crate::components::copy::copy_and_tell;
use crate::components::list_query::{
    sort_header, FilterInput, ListQuery, PageSizeSelect, PagerNav,
};
use crate::components::push_commands::PushCommands;
use crate::components::{mark, mark_after_render, notify, ConfirmDelete, LoadError, Loading};
use crate::format;
use crate::html::Markup;
use crate::session::use_connection;
use crate::table::{
    count_text, mutability_label, page_count, page_of, repositories_view, Direction,
    RepositoryColumn,
};

/// A link to a repository's page (names contain `/`, which stays as is).
pub fn repository_href(name: &str) -> String {
    format!("/repositories/{name}")
}

#[component]
pub fn RepositoryList() -> impl IntoView {
    let connection = use_connection();
    let list = ListQuery::new("q", (RepositoryColumn::Name, Direction::Ascending));
    let selected = RwSignal::new(Vec::<String>::new());
    let push_for = RwSignal::new(None::<Repository>);

    let load_connection = connection.clone();
    let repositories = LocalResource::new(move || {
        let c = load_connection.clone();
        async move {
            let result = api::all_repositories(&c).await;
            mark("berth:repositories-data");
            result
        }
    });
    let all = Memo::new(move |_| repositories.get().and_then(Result::ok).unwrap_or_default());
    let matching = Memo::new(move |_| {
        let (column, direction) = list.sort.get();
        all.with(|a| repositories_view(a, &list.filter.get(), column, direction))
    });
    let total = Signal::derive(move || matching.with(Vec::len));
    // A closure, not a memo: a memo between the rows and the count would absorb a
    // change of rows (same page number) and leave the count stale.
    let shown_page = move || {
        let total = total.get();
        list.page.get().min(page_count(total, list.size.get()))
    };

    let header = move |label: &'static str, column: RepositoryColumn| {
        sort_header(label, column, list, Direction::Ascending)
    };

    // The rows are markup (see `repository_rows`); their clicks and changes are
    // handled here, once for the whole table.
    let on_row_click = move |ev: leptos::ev::MouseEvent| {
        let Some(button) = event_element(&ev).and_then(|e| e.closest("button").ok().flatten())
        else {
            return;
        };
        if let Some(text) = button.get_attribute("data-copy") {
            copy_and_tell(text, Some(button));
        } else if let Some(name) = button.get_attribute("data-push") {
            let repository =
                all.with_untracked(|a| a.iter().find(|r| r.repository_name == name).cloned());
            if let Some(repository) = repository {
                push_for.set(Some(repository));
            }
        }
    };
    let on_row_change = move |ev: leptos::ev::Event| {
        let Some(name) = event_element(&ev).and_then(|e| e.get_attribute("data-select")) else {
            return;
        };
        selected.update(|s| {
            if let Some(i) = s.iter().position(|n| n == &name) {
                s.remove(i);
            } else {
                s.push(name);
            }
        });
    };

    let confirm_open = RwSignal::new(false);
    let force = RwSignal::new(false);
    let count_connection = connection.clone();
    let image_count = LocalResource::new(move || {
        let open = confirm_open.get();
        let names = selected.get_untracked();
        let c = count_connection.clone();
        async move {
            if !open {
                return None;
            }
            let mut total = 0;
            for name in names {
                total += api::count_images(&c, &name).await.ok()?;
            }
            Some(total)
        }
    });
    let delete_connection = connection.clone();
    let delete = Action::new_local(move |(names, force): &(Vec<String>, bool)| {
        let (c, names, force) = (delete_connection.clone(), names.clone(), *force);
        async move {
            let mut failures = Vec::new();
            for name in &names {
                let request = DeleteRepositoryRequest {
                    repository_name: name.clone(),
                    force,
                    ..Default::default()
                };
                if let Err(e) =
                    api::call::<_, RepositoryResponse>(&c, EcrAction::DeleteRepository, &request)
                        .await
                {
                    failures.push(format!("{name}: {e}"));
                }
            }
            (names, failures)
        }
    });
    let delete_error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let Some((names, failures)) = delete.value().get() else {
            return;
        };
        if failures.is_empty() {
            notify(true, format!("Deleted {}", names.join(", ")));
            confirm_open.set(false);
            selected.set(Vec::new());
        } else {
            delete_error.set(Some(failures.join(" ")));
        }
        repositories.refetch();
    });
    let create_refused = move || access::refusal_note(EcrAction::CreateRepository, None);

    view! {
        <div class="page-head">
            <h1>"Private repositories"</h1>
            <div class="actions">
                <button type="button" class="secondary" data-testid="refresh" on:click=move |_| repositories.refetch()>"Refresh"</button>
                <button type="button" class="secondary" disabled=move || selected.with(Vec::is_empty)
                    on:click=move |_| { force.set(false); delete_error.set(None); confirm_open.set(true) }>"Delete"</button>
                <CreateButton/>
            </div>
        </div>
        {move || create_refused().map(|note| view! { <p class="hint" data-testid="create-refused">{note}</p> })}
        <div class="toolbar">
            <FilterInput list=list label="Filter repositories" placeholder="Find by name"/>
            <PageSizeSelect list=list/>
        </div>
        <Transition fallback=|| view! { <Loading text="Loading repositories…"/> }>
            {move || Suspend::new(async move {
                match repositories.await {
                    Ok(all_repositories) if all_repositories.is_empty() => view! { <EmptyRepositories/> }.into_any(),
                    Ok(all_repositories) => {
                        let count = all_repositories.len();
                        view! {
                            <p class="count" data-testid="repository-count" aria-live="polite">
                                {move || count_text(shown_page(), list.size.get(), total.get(), count, &list.filter.get(), ("repository", "repositories"))}
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
                                <tbody on:click=on_row_click on:change=on_row_change
                                    inner_html=move || matching.with(|m| {
                                        let (page, _) = page_of(m, list.page.get(), list.size.get());
                                        selected.with_untracked(|s| repository_rows(&page, s))
                                    })></tbody>
                            </table>
                            </div>
                            <PagerNav list=list total=total label="Pages"/>
                            {mark_after_render("berth:repositories-rendered")}
                        }.into_any()
                    }
                    Err(error) => view! {
                        <LoadError title="The repositories could not be loaded" message=error.to_string()
                            on_retry=Callback::new(move |_| repositories.refetch())/>
                    }.into_any(),
                }
            })}
        </Transition>
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
                    <ConfirmDelete title=title confirm_word=word busy=delete.pending()
                        what=format!("This deletes {}. It cannot be undone.", names.join(", "))
                        on_confirm=Callback::new(move |_| { delete.dispatch((selected.get_untracked(), force.get_untracked())); })
                        on_close=Callback::new(move |_| confirm_open.set(false))>
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
    }
}

/// The rows of one page as markup: a thousand rows parse from one string about ten
/// times faster than wasm builds them element by element (see BENCHMARKS.md). The
/// elements are those a `view!` would make; a checkbox is checked if its repository
/// is in `selected`. Every value is escaped by [`Markup`].
pub fn repository_rows(repositories: &[Repository], selected: &[String]) -> String {
    let mut m = Markup::with_capacity(repositories.len() * 900);
    for r in repositories {
        let name = &r.repository_name;
        m.raw(r#"<tr data-testid="repository-row"><td><input type="checkbox" aria-label="Select "#)
            .text(name)
            .raw(r#"" data-select=""#)
            .text(name)
            .raw(if selected.contains(name) {
                r#"" checked>"#
            } else {
                r#"">"#
            })
            .raw(r#"</td><td class="name"><a data-testid="repository-name" href=""#)
            .text(&repository_href(name))
            .raw(r#"">"#)
            .text(name)
            .raw(r#"</a></td><td class="uri"><code>"#)
            .text(&r.repository_uri)
            .raw(r#"</code><button type="button" class="copy" aria-label="Copy URI of "#)
            .text(name)
            .raw(r#"" title="Copy URI of "#)
            .text(name)
            .raw(r#"" data-copy=""#)
            .text(&r.repository_uri)
            .raw(r#"">Copy</button></td><td title=""#)
            .text(&format::exact_time(r.created_at))
            .raw(r#"">"#)
            .text(&format::local_time(r.created_at))
            .raw("</td><td>")
            .raw(mutability_label(&r.image_tag_mutability))
            .raw("</td><td>")
            .raw(if r.image_scanning_configuration.scan_on_push {
                "Enabled"
            } else {
                "Disabled"
            })
            .raw("</td><td>")
            .text(&r.encryption_configuration.encryption_type)
            .raw(r#"</td><td><button type="button" class="link" data-push=""#)
            .text(name)
            .raw(r#"">View push commands</button></td></tr>"#);
    }
    m.into_string()
}

/// The element an event happened on.
fn event_element(ev: &web_sys::Event) -> Option<web_sys::Element> {
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
}

/// "Create repository", disabled once the registry said this key may not.
#[component]
fn CreateButton() -> impl IntoView {
    let refused = move || access::refused(EcrAction::CreateRepository, None);
    view! {
        <Show when=move || !refused() fallback=|| view! {
            <button type="button" class="primary" disabled aria-describedby="create-refused-note">"Create repository"</button>
            <span id="create-refused-note" class="visually-hidden">{access::refusal_note(EcrAction::CreateRepository, None)}</span>
        }>
            <a class="button primary" href="/create-repository">"Create repository"</a>
        </Show>
    }
}

#[component]
fn EmptyRepositories() -> impl IntoView {
    view! {
        <div class="state empty" data-testid="empty">
            <h2>"No repositories are visible to this key"</h2>
            <p>"Either this registry has no repositories yet, or none lets this key list it (that takes "<code>"ecr:DescribeRepositories"</code>" in the repository's policy; the policy template “Console read + pull” grants what the console needs)."</p>
            <p>"A repository holds the images of one application. If this key may create repositories, create one and push to it with the commands it shows you."</p>
            <p><CreateButton/></p>
            <p>"Or from a terminal:"</p>
            <pre class="command">"aws ecr create-repository --repository-name my-app --endpoint-url <registry URL> --region <region>"</pre>
        </div>
    }
}
