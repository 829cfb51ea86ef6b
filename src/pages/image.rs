//! Image detail: digest, tags, pull references, layers, config and the raw manifest.

use berth_model::ecr::{
    Action as EcrAction, BatchGetImageResponse, BatchImagesRequest, DescribeImagesRequest,
    DescribeImagesResponse, ImageDetail, ImageIdentifier,
};
use berth_model::oci::{self, ParsedManifest};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde_json::Value;

use crate::api::{self, ApiError};
use crate::components::push_commands::EngineChoice;
use crate::components::{CopyButton, LoadError, Loading};
use crate::format;
use crate::pages::images::image_href;
use crate::pages::repositories::repository_href;
use crate::pages::repository::route_name;
use crate::session::use_connection;
use crate::table::Membership;

#[derive(Clone)]
struct ImageData {
    detail: ImageDetail,
    manifest_text: String,
    manifest: ParsedManifest,
    config: Option<Value>,
    uri: String,
    target: berth_model::push::RegistryTarget,
}

async fn load(
    connection: &crate::session::Connection,
    repository: &str,
    digest: &str,
) -> Result<ImageData, ApiError> {
    let id = ImageIdentifier {
        image_digest: Some(digest.to_string()),
        image_tag: None,
    };
    let described: DescribeImagesResponse = api::call(
        connection,
        EcrAction::DescribeImages,
        &DescribeImagesRequest {
            repository_name: repository.to_string(),
            image_ids: Some(vec![id.clone()]),
            ..Default::default()
        },
    )
    .await?;
    let detail = described
        .image_details
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Decode("no image in the answer".into()))?;
    let got: BatchGetImageResponse = api::call(
        connection,
        EcrAction::BatchGetImage,
        &BatchImagesRequest {
            repository_name: repository.to_string(),
            image_ids: vec![id],
            ..Default::default()
        },
    )
    .await?;
    let manifest_text = got
        .images
        .into_iter()
        .next()
        .map(|i| i.image_manifest)
        .ok_or_else(|| {
            ApiError::Decode(
                got.failures
                    .first()
                    .map(|f| f.failure_reason.clone())
                    .unwrap_or_default(),
            )
        })?;
    let manifest = ParsedManifest::parse(
        manifest_text.as_bytes(),
        Some(&detail.image_manifest_media_type),
    )
    .map_err(|e| ApiError::Decode(e.to_string()))?;
    // The config is small JSON; read it through the same download URL a client would use.
    let config = match &manifest.manifest.config {
        Some(c) if c.media_type == oci::DOCKER_CONFIG || c.media_type == oci::OCI_CONFIG => {
            api::download_blob(connection, repository, c.digest.as_str())
                .await
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        }
        _ => None,
    };
    // The repository's own URI names the host images are pulled from.
    let described = api::repository(connection, repository).await.ok();
    let uri = described
        .as_ref()
        .map(|r| r.repository_uri.clone())
        .unwrap_or_else(|| {
            let host = connection
                .endpoint
                .split("://")
                .nth(1)
                .unwrap_or(&connection.endpoint)
                .trim_end_matches('/');
            format!("{host}/{repository}")
        });
    let target = match &described {
        Some(r) => api::registry_target(connection, r),
        None => berth_model::push::RegistryTarget::Endpoint {
            endpoint_url: connection.endpoint.clone(),
            region: connection.region.clone(),
            registry_host: uri.split('/').next().unwrap_or_default().to_string(),
        },
    };
    Ok(ImageData {
        uri,
        target,
        detail,
        manifest_text,
        manifest,
        config,
    })
}

fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

