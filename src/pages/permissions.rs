//! The Permissions tab: the repository policy, its editor (problems on their
//! lines, warnings, templates, a diff before saving) and an access simulator that
//! decides over this policy and the registry policy together, as the registry does.

use berth_model::ecr::{Action as EcrAction, Repository};
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
use crate::session::use_connection;

/// A policy being edited. The repository page owns it, so switching tabs keeps
/// the draft; leaving the page with unsaved changes asks first.
#[derive(Clone, Copy)]
pub struct PolicyDraft {
    pub editing: RwSignal<bool>,
    pub text: RwSignal<String>,
}

impl PolicyDraft {
    pub fn new() -> PolicyDraft {
        let draft = PolicyDraft {
            editing: RwSignal::new(false),
            text: RwSignal::new(String::new()),
        };
        // Closing or reloading the tab with a draft open asks the browser to confirm.
        let handle = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if draft.editing.try_get_untracked() == Some(true) {
                ev.prevent_default();
                ev.set_return_value("unsaved policy");
            }
        });
        on_cleanup(move || handle.remove());
        draft
    }
}

impl Default for PolicyDraft {
    fn default() -> Self {
        PolicyDraft::new()
    }
}

/// The registry policy as the simulator reads it, and what to say when it could
/// not be read (a key without GetRegistryPolicy: the answers then leave it out).
pub fn registry_policy_for_simulation(
    loaded: Option<Result<Option<String>, api::ApiError>>,
) -> (Option<String>, Option<String>) {
    match loaded {
        Some(Ok(text)) => (text, None),
        Some(Err(e)) => (
            None,
            Some(format!(
                "The registry policy could not be read, so these answers leave it out: {e}"
            )),
        ),
        None => (None, None),
    }
}

#[component]
pub fn PermissionsTab(repository: Repository, draft: PolicyDraft) -> impl IntoView {
    let connection = use_connection();
    let name = repository.repository_name.clone();
    let (load_connection, load_name) = (connection.clone(), name.clone());
    let saved = LocalResource::new(move || {
        let (c, name) = (load_connection.clone(), load_name.clone());
        async move { api::repository_policy(&c, &name).await }
    });
    let registry_connection = connection.clone();
    let registry_policy = LocalResource::new(move || {
        let c = registry_connection.clone();
        async move { api::registry_policy(&c).await }
    });
    let registry = Memo::new(move |_| registry_policy_for_simulation(registry_policy.get()));
    let saved_text = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(text)) = saved.get() {
            saved_text.set(text.as_deref().map(pretty));
        }
    });
    let start_editing = Callback::new(move |text: String| {
        draft.text.set(text);
        draft.editing.set(true);
    });
    let may_set = {
        let name = name.clone();
        Signal::derive(move || !access::refused(EcrAction::SetRepositoryPolicy, Some(&name)))
    };
    let template_input = TemplateInput {
        region: connection.region.clone(),
        account_id: repository.registry_id.clone(),
        ..Default::default()
    };
    let simulated = name.clone();

    view! {
        <Transition fallback=|| view! { <Loading text="Loading the repository policy…"/> }>
            {move || { let name = name.clone(); let template_input = template_input.clone(); Suspend::new(async move {
                match saved.await {
                    Err(error) => view! {
                        <LoadError title="The policy could not be loaded" message=error.to_string() on_retry=Callback::new(move |_| saved.refetch())/>
                    }.into_any(),
                    Ok(_) => view! {
                        <Show when=move || !draft.editing.get() fallback=move || view! {
                            <PolicyEditor scope=PolicyScope::Repository(name.clone()) draft=draft.text saved=saved_text
                                templates=PolicyTemplate::for_repositories() template_input=template_input.clone()
                                on_done=Callback::new(move |_| { draft.editing.set(false); saved.refetch(); })/>
                        }>
                            <SavedPolicy kind=PolicyKind::Repository text=saved_text may_edit=may_set on_edit=start_editing
                                empty="A repository policy says which users and accounts may pull from and push to this repository. Without one, only the registry's administrator can — and whoever the registry policy lets in."/>
                        </Show>
                    }.into_any(),
                }
            })}}
        </Transition>
        <Simulator account_id=repository.registry_id.clone() region=connection.region.clone()
            repository=Signal::stored(simulated)
            saved=Signal::derive(move || (registry.with(|r| r.0.clone()), saved_text.get()))
            draft=Signal::derive(move || draft.editing.get().then(|| (registry.with(|r| r.0.clone()), Some(draft.text.get()))))
            note=Signal::derive(move || registry.with(|r| r.1.clone()))/>
    }
}
