//! The Permissions tab: the repository policy, an editor that explains every
//! problem on its line, templates, a diff before saving, and an access simulator —
//! all from `model::policy`, the code the registry enforces with.

use berth_model::ecr::{
    Action as EcrAction, Repository, RepositoryPolicyResponse, RepositoryRequest,
    SetRepositoryPolicyRequest,
};
use berth_model::policy::templates::CONSOLE_READ_ACTIONS;
use berth_model::policy::{
    describe_actions, describe_principals, parse_policy, AccessRequest, Decision,
    Effect as PolicyEffect, Policy, Template, ECR_ACTIONS, PULL_ACTIONS, PUSH_ACTIONS,
};
use leptos::prelude::*;

use crate::access;
use crate::api;
use crate::components::{notify, ConfirmDelete, LoadError, Loading, Modal};
use crate::diff::{diff_lines, DiffLine};
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

fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

/// A starting point for the policy editor: model's repository templates, and
/// "Console read + pull" — what the console needs to show a repository and what a
/// pull needs (model's `CONSOLE_READ_ACTIONS`), for one repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyTemplate {
    Repository(Template),
    ConsoleReadPull,
}

impl PolicyTemplate {
    pub fn all() -> Vec<PolicyTemplate> {
        let mut all: Vec<PolicyTemplate> = Template::ALL
            .into_iter()
            .map(PolicyTemplate::Repository)
            .collect();
        all.insert(1, PolicyTemplate::ConsoleReadPull);
        all
    }

    pub fn label(self) -> &'static str {
        match self {
            PolicyTemplate::Repository(t) => t.label(),
            PolicyTemplate::ConsoleReadPull => "Console read + pull",
        }
    }

    fn needs_principal(self) -> bool {
        match self {
            PolicyTemplate::Repository(t) => t.needs_principal(),
            PolicyTemplate::ConsoleReadPull => true,
        }
    }

    pub fn render(self, principal: &str) -> String {
        match self {
            PolicyTemplate::Repository(t) => t.render(principal),
            PolicyTemplate::ConsoleReadPull => {
                let document = serde_json::json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": "ConsoleReadPull",
                        "Effect": "Allow",
                        "Principal": { "AWS": principal },
                        "Action": CONSOLE_READ_ACTIONS,
                    }],
                });
                serde_json::to_string_pretty(&document).unwrap_or_default()
            }
        }
    }
}

