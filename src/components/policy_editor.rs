//! The policy editor of the repository Permissions tab and the registry's
//! Permissions page: JSON with every problem on its line and every warning shown
//! (neither blocks what AWS would take), templates, a summary, and a diff against
//! the saved policy before saving — all from `model::policy`, the code the
//! registry enforces with.

use berth_model::ecr::{
    Action as EcrAction, EmptyRequest, PutRegistryPolicyRequest, RegistryPolicyResponse,
    RepositoryPolicyResponse, RepositoryRequest, SetRepositoryPolicyRequest,
};
use berth_model::policy::templates::CONSOLE_READ_ACTIONS;
use berth_model::policy::{
    describe_actions, describe_principals, describe_resources, parse_policy, parse_registry_policy,
    Effect as PolicyEffect, Policy, PolicyKind, Problem, RegistryTemplate, Template,
};
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::components::json_editor::{notes, pretty, JsonEditor, Note};
use crate::components::{notify, ConfirmDelete, Modal};
use crate::diff::{diff_lines, DiffLine};
use crate::session::use_connection;

/// Which policy is edited: a repository's (by name) or the registry's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyScope {
    Repository(String),
    Registry,
}

impl PolicyScope {
    pub fn kind(&self) -> PolicyKind {
        match self {
            PolicyScope::Repository(_) => PolicyKind::Repository,
            PolicyScope::Registry => PolicyKind::Registry,
        }
    }
}

/// Parses a policy of `kind` with the registry's own grammar.
pub fn parse_as(kind: PolicyKind, text: &str) -> Result<Policy, Vec<Problem>> {
    match kind {
        PolicyKind::Repository => parse_policy(text),
        PolicyKind::Registry => parse_registry_policy(text),
    }
}

/// A starting point for a policy: model's repository and registry templates, and
/// "Console read + pull" for one repository (model's `CONSOLE_READ_ACTIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyTemplate {
    Repository(Template),
    ConsoleReadPull,
    Registry(RegistryTemplate),
}

/// What a template is rendered for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateInput {
    pub principal: String,
    /// For the team-prefix template: `team-a`.
    pub prefix: String,
    pub region: String,
    pub account_id: String,
}

impl PolicyTemplate {
    /// The repository policy templates.
    pub fn for_repositories() -> Vec<PolicyTemplate> {
        let mut all: Vec<PolicyTemplate> = Template::ALL
            .into_iter()
            .map(PolicyTemplate::Repository)
            .collect();
        all.insert(1, PolicyTemplate::ConsoleReadPull);
        all
    }

    /// The registry policy templates.
    pub fn for_registry() -> Vec<PolicyTemplate> {
        RegistryTemplate::ALL
            .into_iter()
            .map(PolicyTemplate::Registry)
            .collect()
    }

    pub fn label(self) -> &'static str {
        match self {
            PolicyTemplate::Repository(t) => t.label(),
            PolicyTemplate::ConsoleReadPull => "Console read + pull",
            PolicyTemplate::Registry(t) => t.label(),
        }
    }

    fn needs_principal(self) -> bool {
        match self {
            PolicyTemplate::Repository(t) => t.needs_principal(),
            PolicyTemplate::ConsoleReadPull | PolicyTemplate::Registry(_) => true,
        }
    }

    fn needs_prefix(self) -> bool {
        matches!(self, PolicyTemplate::Registry(t) if t.needs_prefix())
    }

    pub fn render(self, input: &TemplateInput) -> String {
        match self {
            PolicyTemplate::Repository(t) => t.render(&input.principal),
            PolicyTemplate::ConsoleReadPull => {
                let document = serde_json::json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": "ConsoleReadPull",
                        "Effect": "Allow",
                        "Principal": { "AWS": input.principal },
                        "Action": CONSOLE_READ_ACTIONS,
                    }],
                });
                serde_json::to_string_pretty(&document).unwrap_or_default()
            }
            PolicyTemplate::Registry(t) => t.render(
                &input.principal,
                &input.region,
                &input.account_id,
                &input.prefix,
            ),
        }
    }
}

