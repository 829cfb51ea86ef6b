//! The Images tab: every image of the repository, searched by tag, filtered by tag
//! status, sorted and paged in the browser with the state in the URL. The platform
//! images of a multi-platform index show under it, never as loose "untagged" images
//! that could be deleted from under the index.

use berth_model::ecr::{
    Action as EcrAction, BatchDeleteImageResponse, BatchGetImageResponse, BatchImagesRequest,
    ImageDetail, ImageFailure, ImageIdentifier, PutImageRequest, PutImageResponse, Repository,
    FAILURE_IMAGE_NOT_FOUND, FAILURE_REFERENCED_BY_MANIFEST_LIST,
};
use berth_model::oci;
use leptos::prelude::*;

use crate::access;
use crate::api::{self, ApiError};
use crate::components::list_query::{
    sort_header, FilterInput, ListQuery, PageSizeSelect, PagerNav,
};
use crate::components::{
    mark, mark_after_render, notify, notify_with_action, ConfirmDelete, CopyButton, LoadError,
    Loading,
};
use crate::format;
use crate::session::use_connection;
use crate::table::{
    count_text, page_count, page_of, Direction, ImageColumn, RepositoryImages, TagStatus,
};

pub fn image_href(repository: &str, digest: &str) -> String {
    format!("/images/{repository}?digest={digest}")
}

const STATUS_KEY: &str = "status";

fn tags_text(tags: &[String]) -> String {
    if tags.is_empty() {
        "untagged".into()
    } else {
        tags.join(", ")
    }
}

/// One refused or failed image of a BatchDeleteImage, in words.
fn failure_words(failure: &ImageFailure, images: &RepositoryImages) -> String {
    let id = &failure.image_id;
    let named = match (&id.image_tag, &id.image_digest) {
        (Some(tag), _) => format!("Tag {tag}"),
        (None, Some(digest)) => format!("Image {}", format::short_digest(digest)),
        (None, None) => "An image".into(),
    };
    match failure.failure_code.as_str() {
        FAILURE_REFERENCED_BY_MANIFEST_LIST => {
            let parts: Vec<String> = id
                .image_digest
                .as_deref()
                .map(|d| images.memberships(d).iter().map(|m| m.label()).collect())
                .unwrap_or_default();
            let which = if parts.is_empty() {
                "a multi-platform image".to_string()
            } else {
                parts.join("; ")
            };
            format!("{named} was not deleted: it is {which}, and the registry keeps it while that index exists. Delete the index first if you mean to remove the whole image.")
        }
        FAILURE_IMAGE_NOT_FOUND => format!("{named} was already gone."),
        _ => format!("{named}: {}", failure.failure_reason),
    }
}

/// What a tag's removal takes to undo: the manifest it pointed at.
#[derive(Clone)]
struct RemovedTag {
    tag: String,
    manifest: String,
    media_type: String,
}

