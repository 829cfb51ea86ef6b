//! The Images tab: tags, sizes, digests; filter, sort, paging; platform rows for
//! multi-platform indexes; delete images or single tags.

use berth_model::ecr::{
    Action as EcrAction, BatchDeleteImageResponse, BatchGetImageResponse, BatchImagesRequest,
    DescribeImagesRequest, DescribeImagesResponse, ImageDetail, ImageFilter, ImageIdentifier,
    Repository,
};
use berth_model::oci::{self, Platform};
use leptos::prelude::*;

use crate::api;
use crate::components::paging::{PageSizeSelect, PagerNav, Paging};
use crate::components::{
    mark, mark_after_render, notify, sort_header, ConfirmDelete, CopyButton, LoadError, Loading,
};
use crate::format;

use crate::table::{images_view, Direction, ImageColumn};
use crate::ConnectionSignal;

pub fn image_href(repository: &str, digest: &str) -> String {
    format!("/images/{repository}?digest={digest}")
}

#[component]
pub fn ImagesTab(repository: Repository) -> impl IntoView {
    let connection = expect_context::<ConnectionSignal>();
    let name = repository.repository_name.clone();
    let paging = Paging::new("berth.images.pageSize");
    let filter = RwSignal::new(String::new());
    let tag_status = RwSignal::new("ANY".to_string());
    let sort = RwSignal::new((ImageColumn::PushedAt, Direction::Descending));
    let selected = RwSignal::new(Vec::<String>::new());
    let confirm_open = RwSignal::new(false);
    let deleting = RwSignal::new(false);

    let page_name = name.clone();
    let page = LocalResource::new(move || {
        let current = connection.get();
        let token = paging.token.get();
        let max = paging.size.get();
        let status = tag_status.get();
        let repository_name = page_name.clone();
        async move {
            let Some(c) = current else {
                return Ok(DescribeImagesResponse::default());
            };
            let request = DescribeImagesRequest {
                repository_name,
                next_token: token,
                max_results: Some(max),
                filter: Some(ImageFilter {
                    tag_status: Some(status),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let response =
                api::call::<_, DescribeImagesResponse>(&c, EcrAction::DescribeImages, &request)
                    .await;
            mark("berth:images-data");
            response
        }
    });
    paging.follow(page, |r: &DescribeImagesResponse| r.next_token.clone());

    let delete_ids = {
        let name = name.clone();
        move |ids: Vec<ImageIdentifier>, done: String| {
            let Some(c) = connection.get_untracked() else {
                return;
            };
            let request = BatchImagesRequest {
                repository_name: name.clone(),
                image_ids: ids,
                ..Default::default()
            };
            deleting.set(true);
            leptos::task::spawn_local(async move {
                let result = api::call::<_, BatchDeleteImageResponse>(
                    &c,
                    EcrAction::BatchDeleteImage,
                    &request,
                )
                .await;
                deleting.set(false);
                match result {
                    Ok(r) if r.failures.is_empty() => notify(true, done),
                    Ok(r) => notify(
                        false,
                        r.failures
                            .iter()
                            .map(|f| f.failure_reason.clone())
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                    Err(e) => notify(false, e.to_string()),
                }
                confirm_open.set(false);
                selected.set(Vec::new());
                page.refetch();
            });
        }
    };
    let delete_selected = {
        let delete_ids = delete_ids.clone();
        Callback::new(move |_| {
            let digests = selected.get_untracked();
            let ids = digests
                .iter()
                .map(|d| ImageIdentifier {
                    image_digest: Some(d.clone()),
                    image_tag: None,
                })
                .collect();
            delete_ids(
                ids,
                format!(
                    "Deleted {} image{}",
                    digests.len(),
                    if digests.len() == 1 { "" } else { "s" }
                ),
            );
        })
    };

    let header = move |label: &'static str, column: ImageColumn| {
        sort_header(label, column, sort, Direction::Descending)
    };

    let rows_name = name.clone();
    let rows = move |list: Vec<ImageDetail>| {
        let (column, direction) = sort.get();
        let delete_ids = delete_ids.clone();
        images_view(&list, &filter.get(), column, direction)
            .into_iter()
            .map(|image| {
                let digest = image.image_digest.clone();
                let (check_digest, toggle_digest, copy_digest) = (digest.clone(), digest.clone(), digest.clone());
                let is_index = oci::is_index_media_type(&image.image_manifest_media_type);
                let expanded = RwSignal::new(false);
                let tags = image.image_tags.clone();
                let chips = if tags.is_empty() {
                    view! { <span class="chip muted">"untagged"</span> }.into_any()
                } else {
                    // As on ECR, removing an image's last tag deletes the image.
                    let last = tags.len() == 1;
                    tags.into_iter().map(|tag| {
                        let delete_ids = delete_ids.clone();
                        let remove_tag = tag.clone();
                        let (title, done) = if last {
                            (format!("Remove tag {tag}: it is the image's last tag, so the image is deleted too"),
                             format!("Removed tag {tag} and deleted its image (it was the image's last tag)"))
                        } else {
                            (format!("Remove tag {tag}"), format!("Removed tag {tag}"))
                        };
                        view! {
                            <span class="chip" data-testid="tag-chip">{tag.clone()}
                                <button type="button" class="chip-remove" aria-label=format!("Remove tag {tag}") title=title
                                    on:click=move |_| delete_ids(
                                        vec![ImageIdentifier { image_digest: None, image_tag: Some(remove_tag.clone()) }],
                                        done.clone(),
                                    )>"×"</button>
                            </span>
                        }
                    }).collect_view().into_any()
                };
                let href = image_href(&rows_name, &digest);
                let platform_repo = rows_name.clone();
                view! {
                    <tr data-testid="image-row">
                        <td><input type="checkbox" aria-label=format!("Select image {}", format::short_digest(&digest))
                            prop:checked=move || selected.with(|s| s.contains(&check_digest))
                            on:change=move |_| selected.update(|s| {
                                if let Some(i) = s.iter().position(|d| d == &toggle_digest) { s.remove(i); } else { s.push(toggle_digest.clone()); }
                            })/></td>
                        <td class="chips">{chips}</td>
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
                        <td class="digest"><a href=href title=digest.clone() data-testid="image-digest">{format::short_digest(&digest)}</a>
                            <CopyButton text=Signal::derive(move || copy_digest.clone()) label="digest"/></td>
                        <td>{image.last_recorded_pull_time.map(format::local_time).unwrap_or_else(|| "–".into())}</td>
                    </tr>
                    {move || (is_index && expanded.get()).then(|| view! { <PlatformRows repository=platform_repo.clone() index_digest=digest.clone()/> })}
                }
            })
            .collect_view()
    };

    view! {
        <div class="toolbar">
            <label class="inline">"Filter by tag"<input type="search" data-testid="tag-filter" bind:value=filter/></label>
            <label class="inline">"Tag status"
                <select on:change=move |ev| { tag_status.set(event_target_value(&ev)); paging.reset(); }>
                    <option value="ANY">"Any"</option>
                    <option value="TAGGED">"Tagged"</option>
                    <option value="UNTAGGED">"Untagged"</option>
                </select>
            </label>
            <PageSizeSelect paging=paging/>
            <button type="button" class="secondary" on:click=move |_| page.refetch()>"Refresh images"</button>
            <button type="button" class="secondary" disabled=move || selected.with(Vec::is_empty)
                on:click=move |_| confirm_open.set(true)>"Delete images"</button>
        </div>
        <Transition fallback=|| view! { <Loading text="Loading images…"/> }>
            {move || Suspend::new({ let rows = rows.clone(); async move {
                match page.await {
                    Ok(response) if response.image_details.is_empty() => view! {
                        <div class="state empty" data-testid="no-images">
                            <h2>"No images yet"</h2>
                            <p>"Push one with the commands under \"View push commands\"."</p>
                        </div>
                    }.into_any(),
                    Ok(response) => view! {
                        <div class="table-wrap">
                        <table class="list" data-testid="image-table">
                            <thead><tr>
                                <th><span class="visually-hidden">"Selected"</span></th>
                                {header("Image tags", ImageColumn::Tags)}
                                <th>"Artifact type"</th>
                                {header("Pushed at", ImageColumn::PushedAt)}
                                {header("Size", ImageColumn::Size)}
                                <th>"Digest"</th>
                                {header("Last pulled", ImageColumn::LastPulled)}
                            </tr></thead>
                            <tbody>{move || rows(response.image_details.clone())}</tbody>
                        </table>
                        </div>
                        {mark_after_render("berth:images-rendered")}
                    }.into_any(),
                    Err(error) => view! {
                        <LoadError title="The images could not be loaded" message=error.to_string()
                            on_retry=Callback::new(move |_| page.refetch())/>
                    }.into_any(),
                }
            }})}
        </Transition>
        <PagerNav paging=paging label="Image pages"/>
        <Show when=move || confirm_open.get()>
            <ConfirmDelete title="Delete images" confirm_word="delete" busy=deleting
                what=format!("This deletes {} image(s) and all their tags. It cannot be undone.", selected.get_untracked().len())
                on_confirm=delete_selected on_close=Callback::new(move |_| confirm_open.set(false))/>
        </Show>
    }
}

fn artifact_label(media_type: &str) -> String {
    match media_type {
        oci::DOCKER_CONFIG | oci::OCI_CONFIG => "Image".into(),
        other => other.to_string(),
    }
}

fn platform_label(platform: &Option<Platform>) -> String {
    match platform {
        Some(p) => match &p.variant {
            Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
            None => format!("{}/{}", p.os, p.architecture),
        },
        None => "unknown platform".into(),
    }
}

/// One row per platform of a multi-platform index.
#[component]
fn PlatformRows(repository: String, index_digest: String) -> impl IntoView {
    let connection = expect_context::<ConnectionSignal>();
    let repo = repository.clone();
    let platforms = LocalResource::new(move || {
        let (current, repository, digest) = (connection.get(), repo.clone(), index_digest.clone());
        async move {
            let c = current?;
            let request = BatchImagesRequest {
                repository_name: repository.clone(),
                image_ids: vec![ImageIdentifier {
                    image_digest: Some(digest),
                    image_tag: None,
                }],
                ..Default::default()
            };
            let response: BatchGetImageResponse = api::call(&c, EcrAction::BatchGetImage, &request)
                .await
                .ok()?;
            let manifest = response.images.into_iter().next()?.image_manifest;
            let parsed = oci::ParsedManifest::parse(manifest.as_bytes(), None).ok()?;
            let children: Vec<_> = parsed.manifest_references().cloned().collect();
            let ids = children
                .iter()
                .map(|d| ImageIdentifier {
                    image_digest: Some(d.digest.to_string()),
                    image_tag: None,
                })
                .collect();
            let details: DescribeImagesResponse = api::call(
                &c,
                EcrAction::DescribeImages,
                &DescribeImagesRequest {
                    repository_name: repository,
                    image_ids: Some(ids),
                    ..Default::default()
                },
            )
            .await
            .ok()?;
            Some(
                children
                    .into_iter()
                    .map(|d| {
                        let size = details
                            .image_details
                            .iter()
                            .find(|i| i.image_digest == d.digest.as_str())
                            .map(|i| i.image_size_in_bytes);
                        (platform_label(&d.platform), d.digest.to_string(), size)
                    })
                    .collect::<Vec<_>>(),
            )
        }
    });
    view! {
        <Suspense fallback=|| view! { <tr><td colspan="7">"Loading platforms…"</td></tr> }>
            {move || Suspend::new({ let repository = repository.clone(); async move {
                platforms.await.unwrap_or_default().into_iter().map(|(label, digest, size)| view! {
                    <tr class="platform" data-testid="platform-row">
                        <td></td>
                        <td colspan="2">"↳ "{label}</td>
                        <td></td>
                        <td>{size.map(format::size).unwrap_or_default()}</td>
                        <td class="digest"><a href=image_href(&repository, &digest) title=digest.clone()>{format::short_digest(&digest)}</a></td>
                        <td></td>
                    </tr>
                }).collect_view()
            }})}
        </Suspense>
    }
}