/// Each statement in words: effect, who, what (and on which repositories).
#[component]
pub fn PolicySummary(text: String, kind: PolicyKind) -> impl IntoView {
    let policy = parse_as(kind, &text).ok();
    let registry = kind == PolicyKind::Registry;
    policy.map(|p| view! {
        <table class="list" data-testid="policy-summary">
            <thead><tr><th>"Statement"</th><th>"Effect"</th><th>"Who"</th><th>"What"</th>
                {registry.then(|| view! { <th>"Repositories"</th> })}</tr></thead>
            <tbody>{p.statements.iter().enumerate().map(|(i, s)| view! {
                <tr>
                    <td>{s.sid.clone().unwrap_or_else(|| format!("#{}", i + 1))}</td>
                    <td>{if s.effect == PolicyEffect::Allow { "Allow" } else { "Deny" }}</td>
                    <td>{describe_principals(&s.principals)}</td>
                    <td>{describe_actions(&s.actions)}{(!s.conditions.is_empty()).then_some(" (with conditions)")}</td>
                    {registry.then(|| view! { <td>{s.resources.as_ref().map(describe_resources).unwrap_or_default()}</td> })}
                </tr>
            }).collect_view()}</tbody>
        </table>
    })
}

/// The saved policy (summary, warnings, JSON) with an Edit button, or, without
/// one, what a policy would do (`empty`) and a Create button.
#[component]
pub fn SavedPolicy(
    kind: PolicyKind,
    /// The page's own signal, not a `Signal` made from it for this view: reloading
    /// the saved policy re-renders the page's `Transition`, which disposes what this
    /// view owns while the new text is still on its way to it.
    text: RwSignal<Option<String>>,
    #[prop(into)] may_edit: Signal<bool>,
    on_edit: Callback<String>,
    empty: &'static str,
) -> impl IntoView {
    let title = match kind {
        PolicyKind::Repository => "Repository policy",
        PolicyKind::Registry => "Registry policy",
    };
    move || {
        match text.get() {
        Some(text) => {
            let edit = text.clone();
            let warnings = parse_as(kind, &text)
                .map(|p| notes(&p.warnings))
                .unwrap_or_default();
            view! {
                <section class="card" data-testid="saved-policy">
                    <div class="page-head"><h2>{title}</h2>
                        <Show when=move || may_edit.get()>
                            <button type="button" class="secondary" on:click={let edit = edit.clone(); move |_| on_edit.run(edit.clone())}>"Edit policy"</button>
                        </Show></div>
                    <PolicySummary text=text.clone() kind=kind/>
                    <ul class="problems warnings" data-testid="saved-policy-warnings">
                        {warnings.into_iter().map(|n| view! { <li>{format!("Warning: {}", n.text)}</li> }).collect_view()}
                    </ul>
                    <pre class="json">{text}</pre>
                </section>
            }
            .into_any()
        }
        None => view! {
            <section class="state empty" data-testid="no-policy">
                <h2>{format!("No {}", kind.noun())}</h2>
                <p>{empty}</p>
                <Show when=move || may_edit.get()>
                    <button type="button" class="primary" on:click=move |_| on_edit.run(String::new())>"Create a policy"</button>
                </Show>
            </section>
        }
        .into_any(),
    }
    }
}

/// What the editor knows of a draft: the policy when it parses, what blocks
/// saving, and what is only worth a look.
fn check(kind: PolicyKind, text: &str) -> (Option<Policy>, Vec<Note>, Vec<Note>) {
    if text.trim().is_empty() {
        let empty = Note::whole("The policy is empty: write one or start from a template.");
        return (None, vec![empty], Vec::new());
    }
    match parse_as(kind, text) {
        Ok(policy) => {
            let warnings = notes(&policy.warnings);
            (Some(policy), Vec::new(), warnings)
        }
        Err(problems) => (None, notes(&problems), Vec::new()),
    }
}

