//! The Settings tab: tag immutability, scan on push, and resource tags.

use berth_model::ecr::{
    Action as EcrAction, ImageScanningConfiguration, ListTagsForResourceRequest,
    ListTagsForResourceResponse, PutImageScanningConfigurationRequest,
    PutImageScanningConfigurationResponse, PutImageTagMutabilityRequest,
    PutImageTagMutabilityResponse, Repository, Tag, TagResourceRequest, UntagResourceRequest,
};
use leptos::prelude::*;

use crate::api;
use crate::components::notify;
use crate::ConnectionSignal;

#[component]
pub fn SettingsTab(repository: Repository, on_saved: Callback<()>) -> impl IntoView {
    let connection = expect_context::<ConnectionSignal>();
    let immutable = RwSignal::new(repository.image_tag_mutability == "IMMUTABLE");
    let scan = RwSignal::new(repository.image_scanning_configuration.scan_on_push);
    let name = repository.repository_name.clone();
    let arn = repository.repository_arn.clone();
    let saving = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    let save = {
        let name = name.clone();
        move |_| {
            let Some(c) = connection.get_untracked() else {
                return;
            };
            let name = name.clone();
            saving.set(true);
            error.set(None);
            leptos::task::spawn_local(async move {
                let mutability = PutImageTagMutabilityRequest {
                    repository_name: name.clone(),
                    image_tag_mutability: if immutable.get_untracked() {
                        "IMMUTABLE"
                    } else {
                        "MUTABLE"
                    }
                    .into(),
                    ..Default::default()
                };
                let scanning = PutImageScanningConfigurationRequest {
                    repository_name: name,
                    image_scanning_configuration: ImageScanningConfiguration {
                        scan_on_push: scan.get_untracked(),
                    },
                    ..Default::default()
                };
                let result = async {
                    api::call::<_, PutImageTagMutabilityResponse>(
                        &c,
                        EcrAction::PutImageTagMutability,
                        &mutability,
                    )
                    .await?;
                    api::call::<_, PutImageScanningConfigurationResponse>(
                        &c,
                        EcrAction::PutImageScanningConfiguration,
                        &scanning,
                    )
                    .await
                }
                .await;
                saving.set(false);
                match result {
                    Ok(_) => {
                        notify(true, "Settings saved");
                        on_saved.run(());
                    }
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        }
    };

    let tags_arn = arn.clone();
    let tags = LocalResource::new(move || {
        let (current, resource_arn) = (connection.get(), tags_arn.clone());
        async move {
            let c = current?;
            let r: ListTagsForResourceResponse = api::call(
                &c,
                EcrAction::ListTagsForResource,
                &ListTagsForResourceRequest { resource_arn },
            )
            .await
            .ok()?;
            Some(r.tags)
        }
    });
    let new_key = RwSignal::new(String::new());
    let new_value = RwSignal::new(String::new());
    let add_arn = arn.clone();
    let add_tag = move |_| {
        let (Some(c), key) = (
            connection.get_untracked(),
            new_key.get_untracked().trim().to_string(),
        ) else {
            return;
        };
        if key.is_empty() {
            error.set(Some("Enter a tag key.".into()));
            return;
        }
        let request = TagResourceRequest {
            resource_arn: add_arn.clone(),
            tags: vec![Tag {
                key,
                value: new_value.get_untracked(),
            }],
        };
        leptos::task::spawn_local(async move {
            match api::call::<_, serde_json::Value>(&c, EcrAction::TagResource, &request).await {
                Ok(_) => {
                    new_key.set(String::new());
                    new_value.set(String::new());
                    tags.refetch();
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let remove_arn = arn.clone();
    let remove_tag = move |key: String| {
        let Some(c) = connection.get_untracked() else {
            return;
        };
        let request = UntagResourceRequest {
            resource_arn: remove_arn.clone(),
            tag_keys: vec![key],
        };
        leptos::task::spawn_local(async move {
            match api::call::<_, serde_json::Value>(&c, EcrAction::UntagResource, &request).await {
                Ok(_) => tags.refetch(),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };

    view! {
        <section class="card">
            <h2>"Image settings"</h2>
            <label class="inline"><input type="checkbox" bind:checked=immutable/>"Tag immutability: pushed tags cannot be moved"</label>
            <label class="inline"><input type="checkbox" bind:checked=scan/>"Scan on push (recorded; Berth has no scanner yet)"</label>
            <div class="actions"><button type="button" class="primary" disabled=move || saving.get() on:click=save>"Save settings"</button></div>
        </section>
        <section class="card">
            <h2>"Tags"</h2>
            <Suspense fallback=|| view! { <p>"Loading tags…"</p> }>
                {move || Suspend::new({ let remove_tag = remove_tag.clone(); async move {
                    let list = tags.await.unwrap_or_default();
                    if list.is_empty() {
                        view! { <p class="hint">"No tags. Tags help you find and account for repositories."</p> }.into_any()
                    } else {
                        view! { <ul class="kv">{list.into_iter().map(|t| {
                            let remove_tag = remove_tag.clone();
                            let key = t.key.clone();
                            view! { <li><code>{t.key.clone()}</code>" = "<code>{t.value}</code>
                                <button type="button" class="secondary" aria-label=format!("Remove tag {}", t.key)
                                    on:click=move |_| remove_tag(key.clone())>"Remove"</button></li> }
                        }).collect_view()}</ul> }.into_any()
                    }
                }})}
            </Suspense>
            <div class="tag-row">
                <label>"Key"<input bind:value=new_key/></label>
                <label>"Value"<input bind:value=new_value/></label>
                <button type="button" class="secondary" on:click=add_tag>"Add tag"</button>
            </div>
        </section>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
}
