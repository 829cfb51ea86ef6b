//! The Lifecycle policy tab: the repository's rules in priority order; a draft
//! edited with a rule form or as JSON (each follows the other; problems pinned to
//! their lines by the model's grammar); a preview computed in the browser and
//! checked against the registry's own; Save and Delete.

pub mod draft;
pub mod preview;
pub mod rules;

use berth_model::ecr::{
    Action as EcrAction, LifecyclePolicyResponse, PutLifecyclePolicyRequest,
    PutLifecyclePolicyResponse, Repository, RepositoryRequest,
};
use berth_model::lifecycle::Rule;
use leptos::prelude::*;

use crate::access;
use crate::api::{self, ApiError};
use crate::components::json_editor::{notes, JsonEditor, Note};
use crate::components::{notify, ConfirmDelete, LoadError, Loading};
use crate::format;
use crate::pages::permissions::PolicyDraft;
use crate::session::use_connection;
use draft::{rules_of, text_of};
use preview::{PreviewPanel, Previews};
use rules::{RuleForm, RulesTable};

/// The saved policy as the tab shows it: AWS's field order, pretty-printed.
fn shown(text: &str) -> String {
    match rules_of(text) {
        Ok(rules) if !rules.is_empty() => text_of(rules),
        _ => crate::components::json_editor::pretty(text),
    }
}

#[component]
pub fn LifecycleTab(repository: Repository, draft: PolicyDraft) -> impl IntoView {
    let connection = use_connection();
    let name = repository.repository_name.clone();
    let (load_connection, load_name) = (connection.clone(), name.clone());
    let saved = LocalResource::new(move || {
        let (c, name) = (load_connection.clone(), load_name.clone());
        async move { api::lifecycle_policy(&c, &name).await }
    });
    let saved_text = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(policy)) = saved.get() {
            saved_text.set(policy.map(|p| shown(&p.lifecycle_policy_text)));
        }
    });
    let previews = Previews::new(connection.clone(), name.clone());
    let confirm_delete = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    // Saves the draft (`Some`) or deletes the policy (`None`).
    let (store_connection, store_name) = (connection.clone(), name.clone());
    let store = Action::new_local(move |text: &Option<String>| {
        let (c, name, text) = (store_connection.clone(), store_name.clone(), text.clone());
        async move {
            match text {
                Some(lifecycle_policy_text) => {
                    let request = PutLifecyclePolicyRequest {
                        repository_name: name,
                        lifecycle_policy_text,
                        ..Default::default()
                    };
                    api::call::<_, PutLifecyclePolicyResponse>(
                        &c,
                        EcrAction::PutLifecyclePolicy,
                        &request,
                    )
                    .await
                    .map(|_| false)
                }
                None => {
                    let request = RepositoryRequest {
                        repository_name: name,
                        ..Default::default()
                    };
                    api::call::<_, LifecyclePolicyResponse>(
                        &c,
                        EcrAction::DeleteLifecyclePolicy,
                        &request,
                    )
                    .await
                    .map(|_| true)
                }
            }
        }
    });
    Effect::new(move |_| match store.value().get() {
        Some(Ok(deleted)) => {
            notify(
                true,
                if deleted {
                    "Lifecycle policy deleted"
                } else {
                    "Lifecycle policy saved"
                },
            );
            confirm_delete.set(false);
            draft.editing.set(false);
            saved.refetch();
        }
        Some(Err(e)) => {
            confirm_delete.set(false);
            error.set(Some(e.to_string()));
        }
        None => {}
    });
    let may_put = {
        let name = name.clone();
        Signal::derive(move || !access::refused(EcrAction::PutLifecyclePolicy, Some(&name)))
    };
    let start_editing = move |text: String| {
        error.set(None);
        draft.text.set(text);
        draft.editing.set(true);
    };

    view! {
        <Transition fallback=|| view! { <Loading text="Loading the lifecycle policy…"/> }>
            {move || Suspend::new(async move {
                match saved.await {
                    Err(e) => view! {
                        <LoadError title="The lifecycle policy could not be loaded" message=e.to_string()
                            on_retry=Callback::new(move |_| saved.refetch())/>
                    }.into_any(),
                    Ok(policy) => {
                        let last_evaluated = policy.and_then(|p| p.last_evaluated_at).filter(|t| *t > 0.0);
                        view! {
                            <Show when=move || !draft.editing.get() fallback=move || view! {
                                <LifecycleEditor draft=draft.text saved=saved_text store=store previews=previews
                                    on_delete=Callback::new(move |_| confirm_delete.set(true))
                                    on_cancel=Callback::new(move |_| draft.editing.set(false))/>
                            }>
                                {move || match saved_text.get() {
                                    Some(text) => { let (preview_text, edit_text) = (text.clone(), text.clone()); view! {
                                        <section class="card" data-testid="saved-lifecycle-policy">
                                            <div class="page-head"><h2>"Lifecycle policy"</h2>
                                                <div class="actions">
                                                    <button type="button" class="secondary" on:click=move |_| previews.run(preview_text.clone())>"Preview"</button>
                                                    <Show when=move || may_put.get()>
                                                        <button type="button" class="secondary" on:click={let edit_text = edit_text.clone(); move |_| start_editing(edit_text.clone())}>"Edit policy"</button>
                                                        <button type="button" class="danger" on:click=move |_| confirm_delete.set(true)>"Delete policy"</button>
                                                    </Show>
                                                </div></div>
                                            <p class="hint" data-testid="lifecycle-last-applied">{match last_evaluated {
                                                Some(at) => format!("Last applied {}.", format::local_time(at)),
                                                None => "Not applied yet: the registry applies it on its schedule.".to_string(),
                                            }}</p>
                                            {rules_of(&text).ok().map(|rules| view! { <RulesTable rules=rules/> })}
                                            <pre class="json" data-testid="saved-lifecycle-json">{text}</pre>
                                        </section>
                                    }.into_any() }
                                    None => view! {
                                        <section class="state empty" data-testid="no-lifecycle-policy">
                                            <h2>"No lifecycle policy"</h2>
                                            <p>"A lifecycle policy expires images by rule — by count (keep the last 30 releases) or by age (untagged images after 14 days) — so the repository does not grow forever. Preview a policy before saving it."</p>
                                            <Show when=move || may_put.get()>
                                                <button type="button" class="primary" on:click=move |_| start_editing(text_of(Vec::new()))>"Create a lifecycle policy"</button>
                                            </Show>
                                        </section>
                                    }.into_any(),
                                }}
                            </Show>
                        }.into_any()
                    }
                }
            })}
        </Transition>
        {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="lifecycle-error">{e}</p> })}
        <Show when=move || previews.started()>
            <PreviewPanel previews=previews/>
        </Show>
        <Show when=move || confirm_delete.get()>
            <ConfirmDelete title="Delete the lifecycle policy" confirm_word="delete" busy=store.pending()
                what="Without a lifecycle policy, the registry expires no image of this repository."
                on_confirm=Callback::new(move |_| { store.dispatch(None); })
                on_close=Callback::new(move |_| confirm_delete.set(false))/>
        </Show>
    }
}