/// Saves (`Some(text)`) or deletes (`None`) the policy of `scope`.
async fn store(
    connection: &crate::session::Connection,
    scope: &PolicyScope,
    text: Option<String>,
) -> Result<(), ApiError> {
    match (scope, text) {
        (PolicyScope::Repository(name), Some(policy_text)) => {
            let request = SetRepositoryPolicyRequest {
                repository_name: name.clone(),
                policy_text,
                ..Default::default()
            };
            api::call::<_, RepositoryPolicyResponse>(
                connection,
                EcrAction::SetRepositoryPolicy,
                &request,
            )
            .await
            .map(drop)
        }
        (PolicyScope::Repository(name), None) => {
            let request = RepositoryRequest {
                repository_name: name.clone(),
                ..Default::default()
            };
            api::call::<_, RepositoryPolicyResponse>(
                connection,
                EcrAction::DeleteRepositoryPolicy,
                &request,
            )
            .await
            .map(drop)
        }
        (PolicyScope::Registry, Some(policy_text)) => api::call::<_, RegistryPolicyResponse>(
            connection,
            EcrAction::PutRegistryPolicy,
            &PutRegistryPolicyRequest { policy_text },
        )
        .await
        .map(drop),
        (PolicyScope::Registry, None) => api::call::<_, RegistryPolicyResponse>(
            connection,
            EcrAction::DeleteRegistryPolicy,
            &EmptyRequest {},
        )
        .await
        .map(drop),
    }
}

