//! "Who can do what?": the registry's own decision (`berth_model::policy::authorize`)
//! over the registry policy and a repository's policy, for a principal and an
//! action, with the saved policies and with the draft being edited.

use berth_model::ecr::repository_arn;
use berth_model::policy::{
    authorize, parse_policy, parse_registry_policy, root_arn, Answer, Policy, Request, Resource,
    ECR_ACTIONS, PULL_ACTIONS, PUSH_ACTIONS, REGISTRY_ACTIONS,
};
use leptos::prelude::*;

const CREATE: &str = "ecr:CreateRepository";

/// What a simulation decides over: the registry, the repository, and the two
/// policies (`None` where there is none).
pub struct Scene<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub repository: &'a str,
    pub registry_policy: Option<&'a Policy>,
    pub repository_policy: Option<&'a Policy>,
}

/// The ECR actions a choice of the simulator stands for.
fn actions(choice: &str) -> Vec<&str> {
    match choice {
        "pull" => PULL_ACTIONS.to_vec(),
        "push" => PUSH_ACTIONS.to_vec(),
        other => vec![other],
    }
}

/// The simulator's answer: whether `principal` may do `choice` ("pull", "push",
/// or an `ecr:` action), and why, in words. Each action is decided as the
/// registry decides it: registry-level actions on `*` by the registry policy
/// alone; CreateRepository on the new repository's ARN without a repository
/// policy (none exists yet); everything else on the repository's ARN by both.
pub fn simulate(scene: &Scene<'_>, principal: &str, choice: &str) -> (bool, String) {
    let arn = repository_arn(scene.region, scene.account_id, scene.repository);
    let caller_is_root = principal == root_arn(scene.account_id);
    let mut reasons: Vec<String> = Vec::new();
    for action in actions(choice) {
        let registry_level = REGISTRY_ACTIONS.contains(&action);
        let request = Request {
            principal_arn: principal,
            action,
            resource: if registry_level {
                Resource::Registry
            } else {
                Resource::Repository(&arn)
            },
        };
        let repository_policy = scene
            .repository_policy
            .filter(|_| !registry_level && action != CREATE);
        let reason = match authorize(
            &request,
            caller_is_root,
            scene.registry_policy,
            repository_policy,
        ) {
            Answer::Denied { by } => {
                return (false, format!("Denied: {} denies {action}.", by.describe()))
            }
            Answer::NotAllowed if scene.registry_policy.or(repository_policy).is_none() => {
                return (
                    false,
                    format!("Denied: no policy applies to {action}, so only the account's administrator may do it."),
                )
            }
            Answer::NotAllowed => {
                return (false, format!("Denied: no statement allows {action}."))
            }
            Answer::Allowed { by } => format!("by {}", by.describe()),
            Answer::Root => ": the account root acts by identity".to_string(),
            Answer::RootKeeps { denied_by } => format!(
                ": {} denies {action}, but the account root always keeps it",
                denied_by.describe()
            ),
            Answer::NeedsNoAllow => format!(": {action} needs no Allow, only no Deny"),
        };
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    let joined = reasons.join(" and ");
    let space = if joined.starts_with(':') { "" } else { " " };
    (true, format!("Allowed{space}{joined}."))
}

/// A policy pair as text: (registry policy, repository policy).
pub type PolicyTexts = (Option<String>, Option<String>);

/// Parses both texts; `Err` says which one does not parse.
fn parse_both(texts: &PolicyTexts) -> Result<(Option<Policy>, Option<Policy>), String> {
    let registry = match &texts.0 {
        Some(text) => Some(
            parse_registry_policy(text)
                .map_err(|_| "The registry policy has problems: fix them to simulate it.")?,
        ),
        None => None,
    };
    let repository = match &texts.1 {
        Some(text) => Some(
            parse_policy(text)
                .map_err(|_| "The repository policy has problems: fix them to simulate it.")?,
        ),
        None => None,
    };
    Ok((registry, repository))
}

/// The simulator: a principal and an action (and whatever `children` add, such as
/// a repository to choose), then the saved policies' answer and, while a draft is
/// edited, the draft's.
#[component]
pub fn Simulator(
    account_id: String,
    region: String,
    /// The repository the request is about.
    #[prop(into)]
    repository: Signal<String>,
    #[prop(into)] saved: Signal<PolicyTexts>,
    /// The saved pair with the draft in place of its policy, while one is edited.
    #[prop(into)]
    draft: Signal<Option<PolicyTexts>>,
    /// Said under the answers (e.g. a policy that could not be read).
    #[prop(into, optional)]
    note: Signal<Option<String>>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let principal = RwSignal::new(String::new());
    let action = RwSignal::new("pull".to_string());
    let verdict = move |texts: PolicyTexts| match parse_both(&texts) {
        Err(words) => (false, words),
        Ok((registry, repository_policy)) => repository.with(|name| {
            simulate(
                &Scene {
                    account_id: &account_id,
                    region: &region,
                    repository: name,
                    registry_policy: registry.as_ref(),
                    repository_policy: repository_policy.as_ref(),
                },
                principal.get().trim(),
                &action.get(),
            )
        }),
    };
    let show = move |label: &'static str, testid: &'static str, result: (bool, String)| {
        view! {
            <p class=if result.0 { "verdict allowed" } else { "verdict denied" } data-testid=testid>
                {label}": "{result.1}
            </p>
        }
    };
    let draft_verdict = verdict.clone();
    view! {
        <section class="card" data-testid="simulator">
            <h2>"Who can do what?"</h2>
            <div class="toolbar">
                <label class="inline">"Principal ARN"
                    <input data-testid="sim-principal" bind:value=principal placeholder="arn:aws:iam::123456789012:user/ci"/>
                </label>
                {children.map(|c| c())}
                <label class="inline">"Action"
                    <select data-testid="sim-action" on:change=move |ev| action.set(event_target_value(&ev))>
                        <option value="pull">"Pull (docker pull)"</option>
                        <option value="push">"Push (docker push)"</option>
                        <option value=CREATE>"Create the repository"</option>
                        {ECR_ACTIONS.iter().map(|a| view! { <option value=format!("ecr:{a}")>{format!("ecr:{a}")}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            <Show when=move || !principal.get().trim().is_empty()>
                {let verdict = verdict.clone(); move || show("Saved policy", "sim-saved", verdict(saved.get()))}
                {let verdict = draft_verdict.clone(); move || draft.get().map(|texts| show("Draft", "sim-draft", verdict(texts)))}
            </Show>
            {move || note.get().map(|n| view! { <p class="hint" data-testid="sim-note">{n}</p> })}
        </section>
    }
}