/// What the form and the JSON view know of the draft: its rules when it reads, and
/// what keeps it from being saved.
fn check(text: &str) -> (Option<Vec<Rule>>, Vec<Note>) {
    let problems = match berth_model::lifecycle::parse_lifecycle_policy(text) {
        Ok(_) => Vec::new(),
        Err(problems) => notes(&problems),
    };
    (rules_of(text).ok(), problems)
}

#[component]
fn LifecycleEditor(
    draft: RwSignal<String>,
    saved: RwSignal<Option<String>>,
    store: Action<Option<String>, Result<bool, ApiError>>,
    previews: Previews,
    on_delete: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let checked = Memo::new(move |_| draft.with(|text| check(text)));
    let problems = Signal::derive(move || checked.with(|(_, p)| p.clone()));
    let saveable = move || checked.with(|(_, p)| p.is_empty());
    // The form: `Some(None)` adds a rule, `Some(Some(i))` edits rule `i`.
    let form = RwSignal::new(None::<Option<usize>>);
    view! {
        <section class="card" data-testid="lifecycle-editor">
            <h2>"Edit lifecycle policy"</h2>
            <div class="page-head"><h3>"Rules"</h3>
                <button type="button" class="secondary" disabled=move || checked.with(|(r, _)| r.is_none())
                    on:click=move |_| form.set(Some(None))>"Add rule"</button></div>
            {move || match checked.with(|(r, _)| r.clone()) {
                Some(rules) if rules.is_empty() => view! {
                    <p class="hint" data-testid="lifecycle-no-rules">"No rules yet: add one, or write the policy as JSON below."</p>
                }.into_any(),
                Some(rules) => view! {
                    <RulesTable rules=rules draft=draft on_edit=Callback::new(move |i| form.set(Some(Some(i))))/>
                }.into_any(),
                None => view! {
                    <p class="hint" data-testid="lifecycle-no-rules">"The JSON has problems (listed under it): fix them to edit the rules here."</p>
                }.into_any(),
            }}
            <h3>"JSON"</h3>
            <JsonEditor text=draft problems=problems warnings=Signal::stored(Vec::new())
                label="Lifecycle policy JSON" testid="lifecycle"/>
            <div class="actions">
                <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                <Show when=move || saved.with(Option::is_some)>
                    <button type="button" class="danger" on:click=move |_| on_delete.run(())>"Delete policy"</button>
                </Show>
                <button type="button" class="secondary" disabled=move || !saveable()
                    on:click=move |_| previews.run(draft.get_untracked())>"Preview"</button>
                <button type="button" class="primary" data-testid="save-lifecycle-policy"
                    disabled=move || !saveable() || store.pending().get()
                    on:click=move |_| { store.dispatch(Some(draft.get_untracked())); }>
                    {move || if store.pending().get() { "Saving…" } else { "Save policy" }}</button>
            </div>
        </section>
        {move || form.get().map(|replacing| {
            let rules = checked.with_untracked(|(r, _)| r.clone()).unwrap_or_default();
            view! { <RuleForm rules=rules replacing=replacing draft=draft on_close=Callback::new(move |_| form.set(None))/> }
        })}
    }
}