fn config_rows(config: &Value) -> Vec<(&'static str, String)> {
    let inner = config.get("config").cloned().unwrap_or(Value::Null);
    let text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| i.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Value::Object(map) if map.is_empty() => None,
            Value::Object(map) => Some(
                map.iter()
                    .map(|(k, v)| match v.as_str() {
                        Some(s) => format!("{k}={s}"),
                        None => k.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            other => Some(other.to_string()),
        }
    };
    let platform = [
        config.get("os"),
        config.get("architecture"),
        config.get("variant"),
    ]
    .into_iter()
    .filter_map(|v| v.and_then(Value::as_str))
    .collect::<Vec<_>>()
    .join("/");
    let mut rows = vec![("Platform", platform)];
    for (label, value) in [
        ("Created", text(config.get("created"))),
        ("Entrypoint", text(inner.get("Entrypoint"))),
        ("Command", text(inner.get("Cmd"))),
        ("Environment", text(inner.get("Env"))),
        ("Labels", text(inner.get("Labels"))),
        ("Exposed ports", text(inner.get("ExposedPorts"))),
        ("Working directory", text(inner.get("WorkingDir"))),
    ] {
        rows.push((label, value.unwrap_or_else(|| "–".into())));
    }
    rows
}

#[component]
pub fn ImagePage() -> impl IntoView {
    let connection = use_connection();
    let name = route_name();
    let query = use_query_map();
    let digest = Memo::new(move |_| query.with(|q| q.get("digest").unwrap_or_default()));
    let load_connection = connection.clone();
    let data = LocalResource::new(move || {
        let (c, repository, digest) = (load_connection.clone(), name.get(), digest.get());
        async move { load(&c, &repository, &digest).await }
    });
    // Which multi-platform indexes hold this image: known once every index is read.
    let memberships = LocalResource::new(move || {
        let (c, repository, digest) = (connection.clone(), name.get(), digest.get());
        async move {
            api::all_images(&c, &repository)
                .await
                .map(|images| images.memberships(&digest).to_vec())
                .unwrap_or_default()
        }
    });
    view! {
        <nav class="breadcrumb" aria-label="Breadcrumb">
            <a href="/repositories">"Repositories"</a>" / "
            <a href=move || repository_href(&name.get())>{move || name.get()}</a>" / "
            <span>{move || format::short_digest(&digest.get())}</span>
        </nav>
        <Transition fallback=|| view! { <Loading text="Loading the image…"/> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(image) => view! { <ImageDetailView image=image repository=name.get_untracked()
                        memberships=Signal::derive(move || memberships.get().unwrap_or_default())/> }.into_any(),
                    Err(error) => view! {
                        <LoadError title="The image could not be loaded" message=error.to_string()
                            on_retry=Callback::new(move |_| data.refetch())/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ImageDetailView(
    image: ImageData,
    repository: String,
    memberships: Signal<Vec<Membership>>,
) -> impl IntoView {
    let ImageData {
        detail,
        manifest_text,
        manifest,
        config,
        uri,
        target,
    } = image;
    let engine = EngineChoice::get();
    let digest = detail.image_digest.clone();
    let by_digest = format!("{uri}@{digest}");
    let first_tag = detail.image_tags.first().cloned();
    let by_tag = first_tag.as_ref().map(|t| format!("{uri}:{t}"));
    let pull_reference = by_tag.clone().unwrap_or_else(|| by_digest.clone());
    let pull = Signal::derive(move || {
        berth_model::push::pull_command(&target, engine.get(), &pull_reference)
    });
    let raw = pretty(&manifest_text);
    let raw_copy = raw.clone();
    let layers = manifest.manifest.layers.clone().unwrap_or_default();
    let children = manifest.manifest.manifests.clone().unwrap_or_default();
    let line = |label: &'static str, value: String| {
        let copy = value.clone();
        view! { <div><dt>{label}</dt><dd><code>{value}</code><CopyButton text=Signal::derive(move || copy.clone()) label=label/></dd></div> }
    };
    view! {
        <h1 data-testid="image-title">{first_tag.clone().unwrap_or_else(|| format::short_digest(&digest))}</h1>
        <section class="card">
            <h2>"Details"</h2>
            <dl class="summary">
                {line("Digest", digest.clone())}
                <div><dt>"Tags"</dt><dd>{if detail.image_tags.is_empty() { "untagged".to_string() } else { detail.image_tags.join(", ") }}</dd></div>
                {by_tag.map(|t| line("URI with tag", t))}
                {line("URI with digest", by_digest.clone())}
                <div><dt>"Pull command"</dt><dd><code data-testid="pull-command">{pull}</code>
                    <CopyButton text=pull label="Pull command"/>
                    <select class="inline-select" aria-label="Client for the pull command" data-testid="pull-client"
                        on:change=move |ev| if let Some(e) = berth_model::push::Engine::from_command(&event_target_value(&ev)) { EngineChoice::set(engine, e) }>
                        {berth_model::push::Engine::ALL.into_iter().map(|e| view! {
                            <option value=e.command() selected=move || engine.get() == e>{e.label()}</option>
                        }).collect_view()}
                    </select></dd></div>
                {move || {
                    let parts = memberships.get();
                    (!parts.is_empty()).then(|| view! {
                        <div><dt>"Multi-platform"</dt><dd data-testid="part-of">{parts.iter().map(Membership::label).collect::<Vec<_>>().join("; ")}</dd></div>
                    })
                }}
                <div><dt>"Manifest media type"</dt><dd>{detail.image_manifest_media_type.clone()}</dd></div>
                <div><dt>"Artifact media type"</dt><dd>{detail.artifact_media_type.clone().unwrap_or_else(|| "–".into())}</dd></div>
                <div><dt>"Size (compressed)"</dt><dd>{format!("{} ({} bytes)", format::size(detail.image_size_in_bytes), detail.image_size_in_bytes)}</dd></div>
                <div><dt>"Pushed at"</dt><dd title=format::exact_time(detail.image_pushed_at)>{format::local_time(detail.image_pushed_at)}</dd></div>
                <div><dt>"Last pulled"</dt><dd>{detail.last_recorded_pull_time.map(format::local_time).unwrap_or_else(|| "never".into())}</dd></div>
            </dl>
        </section>
        {(!layers.is_empty()).then(|| view! {
            <section class="card">
                <h2>{format!("Layers ({})", layers.len())}</h2>
                <div class="table-wrap"><table class="list" data-testid="layer-table">
                    <thead><tr><th>"#"</th><th>"Digest"</th><th>"Size"</th><th>"Media type"</th></tr></thead>
                    <tbody>{layers.iter().enumerate().map(|(i, l)| view! {
                        <tr data-testid="layer-row"><td>{i + 1}</td><td class="digest"><code title=l.digest.to_string()>{l.digest.to_string()}</code></td>
                            <td>{format::size(l.size)}</td><td>{l.media_type.clone()}</td></tr>
                    }).collect_view()}</tbody>
                </table></div>
            </section>
        })}
        {(!children.is_empty()).then(|| view! {
            <section class="card">
                <h2>"Platforms"</h2>
                <ul>{children.iter().map(|c| {
                    let label = crate::table::platform_label(c.platform.as_ref());
                    view! { <li><a href=image_href(&repository, c.digest.as_str())>{label}" — "{format::short_digest(c.digest.as_str())}</a></li> }
                }).collect_view()}</ul>
            </section>
        })}
        {config.map(|config| view! {
            <section class="card">
                <h2>"Configuration"</h2>
                <dl class="summary" data-testid="image-config">
                    {config_rows(&config).into_iter().map(|(k, v)| view! { <div><dt>{k}</dt><dd>{v}</dd></div> }).collect_view()}
                </dl>
            </section>
        })}
        <section class="card">
            <div class="page-head"><h2>"Manifest"</h2><CopyButton text=Signal::derive(move || raw_copy.clone()) label="manifest JSON"/></div>
            <pre class="json" data-testid="raw-manifest">{raw}</pre>
        </section>
    }
}