/// The simulator's answer for one policy.
pub fn simulate(policy: Option<&Policy>, principal: &str, action_choice: &str) -> (bool, String) {
    let actions: Vec<String> = match action_choice {
        "pull" => PULL_ACTIONS.iter().map(|a| a.to_string()).collect(),
        "push" => PUSH_ACTIONS.iter().map(|a| a.to_string()).collect(),
        other => vec![other.to_string()],
    };
    let Some(policy) = policy else {
        return (
            false,
            "Denied: there is no policy, so only the account's administrator may act.".into(),
        );
    };
    for action in &actions {
        match policy.evaluate(&AccessRequest {
            principal_arn: principal,
            action,
        }) {
            Decision::Allowed { .. } => continue,
            Decision::ExplicitlyDenied { statement } => {
                return (
                    false,
                    format!(
                        "Denied: {} denies {action}.",
                        policy.statements[statement].label(statement)
                    ),
                );
            }
            Decision::NotAllowed => {
                return (false, format!("Denied: no statement allows {action}."))
            }
        }
    }
    let deciding: Vec<String> = actions
        .iter()
        .filter_map(|action| {
            match policy.evaluate(&AccessRequest {
                principal_arn: principal,
                action,
            }) {
                Decision::Allowed { statement } => {
                    Some(policy.statements[statement].label(statement))
                }
                _ => None,
            }
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    (true, format!("Allowed by {}.", deciding.join(" and ")))
}

#[component]
pub fn PermissionsTab(repository: Repository, draft: PolicyDraft) -> impl IntoView {
    let connection = use_connection();
    let name = repository.repository_name.clone();
    let load_name = name.clone();
    let saved = LocalResource::new(move || {
        let (c, name) = (connection.clone(), load_name.clone());
        async move { api::repository_policy(&c, &name).await }
    });
    let saved_text = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(text)) = saved.get() {
            saved_text.set(text.as_deref().map(pretty));
        }
    });
    let start_editing = move |text: String| {
        draft.text.set(text);
        draft.editing.set(true);
    };
    let may_set = {
        let name = name.clone();
        move || !access::refused(EcrAction::SetRepositoryPolicy, Some(&name))
    };

    view! {
        <Transition fallback=|| view! { <Loading text="Loading the repository policy…"/> }>
            {move || { let name = name.clone(); let may_set = may_set.clone(); Suspend::new(async move {
                match saved.await {
                    Err(error) => view! {
                        <LoadError title="The policy could not be loaded" message=error.to_string() on_retry=Callback::new(move |_| saved.refetch())/>
                    }.into_any(),
                    Ok(_) => view! {
                        <Show when=move || !draft.editing.get() fallback=move || view! {
                            <PolicyEditor repository=name.clone() draft=draft.text saved=saved_text
                                on_done=Callback::new(move |_| { draft.editing.set(false); saved.refetch(); })/>
                        }>
                            {let may_set = may_set.clone(); move || match saved_text.get() {
                                Some(text) => {
                                    let edit = text.clone();
                                    view! {
                                        <section class="card" data-testid="saved-policy">
                                            <div class="page-head"><h2>"Repository policy"</h2>
                                                <Show when=may_set.clone()>
                                                    <button type="button" class="secondary" on:click={let edit = edit.clone(); move |_| start_editing(edit.clone())}>"Edit policy"</button>
                                                </Show></div>
                                            <PolicySummary text=text.clone()/>
                                            <pre class="json">{text}</pre>
                                        </section>
                                    }.into_any()
                                }
                                None => view! {
                                    <section class="state empty" data-testid="no-policy">
                                        <h2>"No repository policy"</h2>
                                        <p>"A repository policy says which users and accounts may pull from and push to this repository. Without one, only the registry's administrator can."</p>
                                        <Show when=may_set.clone()>
                                            <button type="button" class="primary" on:click=move |_| start_editing(String::new())>"Create a policy"</button>
                                        </Show>
                                    </section>
                                }.into_any(),
                            }}
                        </Show>
                    }.into_any(),
                }
            })}}
        </Transition>
    }
}

#[component]
fn PolicySummary(text: String) -> impl IntoView {
    let policy = parse_policy(&text).ok();
    policy.map(|p| view! {
        <table class="list" data-testid="policy-summary">
            <thead><tr><th>"Statement"</th><th>"Effect"</th><th>"Who"</th><th>"What"</th></tr></thead>
            <tbody>{p.statements.iter().enumerate().map(|(i, s)| view! {
                <tr>
                    <td>{s.sid.clone().unwrap_or_else(|| format!("#{}", i + 1))}</td>
                    <td>{if s.effect == PolicyEffect::Allow { "Allow" } else { "Deny" }}</td>
                    <td>{describe_principals(&s.principals)}</td>
                    <td>{describe_actions(&s.actions)}{(!s.conditions.is_empty()).then_some(" (with conditions)")}</td>
                </tr>
            }).collect_view()}</tbody>
        </table>
    })
}

