//! Create repository: live name validation from `model`, the same rule the registry applies.

use berth_model::ecr::{
    Action as EcrAction, CreateRepositoryRequest, CreateRepositoryResponse,
    EncryptionConfiguration, ImageScanningConfiguration, Tag, ENCRYPTION_KMS, TAG_IMMUTABLE,
    TAG_MUTABLE,
};
use berth_model::names::validate_repository_name;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api;
use crate::components::notify;
use crate::pages::repositories::repository_href;
use crate::session::{use_connection, RegistryKind};
use crate::validate::check_kms_key;

#[component]
pub fn CreateRepository() -> impl IntoView {
    let connection = use_connection();
    let on_berth = connection.kind == RegistryKind::Berth;
    let navigate = use_navigate();
    let name = RwSignal::new(String::new());
    let touched = RwSignal::new(false);
    let immutable = RwSignal::new(false);
    let scan_on_push = RwSignal::new(false);
    let kms = RwSignal::new(false);
    let kms_key = RwSignal::new(String::new());
    let tags = RwSignal::new(Vec::<(u32, RwSignal<String>, RwSignal<String>)>::new());
    let next_tag_id = RwSignal::new(0u32);
    let server_error = RwSignal::new(None::<String>);

    let name_problem = move || {
        validate_repository_name(name.get().trim())
            .err()
            .map(|e| e.to_string())
    };
    // The host part of the URI, known from any repository or from the endpoint.
    let host = match connection.kind {
        RegistryKind::Aws => format!("<account>.dkr.ecr.{}.amazonaws.com", connection.region),
        _ => connection
            .endpoint
            .split("://")
            .nth(1)
            .unwrap_or(&connection.endpoint)
            .trim_end_matches('/')
            .to_string(),
    };
    let kms_problem = move || {
        (kms.get())
            .then(|| check_kms_key(&kms_key.get()).err())
            .flatten()
    };

    let create = Action::new_local(move |request: &CreateRepositoryRequest| {
        let (request, c) = (request.clone(), connection.clone());
        async move {
            api::call::<_, CreateRepositoryResponse>(&c, EcrAction::CreateRepository, &request)
                .await
                .map_err(|e| match e.error_type() {
                    Some("RepositoryAlreadyExistsException") => format!(
                        "A repository named {} already exists. Choose another name, or open the existing one from the list.",
                        request.repository_name
                    ),
                    _ => e.to_string(),
                })
        }
    });
    Effect::new(move |_| match create.value().get() {
        Some(Ok(created)) => {
            let repository = created.repository.repository_name;
            notify(true, format!("Created repository {repository}"));
            navigate(
                &format!("{}?created=1", repository_href(&repository)),
                Default::default(),
            );
        }
        Some(Err(message)) => server_error.set(Some(message)),
        None => {}
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        server_error.set(None);
        if name_problem().is_some() {
            return;
        }
        if let Some(problem) = kms_problem() {
            server_error.set(Some(problem));
            return;
        }
        let tag_list: Vec<Tag> = tags
            .get()
            .iter()
            .filter(|(_, k, _)| !k.get().trim().is_empty())
            .map(|(_, k, v)| Tag {
                key: k.get().trim().to_string(),
                value: v.get(),
            })
            .collect();
        create.dispatch(CreateRepositoryRequest {
            repository_name: name.get().trim().to_string(),
            tags: tag_list,
            image_tag_mutability: Some(
                if immutable.get() {
                    TAG_IMMUTABLE
                } else {
                    TAG_MUTABLE
                }
                .into(),
            ),
            image_scanning_configuration: Some(ImageScanningConfiguration {
                scan_on_push: scan_on_push.get(),
            }),
            encryption_configuration: Some(if kms.get() {
                EncryptionConfiguration {
                    encryption_type: ENCRYPTION_KMS.into(),
                    kms_key: Some(kms_key.get().trim().to_string()),
                }
            } else {
                EncryptionConfiguration::default()
            }),
            ..Default::default()
        });
    };

    view! {
        <nav class="breadcrumb" aria-label="Breadcrumb"><a href="/repositories">"Repositories"</a>" / Create repository"</nav>
        <section class="card form-card">
            <h1>"Create repository"</h1>
            <form on:submit=submit novalidate>
                <label>"Repository name"
                    <input data-testid="repository-name-input" bind:value=name on:blur=move |_| touched.set(true)
                        aria-describedby="name-help" aria-invalid=move || (touched.get() && name_problem().is_some()).to_string()
                        autocomplete="off" spellcheck="false" placeholder="team/app"/>
                </label>
                <p id="name-help" class="hint">
                    "2–256 characters: lowercase letters, digits, and . _ - / between them. URI: "
                    <code data-testid="uri-preview">{move || format!("{host}/{}", name.get().trim())}</code>
                </p>
                {move || (touched.get() || !name.get().is_empty()).then(name_problem).flatten().map(|p| view! {
                    <p class="error" role="alert" data-testid="name-error">{p}</p>
                })}
                <fieldset>
                    <legend>"Tag immutability"</legend>
                    <label class="inline"><input type="checkbox" bind:checked=immutable/>"Immutable: a pushed tag can never be moved to another image"</label>
                </fieldset>
                <fieldset>
                    <legend>"Image scanning"</legend>
                    <label class="inline"><input type="checkbox" bind:checked=scan_on_push/>"Scan on push"
                        {on_berth.then_some(" (recorded; Berth has no scanner yet)")}</label>
                </fieldset>
                <fieldset>
                    <legend>"Encryption"</legend>
                    <label class="inline"><input type="radio" name="encryption" checked=move || !kms.get() on:change=move |_| kms.set(false)/>"AES-256"</label>
                    <label class="inline"><input type="radio" name="encryption" checked=move || kms.get() on:change=move |_| kms.set(true)/>"AWS KMS"</label>
                    <Show when=move || kms.get()>
                        <label>"KMS key"<input bind:value=kms_key placeholder="arn:aws:kms:us-east-1:123456789012:key/…"
                            aria-describedby="kms-help" spellcheck="false" autocomplete="off"/></label>
                        <p id="kms-help" class="hint">
                            "The key's ARN, its key id, or an alias (alias/NAME)."
                            {on_berth.then_some(" A Berth registry records the key but does not encrypt with KMS: images are stored as on AES-256.")}
                        </p>
                        {move || kms_problem().filter(|_| !kms_key.get().trim().is_empty()).map(|p| view! {
                            <p class="error" role="alert" data-testid="kms-error">{p}</p>
                        })}
                    </Show>
                </fieldset>
                <fieldset>
                    <legend>"Tags"</legend>
                    <For each=move || tags.get() key=|(id, _, _)| *id let:row>
                        <div class="tag-row">
                            <label>"Key"<input bind:value=row.1/></label>
                            <label>"Value"<input bind:value=row.2/></label>
                            <button type="button" class="secondary" on:click=move |_| tags.update(|t| t.retain(|(i, _, _)| *i != row.0))>"Remove tag"</button>
                        </div>
                    </For>
                    <button type="button" class="secondary" on:click=move |_| {
                        let id = next_tag_id.get();
                        next_tag_id.set(id + 1);
                        tags.update(|t| t.push((id, RwSignal::new(String::new()), RwSignal::new(String::new()))));
                    }>"Add tag"</button>
                </fieldset>
                {move || server_error.get().map(|e| view! { <p class="error" role="alert" data-testid="create-error">{e}</p> })}
                <div class="actions">
                    <a class="button secondary" href="/repositories">"Cancel"</a>
                    <button type="submit" class="primary" disabled=move || create.pending().get()>
                        {move || if create.pending().get() { "Creating…" } else { "Create" }}
                    </button>
                </div>
            </form>
        </section>
    }
}
