//! The Settings tab: tag immutability, scan on push, and resource tags.

use berth_model::ecr::{
    Action as EcrAction, ImageScanningConfiguration, ListTagsForResourceRequest,
    ListTagsForResourceResponse, PutImageScanningConfigurationRequest,
    PutImageScanningConfigurationResponse, PutImageTagMutabilityRequest,
    PutImageTagMutabilityResponse, Repository, Tag, TagResourceRequest, UntagResourceRequest,
    TAG_IMMUTABLE, TAG_IMMUTABLE_WITH_EXCLUSION, TAG_MUTABLE, TAG_MUTABLE_WITH_EXCLUSION,
};
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::components::notify;
use crate::session::{use_connection, RegistryKind};
use crate::table::is_immutable;

#[component]
pub fn SettingsTab(repository: Repository, on_saved: Callback<()>) -> impl IntoView {
    let connection = use_connection();
    let on_berth = connection.kind == RegistryKind::Berth;
    let immutable = RwSignal::new(is_immutable(&repository.image_tag_mutability));
    // Exclusion filters are kept as they are: this tab changes only the default.
    let exclusions = repository.image_tag_mutability_exclusion_filters.clone();
    let exclusion_list = exclusions
        .iter()
        .map(|f| f.filter.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let scan = RwSignal::new(repository.image_scanning_configuration.scan_on_push);
    let name = repository.repository_name.clone();
    let arn = repository.repository_arn.clone();
    let error = RwSignal::new(None::<String>);

    let (save_connection, save_name) = (connection.clone(), name.clone());
    let save = Action::new_local(move |(immutable, scan_on_push): &(bool, bool)| {
        let mutability = PutImageTagMutabilityRequest {
            repository_name: save_name.clone(),
            image_tag_mutability: match (*immutable, exclusions.is_empty()) {
                (true, true) => TAG_IMMUTABLE,
                (true, false) => TAG_IMMUTABLE_WITH_EXCLUSION,
                (false, true) => TAG_MUTABLE,
                (false, false) => TAG_MUTABLE_WITH_EXCLUSION,
            }
            .into(),
            image_tag_mutability_exclusion_filters: (!exclusions.is_empty())
                .then(|| exclusions.clone()),
            ..Default::default()
        };
        let scanning = PutImageScanningConfigurationRequest {
            repository_name: save_name.clone(),
            image_scanning_configuration: ImageScanningConfiguration {
                scan_on_push: *scan_on_push,
            },
            ..Default::default()
        };
        let c = save_connection.clone();
        async move {
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
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            notify(true, "Settings saved");
            on_saved.run(());
        }
        Some(Err(e)) => error.set(Some(e.to_string())),
        None => {}
    });

    let (tags_connection, tags_arn) = (connection.clone(), arn.clone());
    let tags = LocalResource::new(move || {
        let (c, resource_arn) = (tags_connection.clone(), tags_arn.clone());
        async move {
            api::call::<_, ListTagsForResourceResponse>(
                &c,
                EcrAction::ListTagsForResource,
                &ListTagsForResourceRequest { resource_arn },
            )
            .await
            .map(|r| r.tags)
        }
    });
    let new_key = RwSignal::new(String::new());
    let new_value = RwSignal::new(String::new());

    /// Adds (`Some(value)`) or removes (`None`) one resource tag.
    #[derive(Clone)]
    struct TagChange {
        key: String,
        value: Option<String>,
    }
    let (change_connection, change_arn) = (connection.clone(), arn.clone());
    let change_tag = Action::new_local(move |change: &TagChange| {
        let (c, resource_arn, change) = (
            change_connection.clone(),
            change_arn.clone(),
            change.clone(),
        );
        let added = change.value.is_some();
        async move {
            match change.value {
                Some(value) => {
                    let request = TagResourceRequest {
                        resource_arn,
                        tags: vec![Tag {
                            key: change.key,
                            value,
                        }],
                    };
                    api::call::<_, serde_json::Value>(&c, EcrAction::TagResource, &request).await
                }
                None => {
                    let request = UntagResourceRequest {
                        resource_arn,
                        tag_keys: vec![change.key],
                    };
                    api::call::<_, serde_json::Value>(&c, EcrAction::UntagResource, &request).await
                }
            }
            .map(|_| added)
        }
    });
    Effect::new(move |_| match change_tag.value().get() {
        Some(Ok(added)) => {
            if added {
                new_key.set(String::new());
                new_value.set(String::new());
            }
            tags.refetch();
        }
        Some(Err(e)) => error.set(Some(e.to_string())),
        None => {}
    });
    let add_tag = move |_| {
        let key = new_key.get_untracked().trim().to_string();
        if key.is_empty() {
            error.set(Some("Enter a tag key.".into()));
            return;
        }
        error.set(None);
        change_tag.dispatch(TagChange {
            key,
            value: Some(new_value.get_untracked()),
        });
    };

    view! {
        <section class="card">
            <h2>"Image settings"</h2>
            <label class="inline"><input type="checkbox" data-testid="setting-immutable" bind:checked=immutable/>"Tag immutability: pushed tags cannot be moved"</label>
            {(!exclusion_list.is_empty()).then(|| view! {
                <p class="hint">{format!("Except tags matching: {exclusion_list}")}</p>
            })}
            <label class="inline"><input type="checkbox" data-testid="setting-scan" bind:checked=scan/>"Scan on push"
                {on_berth.then_some(" (recorded; Berth has no scanner yet)")}</label>
            <div class="actions"><button type="button" class="primary" disabled=move || save.pending().get()
                on:click=move |_| { error.set(None); save.dispatch((immutable.get_untracked(), scan.get_untracked())); }>
                {move || if save.pending().get() { "Saving…" } else { "Save settings" }}</button></div>
        </section>
        <section class="card">
            <h2>"Tags"</h2>
            <Suspense fallback=|| view! { <p>"Loading tags…"</p> }>
                {move || Suspend::new(async move {
                    match tags.await {
                        Err(e) => view! { <p class="error" role="alert">{ApiError::to_string(&e)}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="hint">"No tags. Tags help you find and account for repositories."</p> }.into_any(),
                        Ok(list) => view! { <ul class="kv" data-testid="resource-tags">{list.into_iter().map(|t| {
                            let key = t.key.clone();
                            view! { <li><code>{t.key.clone()}</code>" = "<code>{t.value}</code>
                                <button type="button" class="secondary" aria-label=format!("Remove tag {}", t.key)
                                    disabled=move || change_tag.pending().get()
                                    on:click=move |_| { change_tag.dispatch(TagChange { key: key.clone(), value: None }); }>"Remove"</button></li> }
                        }).collect_view()}</ul> }.into_any(),
                    }
                })}
            </Suspense>
            <div class="tag-row">
                <label>"Key"<input bind:value=new_key/></label>
                <label>"Value"<input bind:value=new_value/></label>
                <button type="button" class="secondary" disabled=move || change_tag.pending().get() on:click=add_tag>"Add tag"</button>
            </div>
        </section>
        {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="settings-error">{e}</p> })}
    }
}