#[component]
pub fn ImagesTab(repository: Repository) -> impl IntoView {
    let connection = use_connection();
    let name = repository.repository_name.clone();
    let list = ListQuery::new("tag", (ImageColumn::PushedAt, Direction::Descending));
    let url = leptos_router::hooks::use_query_map();
    let status = Memo::new(move |_| {
        url.with(|q| q.get(STATUS_KEY))
            .and_then(|s| TagStatus::from_id(&s))
            .unwrap_or(TagStatus::Any)
    });
    let selected = RwSignal::new(Vec::<String>::new());
    let confirm_open = RwSignal::new(false);
    let last_tag = RwSignal::new(None::<(String, String)>);

    let (load_connection, load_name) = (connection.clone(), name.clone());
    let images = LocalResource::new(move || {
        let (c, repository) = (load_connection.clone(), load_name.clone());
        async move {
            let result = api::all_images(&c, &repository).await;
            mark("berth:images-data");
            result
        }
    });
    let data = Memo::new(move |_| images.get().and_then(Result::ok).unwrap_or_default());
    let rows = Memo::new(move |_| {
        let (column, direction) = list.sort.get();
        data.with(|d| d.rows(&list.filter.get(), status.get(), column, direction))
    });
    let total = Signal::derive(move || rows.with(Vec::len));
    // A closure, not a memo: a memo between the rows and the count would absorb a
    // change of rows (same page number) and leave the count stale.
    let shown_page = move || {
        let total = total.get();
        list.page.get().min(page_count(total, list.size.get()))
    };

    // Deleting images, or an image with its last tag.
    let (delete_connection, delete_name) = (connection.clone(), name.clone());
    let delete = Action::new_local(move |ids: &Vec<ImageIdentifier>| {
        let request = BatchImagesRequest {
            repository_name: delete_name.clone(),
            image_ids: ids.clone(),
            ..Default::default()
        };
        let c = delete_connection.clone();
        async move {
            api::call::<_, BatchDeleteImageResponse>(&c, EcrAction::BatchDeleteImage, &request)
                .await
        }
    });
    let delete_error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let Some(result) = delete.value().get() else {
            return;
        };
        match result {
            Ok(r) if r.failures.is_empty() => {
                let n = r.image_ids.len();
                notify(
                    true,
                    format!("Deleted {n} image{}", if n == 1 { "" } else { "s" }),
                );
                confirm_open.set(false);
                last_tag.set(None);
                selected.set(Vec::new());
            }
            Ok(r) => {
                let words = data.with_untracked(|d| {
                    r.failures
                        .iter()
                        .map(|f| failure_words(f, d))
                        .collect::<Vec<_>>()
                        .join(" ")
                });
                delete_error.set(Some(words));
                selected.set(Vec::new());
            }
            Err(e) => delete_error.set(Some(e.to_string())),
        }
        images.refetch();
    });

    // Removing one tag of an image that keeps others: at once, with Undo.
    let (remove_connection, remove_name) = (connection.clone(), name.clone());
    let remove_tag = Action::new_local(move |(digest, tag): &(String, String)| {
        let (c, repository) = (remove_connection.clone(), remove_name.clone());
        let (digest, tag) = (digest.clone(), tag.clone());
        async move {
            let by_digest = ImageIdentifier {
                image_digest: Some(digest),
                image_tag: None,
            };
            let got: BatchGetImageResponse = api::call(
                &c,
                EcrAction::BatchGetImage,
                &BatchImagesRequest {
                    repository_name: repository.clone(),
                    image_ids: vec![by_digest],
                    ..Default::default()
                },
            )
            .await?;
            let removed: BatchDeleteImageResponse = api::call(
                &c,
                EcrAction::BatchDeleteImage,
                &BatchImagesRequest {
                    repository_name: repository,
                    image_ids: vec![ImageIdentifier {
                        image_digest: None,
                        image_tag: Some(tag.clone()),
                    }],
                    ..Default::default()
                },
            )
            .await?;
            Ok::<_, ApiError>((
                removed,
                got.images.into_iter().next().map(|image| RemovedTag {
                    tag,
                    manifest: image.image_manifest,
                    media_type: image.image_manifest_media_type,
                }),
            ))
        }
    });
    let (undo_connection, undo_name) = (connection.clone(), name.clone());
    let undo = Action::new_local(move |removed: &RemovedTag| {
        let request = PutImageRequest {
            repository_name: undo_name.clone(),
            image_manifest: removed.manifest.clone(),
            image_manifest_media_type: Some(removed.media_type.clone()),
            image_tag: Some(removed.tag.clone()),
            ..Default::default()
        };
        let (c, tag) = (undo_connection.clone(), removed.tag.clone());
        async move {
            api::call::<_, PutImageResponse>(&c, EcrAction::PutImage, &request)
                .await
                .map(|_| tag)
        }
    });
    Effect::new(move |_| {
        let Some(result) = remove_tag.value().get() else {
            return;
        };
        match result {
            Ok((r, _)) if !r.failures.is_empty() => {
                let words = data.with_untracked(|d| {
                    r.failures
                        .iter()
                        .map(|f| failure_words(f, d))
                        .collect::<Vec<_>>()
                        .join(" ")
                });
                notify(false, words);
            }
            Ok((_, Some(removed))) => notify_with_action(
                format!("Removed tag {}", removed.tag),
                "Undo",
                Callback::new(move |_| {
                    undo.dispatch(removed.clone());
                }),
            ),
            Ok((_, None)) => notify(true, "Removed the tag"),
            Err(e) => notify(false, e.to_string()),
        }
        images.refetch();
    });
    Effect::new(move |_| {
        match undo.value().get() {
            Some(Ok(tag)) => notify(true, format!("Tag {tag} is back")),
            Some(Err(e)) => notify(false, e.to_string()),
            None => return,
        }
        images.refetch();
    });

    let repository_name = name.clone();
    let delete_refused = {
        let name = name.clone();
        Memo::new(move |_| access::refusal_note(EcrAction::BatchDeleteImage, Some(&name)))
    };
    let header = move |label: &'static str, column: ImageColumn| {
        sort_header(label, column, list, Direction::Descending)
    };
    let row_name = name.clone();
    let row = move |image: ImageDetail| {
        view! {
            <ImageRow image=image repository=row_name.clone() data=data selected=selected
                on_remove_tag=Callback::new(move |(digest, tag, last): (String, String, bool)| {
                    if last { last_tag.set(Some((digest, tag))) } else { remove_tag.dispatch((digest, tag)); }
                })/>
        }
    };

    view! {
        <div class="toolbar">
            <FilterInput list=list label="Filter by tag" placeholder="Tag contains…"/>
            <label class="inline">"Show"
                <select data-testid="tag-status" on:change=move |ev| {
                    let value = TagStatus::from_id(&event_target_value(&ev)).filter(|s| *s != TagStatus::Any);
                    list.write(vec![(STATUS_KEY, value.map(|s| s.id().to_string()))], false);
                }>
                    {TagStatus::ALL.into_iter().map(|s| view! {
                        <option value=s.id() selected=move || status.get() == s>{s.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <PageSizeSelect list=list/>
            <span class="spacer"></span>
            <button type="button" class="secondary" aria-label="Refresh images" on:click=move |_| images.refetch()>"Refresh"</button>
            <button type="button" class="secondary" data-testid="delete-images"
                disabled=move || selected.with(Vec::is_empty) || delete_refused.with(Option::is_some)
                on:click=move |_| { delete_error.set(None); confirm_open.set(true) }>"Delete images"</button>
        </div>
        {move || delete_refused.get().map(|note| view! { <p class="hint" data-testid="delete-refused">{note}</p> })}
        {move || (!confirm_open.get()).then(|| delete_error.get()).flatten().map(|e| view! {
            <p class="error" role="alert" data-testid="delete-error">{e}</p>
        })}
        <Transition fallback=|| view! { <Loading text="Loading images…"/> }>
            {move || { let row = row.clone(); let repository_name = repository_name.clone(); Suspend::new(async move {
                match images.await {
                    Ok(all) if all.images.is_empty() => view! {
                        <div class="state empty" data-testid="no-images">
                            <h2>"No images yet"</h2>
                            <p>{format!("Push an image to {repository_name} with the commands under “View push commands”.")}</p>
                        </div>
                    }.into_any(),
                    Ok(all) => {
                        let count = all.images.len();
                        view! {
                            <p class="count" data-testid="image-count" aria-live="polite">
                                {move || count_text(shown_page(), list.size.get(), total.get(), count, &list.filter.get(), ("image", "images"))}
                            </p>
                            <div class="table-wrap">
                            <table class="list" data-testid="image-table">
                                <thead><tr>
                                    <th><span class="visually-hidden">"Selected"</span></th>
                                    {header("Tags", ImageColumn::Tags)}
                                    <th>"Type"</th>
                                    {header("Pushed at", ImageColumn::PushedAt)}
                                    {header("Size", ImageColumn::Size)}
                                    <th>"Digest"</th>
                                    {header("Last pulled", ImageColumn::LastPulled)}
                                </tr></thead>
                                <tbody>{move || rows.with(|r| page_of(r, list.page.get(), list.size.get()).0)
                                    .into_iter().map(row.clone()).collect_view()}</tbody>
                            </table>
                            </div>
                            <PagerNav list=list total=total label="Image pages"/>
                            {mark_after_render("berth:images-rendered")}
                        }.into_any()
                    }
                    Err(error) => view! {
                        <LoadError title="The images could not be loaded" message=error.to_string()
                            on_retry=Callback::new(move |_| images.refetch())/>
                    }.into_any(),
                }
            })}}
        </Transition>
        <Show when=move || confirm_open.get()>
            {move || {
                let chosen: Vec<ImageDetail> = data.with_untracked(|d| d.images.iter()
                    .filter(|i| selected.with_untracked(|s| s.contains(&i.image_digest))).cloned().collect());
                let n = chosen.len();
                view! {
                    <ConfirmDelete title=if n == 1 { "Delete 1 image".to_string() } else { format!("Delete {n} images") }
                        confirm_word="delete" busy=delete.pending()
                        what="These images and all their tags are deleted. It cannot be undone."
                        on_confirm=Callback::new(move |_| {
                            let ids = selected.get_untracked().into_iter().map(|d| ImageIdentifier { image_digest: Some(d), image_tag: None }).collect();
                            delete.dispatch(ids);
                        })
                        on_close=Callback::new(move |_| confirm_open.set(false))>
                        <ul class="delete-list" data-testid="delete-list">
                            {chosen.into_iter().map(|i| view! {
                                <li><code>{i.image_digest.clone()}</code>" — "{tags_text(&i.image_tags)}</li>
                            }).collect_view()}
                        </ul>
                        {move || delete_error.get().map(|e| view! { <p class="error" role="alert" data-testid="delete-error">{e}</p> })}
                    </ConfirmDelete>
                }
            }}
        </Show>
        {move || last_tag.get().map(|(digest, tag)| {
            let confirm_digest = digest.clone();
            view! {
                <ConfirmDelete title=format!("Remove tag {tag}") confirm_word=tag.clone() busy=delete.pending()
                    action_label="Delete image"
                    what=format!("{tag} is the last tag of image {digest}. As in Amazon ECR, removing an image's last tag deletes the image. It cannot be undone.")
                    on_confirm=Callback::new(move |_| {
                        delete.dispatch(vec![ImageIdentifier { image_digest: Some(confirm_digest.clone()), image_tag: None }]);
                    })
                    on_close=Callback::new(move |_| last_tag.set(None))>
                    {move || delete_error.get().map(|e| view! { <p class="error" role="alert" data-testid="delete-error">{e}</p> })}
                </ConfirmDelete>
            }
        })}
    }
}

fn artifact_label(media_type: &str) -> String {
    match media_type {
        oci::DOCKER_CONFIG | oci::OCI_CONFIG => "Image".into(),
        other => other.to_string(),
    }
}

/// One image, and, when it is an expanded index, its platform images under it.
#[component]
fn ImageRow(
    image: ImageDetail,
    repository: String,
    data: Memo<RepositoryImages>,
    selected: RwSignal<Vec<String>>,
    /// (digest, tag, whether it is the image's last tag)
    on_remove_tag: Callback<(String, String, bool)>,
) -> impl IntoView {
    let digest = image.image_digest.clone();
    let is_index = oci::is_index_media_type(&image.image_manifest_media_type);
    let expanded = RwSignal::new(false);
    let memberships = data.with_untracked(|d| d.memberships(&digest).to_vec());
    let deletable = memberships.is_empty();
    // A platform image with tags of its own cannot lose its last tag to deletion.
    let last_tag_deletes = deletable && image.image_tags.len() == 1;
    let can_delete = {
        let repository = repository.clone();
        move || !access::refused(EcrAction::BatchDeleteImage, Some(&repository))
    };
    let chips = if image.image_tags.is_empty() {
        view! { <span class="chip muted">"untagged"</span> }.into_any()
    } else {
        image
            .image_tags
            .iter()
            .map(|tag| {
                let (tag, remove) = (tag.clone(), tag.clone());
                let remove_digest = digest.clone();
                let can_delete = can_delete.clone();
                view! {
                    <span class="chip" data-testid="tag-chip">{tag.clone()}
                        <Show when=can_delete.clone()>
                            <button type="button" class="chip-remove" aria-label=format!("Remove tag {tag}")
                                on:click={
                                    let (remove, remove_digest) = (remove.clone(), remove_digest.clone());
                                    move |_| on_remove_tag.run((remove_digest.clone(), remove.clone(), last_tag_deletes))
                                }>"×"</button>
                        </Show>
                    </span>
                }
            })
            .collect_view()
            .into_any()
    };
    let (check_digest, toggle_digest, copy_digest) =
        (digest.clone(), digest.clone(), digest.clone());
    let short = format::short_digest(&digest);
    let checkbox = if deletable {
        view! {
            <input type="checkbox" aria-label=format!("Select image {short}")
                prop:checked=move || selected.with(|s| s.contains(&check_digest))
                on:change=move |_| selected.update(|s| {
                    if let Some(i) = s.iter().position(|d| d == &toggle_digest) { s.remove(i); } else { s.push(toggle_digest.clone()); }
                })/>
        }
        .into_any()
    } else {
        view! {
            <input type="checkbox" disabled aria-label=format!("Image {short} is part of a multi-platform image and cannot be selected")
                title="Part of a multi-platform image: delete the index instead"/>
        }
        .into_any()
    };
    let href = image_href(&repository, &digest);
    let platform_repository = repository.clone();
    let index_digest = digest.clone();
    view! {
        <tr data-testid="image-row">
            <td>{checkbox}</td>
            <td class="chips">{chips}
                {memberships.iter().map(|m| view! { <span class="chip muted" data-testid="part-of">{m.label()}</span> }).collect_view()}
            </td>
            <td>{image.artifact_media_type.clone().map(|t| artifact_label(&t)).unwrap_or_else(|| "Image".into())}
                {is_index.then(|| view! {
                    <button type="button" class="link" aria-expanded=move || expanded.get().to_string()
                        on:click=move |_| expanded.update(|e| *e = !*e)>
                        {move || if expanded.get() { "Hide platforms" } else { "Show platforms" }}
                    </button>
                })}
            </td>
            <td title=format::exact_time(image.image_pushed_at)>{format::local_time(image.image_pushed_at)}</td>
            <td>{format::size(image.image_size_in_bytes)}</td>
            <td class="digest"><a href=href title=digest.clone() data-testid="image-digest">{short.clone()}</a>
                <CopyButton text=Signal::derive(move || copy_digest.clone()) label="digest"/></td>
            <td>{image.last_recorded_pull_time.map(format::local_time).unwrap_or_else(|| "–".into())}</td>
        </tr>
        {move || (is_index && expanded.get()).then(|| {
            let tags = image.image_tags.clone();
            data.with(|d| d.platforms(&index_digest).to_vec()).into_iter().map(|p| {
                let part_of = crate::table::Membership {
                    index_digest: index_digest.clone(),
                    index_tags: tags.clone(),
                    platform: p.platform.clone(),
                }.label();
                view! {
                    <tr class="platform" data-testid="platform-row">
                        <td></td>
                        <td colspan="2">"↳ "<span class="chip muted">{part_of}</span></td>
                        <td></td>
                        <td>{p.size.map(format::size).unwrap_or_default()}</td>
                        <td class="digest"><a href=image_href(&platform_repository, &p.digest) title=p.digest.clone()>{format::short_digest(&p.digest)}</a></td>
                        <td></td>
                    </tr>
                }
            }).collect_view()
        })}
    }
}