#[component]
pub fn PolicyEditor(
    scope: PolicyScope,
    draft: RwSignal<String>,
    saved: RwSignal<Option<String>>,
    templates: Vec<PolicyTemplate>,
    /// Region and account the registry templates name.
    template_input: TemplateInput,
    on_done: Callback<()>,
) -> impl IntoView {
    let connection = use_connection();
    let kind = scope.kind();
    let noun = kind.noun();
    let principal = RwSignal::new(String::new());
    let prefix = RwSignal::new(String::new());
    let server_error = RwSignal::new(None::<String>);
    let confirm_delete = RwSignal::new(false);
    let replace_with = RwSignal::new(None::<PolicyTemplate>);
    let checked = Memo::new(move |_| draft.with(|text| check(kind, text)));
    let problems = Signal::derive(move || checked.with(|(_, p, _)| p.clone()));
    let warnings = Signal::derive(move || checked.with(|(_, _, w)| w.clone()));

    let (store_connection, store_scope) = (connection.clone(), scope.clone());
    let save = Action::new_local(move |text: &Option<String>| {
        let (c, scope, text) = (store_connection.clone(), store_scope.clone(), text.clone());
        async move {
            let deleted = text.is_none();
            store(&c, &scope, text).await.map(|_| deleted)
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(deleted)) => {
            notify(
                true,
                if deleted {
                    "Policy deleted"
                } else {
                    "Policy saved"
                },
            );
            confirm_delete.set(false);
            on_done.run(());
        }
        Some(Err(e)) => {
            confirm_delete.set(false);
            server_error.set(Some(e.to_string()));
        }
        None => {}
    });

    let needs_prefix = templates.iter().any(|t| t.needs_prefix());
    let render_template = move |template: PolicyTemplate| {
        let input = TemplateInput {
            principal: principal.get_untracked().trim().to_string(),
            prefix: prefix.get_untracked().trim().to_string(),
            ..template_input.clone()
        };
        if template.needs_principal() && input.principal.is_empty() {
            server_error.set(Some(
                "Enter a principal (a user ARN or an account id) for the template first.".into(),
            ));
            return None;
        }
        if template.needs_prefix() && input.prefix.trim_matches(['/', '*']).is_empty() {
            server_error.set(Some(
                "Enter the team's prefix (e.g. team-a) for the template first.".into(),
            ));
            return None;
        }
        server_error.set(None);
        Some(template.render(&input))
    };
    let render = render_template.clone();
    // A template replaces the draft only when that loses nothing, or when asked to.
    let apply_template = move |template: PolicyTemplate| {
        let Some(text) = render(template) else {
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
    let has_templates = !templates.is_empty();

    view! {
        <section class="card" data-testid="policy-editor">
            <h2>{format!("Edit {noun}")}</h2>
            <Show when=move || has_templates>
                <div class="toolbar">
                    <label class="inline">"Principal for templates"
                        <input data-testid="template-principal" bind:value=principal placeholder="arn:aws:iam::123456789012:user/ci"/>
                    </label>
                    {needs_prefix.then(|| view! {
                        <label class="inline">"Team prefix"
                            <input data-testid="template-prefix" bind:value=prefix placeholder="team-a"/>
                        </label>
                    })}
                </div>
            </Show>
            <div class="toolbar">
                {templates.iter().copied().map(|t| {
                    let apply = apply_template.clone();
                    view! { <button type="button" class="secondary" on:click=move |_| apply(t)>{t.label()}</button> }
                }).collect_view()}
            </div>
            <JsonEditor text=draft problems=problems warnings=warnings label="Policy JSON" testid="policy"/>
            <div class="actions">
                <button type="button" class="secondary" disabled=move || checked.with(|(p, _, _)| p.is_none())
                    on:click=move |_| draft.update(|d| *d = pretty(d))>"Format"</button>
                <button type="button" class="secondary" on:click=move |_| on_done.run(())>"Cancel"</button>
                <Show when=move || saved.with(Option::is_some)>
                    <button type="button" class="danger" on:click=move |_| confirm_delete.set(true)>"Delete policy"</button>
                </Show>
                <button type="button" class="primary" data-testid="save-policy"
                    disabled=move || checked.with(|(p, _, _)| p.is_none()) || save.pending().get()
                    on:click=move |_| { server_error.set(None); save.dispatch(Some(draft.get_untracked())); }>
                    {move || if save.pending().get() { "Saving…" } else { "Save policy" }}</button>
            </div>
            {move || server_error.get().map(|e| view! { <p class="error" role="alert" data-testid="policy-error">{e}</p> })}
            {move || checked.with(|(p, _, _)| p.is_some()).then(|| view! { <PolicySummary text=draft.get() kind=kind/> })}
            <h3>"Changes against the saved policy"</h3>
            <div class="diff" data-testid="policy-diff">
                {move || diff_lines(&saved.get().unwrap_or_default(), &draft.get()).into_iter().map(|line| match line {
                    DiffLine::Same(l) => view! { <span>{format!("  {l}\n")}</span> }.into_any(),
                    DiffLine::Added(l) => view! { <span class="add">{format!("+ {l}")}</span> }.into_any(),
                    DiffLine::Removed(l) => view! { <span class="del">{format!("- {l}")}</span> }.into_any(),
                }).collect_view()}
            </div>
        </section>
        <Show when=move || confirm_delete.get()>
            <ConfirmDelete title=format!("Delete the {noun}") confirm_word="delete" busy=save.pending()
                what=match kind {
                    PolicyKind::Repository => "Without a policy, only the registry's administrator can use this repository.",
                    PolicyKind::Registry => "Without a registry policy, only repository policies grant anything.",
                }
                on_confirm=Callback::new(move |_| { save.dispatch(None); })
                on_close=Callback::new(move |_| confirm_delete.set(false))/>
        </Show>
        {move || replace_with.get().map(|template| {
            let render = render_template.clone();
            view! {
                <Modal title="Replace your draft?" on_close=Callback::new(move |_| replace_with.set(None))>
                    <p>{format!("The template “{}” replaces the policy you are editing. Your unsaved changes are lost.", template.label())}</p>
                    <div class="actions">
                        <button type="button" class="secondary" on:click=move |_| replace_with.set(None)>"Keep my draft"</button>
                        <button type="button" class="primary" data-testid="replace-draft" on:click=move |_| {
                            if let Some(text) = render(template) { draft.set(text); }
                            replace_with.set(None);
                        }>"Replace"</button>
                    </div>
                </Modal>
            }
        })}
    }
}