#[component]
fn PolicyEditor(
    repository: String,
    draft: RwSignal<String>,
    saved: RwSignal<Option<String>>,
    on_done: Callback<()>,
) -> impl IntoView {
    let connection = use_connection();
    let template_principal = RwSignal::new(String::new());
    let server_error = RwSignal::new(None::<String>);
    let confirm_delete = RwSignal::new(false);
    let replace_with = RwSignal::new(None::<PolicyTemplate>);

    let checked = Memo::new(move |_| {
        let text = draft.get();
        if text.trim().is_empty() {
            return (
                None,
                vec![(
                    None,
                    "The policy is empty: write one or start from a template.".to_string(),
                )],
            );
        }
        match parse_policy(&text) {
            Ok(policy) => (Some(policy), Vec::new()),
            Err(problems) => (
                None,
                problems
                    .iter()
                    .map(|p| (Some(p.position.line), p.to_string()))
                    .collect(),
            ),
        }
    });
    let bad_lines = move || {
        checked.with(|(_, problems)| problems.iter().filter_map(|(l, _)| *l).collect::<Vec<_>>())
    };
    let gutter = move || {
        let bad = bad_lines();
        (1..=draft.with(|d| d.lines().count().max(1)))
            .map(|n| view! { <span class=if bad.contains(&n) { "bad" } else { "" }>{n.to_string()}"\n"</span> })
            .collect_view()
    };

    let (save_connection, save_name) = (connection.clone(), repository.clone());
    let save = Action::new_local(move |text: &String| {
        let request = SetRepositoryPolicyRequest {
            repository_name: save_name.clone(),
            policy_text: text.clone(),
            ..Default::default()
        };
        let c = save_connection.clone();
        async move {
            api::call::<_, RepositoryPolicyResponse>(&c, EcrAction::SetRepositoryPolicy, &request)
                .await
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            notify(true, "Policy saved");
            on_done.run(());
        }
        Some(Err(e)) => server_error.set(Some(e.to_string())),
        None => {}
    });
    let (delete_connection, delete_name) = (connection.clone(), repository.clone());
    let delete = Action::new_local(move |_: &()| {
        let request = RepositoryRequest {
            repository_name: delete_name.clone(),
            ..Default::default()
        };
        let c = delete_connection.clone();
        async move {
            api::call::<_, RepositoryPolicyResponse>(
                &c,
                EcrAction::DeleteRepositoryPolicy,
                &request,
            )
            .await
        }
    });
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(_)) => {
            notify(true, "Policy deleted");
            confirm_delete.set(false);
            on_done.run(());
        }
        Some(Err(e)) => {
            confirm_delete.set(false);
            server_error.set(Some(e.to_string()));
        }
        None => {}
    });

    let render_template = move |template: PolicyTemplate| {
        let principal = template_principal.get_untracked().trim().to_string();
        if template.needs_principal() && principal.is_empty() {
            server_error.set(Some(
                "Enter a principal (a user ARN or an account id) for the template first.".into(),
            ));
            return None;
        }
        server_error.set(None);
        Some(template.render(&principal))
    };
    // A template replaces the draft only when that loses nothing, or when asked to.
    let apply_template = move |template: PolicyTemplate| {
        let Some(text) = render_template(template) else {
            return;
        };
        let unsaved = draft.with_untracked(|d| {
            !d.trim().is_empty() && saved.with_untracked(|s| s.as_deref() != Some(d.as_str()))
        });
        if unsaved {
            replace_with.set(Some(template));
        } else {
            draft.set(text);
        }
    };

    view! {
        <section class="card" data-testid="policy-editor">
            <h2>"Edit repository policy"</h2>
            <div class="toolbar">
                <label class="inline">"Principal for templates"
                    <input data-testid="template-principal" bind:value=template_principal placeholder="arn:aws:iam::123456789012:user/ci"/>
                </label>
                {PolicyTemplate::all().into_iter().map(|t| view! {
                    <button type="button" class="secondary" on:click=move |_| apply_template(t)>{t.label()}</button>
                }).collect_view()}
            </div>
            <div class="editor">
                <div class="gutter" aria-hidden="true">{gutter}</div>
                <textarea aria-label="Policy JSON" data-testid="policy-text" spellcheck="false"
                    prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
            </div>
            <ul class="problems" data-testid="policy-problems" aria-live="polite">
                {move || checked.get().1.into_iter().map(|(line, message)| view! {
                    <li>{line.map(|l| format!("Line {l}: ")).unwrap_or_default()}{message}</li>
                }).collect_view()}
            </ul>
            <div class="actions">
                <button type="button" class="secondary" disabled=move || checked.with(|(p, _)| p.is_none())
                    on:click=move |_| draft.update(|d| *d = pretty(d))>"Format"</button>
                <button type="button" class="secondary" on:click=move |_| on_done.run(())>"Cancel"</button>
                <Show when=move || saved.with(Option::is_some)>
                    <button type="button" class="danger" on:click=move |_| confirm_delete.set(true)>"Delete policy"</button>
                </Show>
                <button type="button" class="primary" data-testid="save-policy"
                    disabled=move || checked.with(|(p, _)| p.is_none()) || save.pending().get()
                    on:click=move |_| { server_error.set(None); save.dispatch(draft.get_untracked()); }>
                    {move || if save.pending().get() { "Saving…" } else { "Save policy" }}</button>
            </div>
            {move || server_error.get().map(|e| view! { <p class="error" role="alert" data-testid="policy-error">{e}</p> })}
            {move || checked.get().0.map(|_| view! { <PolicySummary text=draft.get()/> })}
            <h3>"Changes against the saved policy"</h3>
            <div class="diff" data-testid="policy-diff">
                {move || diff_lines(&saved.get().unwrap_or_default(), &draft.get()).into_iter().map(|line| match line {
                    DiffLine::Same(l) => view! { <span>{format!("  {l}\n")}</span> }.into_any(),
                    DiffLine::Added(l) => view! { <span class="add">{format!("+ {l}")}</span> }.into_any(),
                    DiffLine::Removed(l) => view! { <span class="del">{format!("- {l}")}</span> }.into_any(),
                }).collect_view()}
            </div>
        </section>
        <Simulator draft=draft saved=saved/>
        <Show when=move || confirm_delete.get()>
            <ConfirmDelete title="Delete the repository policy" confirm_word="delete" busy=delete.pending()
                what="Without a policy, only the registry's administrator can use this repository."
                on_confirm=Callback::new(move |_| { delete.dispatch(()); })
                on_close=Callback::new(move |_| confirm_delete.set(false))/>
        </Show>
        {move || replace_with.get().map(|template| view! {
            <Modal title="Replace your draft?" on_close=Callback::new(move |_| replace_with.set(None))>
                <p>{format!("The template “{}” replaces the policy you are editing. Your unsaved changes are lost.", template.label())}</p>
                <div class="actions">
                    <button type="button" class="secondary" on:click=move |_| replace_with.set(None)>"Keep my draft"</button>
                    <button type="button" class="primary" data-testid="replace-draft" on:click=move |_| {
                        if let Some(text) = render_template(template) { draft.set(text); }
                        replace_with.set(None);
                    }>"Replace"</button>
                </div>
            </Modal>
        })}
    }
}

