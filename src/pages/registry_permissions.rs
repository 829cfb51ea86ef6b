//! The registry's Permissions page: the registry policy (grants across
//! repositories, e.g. a team's prefix), the same editor as a repository's, its
//! templates, and a simulator that decides over it and a chosen repository's
//! policy as the registry does.

use berth_model::ecr::Action as EcrAction;
use berth_model::policy::PolicyKind;
use leptos::prelude::*;

use crate::access;
use crate::api;
use crate::components::json_editor::pretty;
use crate::components::policy_editor::{
    PolicyEditor, PolicyScope, PolicyTemplate, SavedPolicy, TemplateInput,
};
use crate::components::simulator::Simulator;
use crate::components::{LoadError, Loading};
use crate::pages::permissions::PolicyDraft;
use crate::pages::registry::REGISTRY_PATH;
use crate::session::{use_connection, RegistryKind};

/// A repository's policy for the simulator, and what to say about it.
async fn chosen_policy(
    connection: &crate::session::Connection,
    name: &str,
) -> (Option<String>, Option<String>) {
    if name.is_empty() {
        return (None, None);
    }
    match api::repository_policy(connection, name).await {
        Ok(text) => (text, None),
        Err(e) if e.error_type() == Some("RepositoryNotFoundException") => (
            None,
            Some(format!(
                "{name} does not exist (yet): only the registry policy speaks for it."
            )),
        ),
        Err(e) => (
            None,
            Some(format!(
                "The policy of {name} could not be read, so these answers leave it out: {e}"
            )),
        ),
    }
}

#[component]
pub fn RegistryPermissionsPage() -> impl IntoView {
    let connection = use_connection();
    let on_aws = connection.kind == RegistryKind::Aws;
    let draft = PolicyDraft::new();
    let load_connection = connection.clone();
    let saved = LocalResource::new(move || {
        let c = load_connection.clone();
        async move { api::registry_policy(&c).await }
    });
    // Templates and the simulator name repositories by ARN, with the account.
    let account_connection = connection.clone();
    let account = LocalResource::new(move || {
        let c = account_connection.clone();
        async move { api::registry_id(&c).await }
    });
    let saved_text = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(text)) = saved.get() {
            saved_text.set(text.as_deref().map(pretty));
        }
    });
    let chosen = RwSignal::new(String::new());
    let chosen_connection = connection.clone();
    let repository_policy = LocalResource::new(move || {
        let (c, name) = (chosen_connection.clone(), chosen.get());
        async move { chosen_policy(&c, &name).await }
    });
    let repository_text = Signal::derive(move || repository_policy.get().and_then(|p| p.0));
    let start_editing = Callback::new(move |text: String| {
        draft.text.set(text);
        draft.editing.set(true);
    });
    let may_put = Signal::derive(move || !access::refused(EcrAction::PutRegistryPolicy, None));
    let (region, simulator_region) = (connection.region.clone(), connection.region.clone());
    let saved_pair = Signal::derive(move || (saved_text.get(), repository_text.get()));
    let draft_pair = Signal::derive(move || {
        draft
            .editing
            .get()
            .then(|| (Some(draft.text.get()), repository_text.get()))
    });
    let repository_note = Signal::derive(move || repository_policy.get().and_then(|p| p.1));

    view! {
        <nav class="breadcrumb" aria-label="Breadcrumb"><a href=REGISTRY_PATH>"Registry"</a>" / "<span>"Permissions"</span></nav>
        <h1>"Registry permissions"</h1>
        <p class="hint">"The registry policy grants across repositories: each statement names the repositories it covers in "
            <code>"Resource"</code>" (repository ARNs, with * wildcards), so one statement can let a team create, push to and pull from everything under its prefix. An explicit Deny in it or in a repository's policy wins; otherwise an Allow in either allows."</p>
        {on_aws.then(|| view! {
            <p class="banner note" data-testid="aws-registry-policy">"On AWS, a registry policy takes only replication and pull-through-cache actions (ecr:ReplicateImage, ecr:BatchImportUpstreamImage, ecr:CreateRepository): repository access is granted by IAM and repository policies. The team-prefix and console templates are Berth-only, so they are not offered here."</p>
        })}
        <Transition fallback=|| view! { <Loading text="Loading the registry policy…"/> }>
            {move || { let region = region.clone(); Suspend::new(async move {
                match (saved.await, account.await) {
                    (Err(error), _) | (_, Err(error)) => view! {
                        <LoadError title="The registry policy could not be loaded" message=error.to_string()
                            on_retry=Callback::new(move |_| { saved.refetch(); account.refetch(); })/>
                    }.into_any(),
                    (Ok(_), Ok(account_id)) => {
                        let template_input = TemplateInput { region, account_id, ..Default::default() };
                        let templates = if on_aws { Vec::new() } else { PolicyTemplate::for_registry() };
                        view! {
                            <Show when=move || !draft.editing.get() fallback=move || view! {
                                <PolicyEditor scope=PolicyScope::Registry draft=draft.text saved=saved_text
                                    templates=templates.clone() template_input=template_input.clone()
                                    on_done=Callback::new(move |_| { draft.editing.set(false); saved.refetch(); })/>
                            }>
                                <SavedPolicy kind=PolicyKind::Registry text=saved_text may_edit=may_put on_edit=start_editing
                                    empty="Without a registry policy, each repository's own policy says who may use it, and nobody but the registry's administrator may create repositories."/>
                            </Show>
                        }.into_any()
                    }
                }
            })}}
        </Transition>
        // Outside the transition: saving refetches the policy, and the simulator's
        // choices must outlive that.
        {move || account.get().and_then(Result::ok).map(|account_id| view! {
            <Simulator account_id=account_id region=simulator_region.clone() repository=chosen
                saved=saved_pair draft=draft_pair note=repository_note>
                <label class="inline">"Repository"
                    <input data-testid="sim-repository" placeholder="team-a/api"
                        prop:value=move || chosen.get()
                        on:change=move |ev| chosen.set(event_target_value(&ev).trim().to_string())/>
                </label>
            </Simulator>
        })}
    }
}