#[component]
fn Simulator(draft: RwSignal<String>, saved: RwSignal<Option<String>>) -> impl IntoView {
    let principal = RwSignal::new(String::new());
    let action = RwSignal::new("pull".to_string());
    let verdict = move |text: Option<String>| {
        let policy = text.and_then(|t| parse_policy(&t).ok());
        simulate(policy.as_ref(), principal.get().trim(), &action.get())
    };
    let show = move |label: &'static str, testid: &'static str, result: (bool, String)| {
        view! {
            <p class=if result.0 { "verdict allowed" } else { "verdict denied" } data-testid=testid>
                {label}": "{result.1}
            </p>
        }
    };
    view! {
        <section class="card" data-testid="simulator">
            <h2>"Who can do what?"</h2>
            <div class="toolbar">
                <label class="inline">"Principal ARN"
                    <input data-testid="sim-principal" bind:value=principal placeholder="arn:aws:iam::123456789012:user/ci"/>
                </label>
                <label class="inline">"Action"
                    <select data-testid="sim-action" on:change=move |ev| action.set(event_target_value(&ev))>
                        <option value="pull">"Pull (docker pull)"</option>
                        <option value="push">"Push (docker push)"</option>
                        {ECR_ACTIONS.iter().map(|a| view! { <option value=format!("ecr:{a}")>{format!("ecr:{a}")}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            <Show when=move || !principal.get().trim().is_empty()>
                {move || show("Saved policy", "sim-saved", verdict(saved.get()))}
                {move || show("Draft", "sim-draft", verdict(Some(draft.get())))}
            </Show>
        </section>
    }
}
