//! What the signed-in key is known to be refused, learned from the registry's own
//! answers: a button whose action came back AccessDenied is disabled with the reason,
//! and enabled again once the same action succeeds (a policy may have changed).
//!
//! Answers arrive in async tasks, outside any reactive owner, so the set is reachable
//! from a thread-local (the browser runs the app on one thread), as the toasts are.

use std::collections::BTreeSet;

use berth_model::ecr::Action;
use leptos::prelude::*;

/// An action, and the repository it was refused on (`None`: everywhere).
type Refusal = (&'static str, Option<String>);

#[derive(Clone, Copy)]
struct Refusals(RwSignal<BTreeSet<Refusal>>);

thread_local! {
    static REFUSALS: std::cell::Cell<Option<Refusals>> = const { std::cell::Cell::new(None) };
}

/// Starts with nothing known; the App calls this once.
pub fn provide() {
    let refusals = Refusals(RwSignal::new(BTreeSet::new()));
    REFUSALS.with(|r| r.set(Some(refusals)));
}

/// Forgets what was learned: another key may be allowed more, or less.
pub fn forget() {
    if let Some(Refusals(set)) = refusals() {
        set.try_update(BTreeSet::clear);
    }
}

fn refusals() -> Option<Refusals> {
    REFUSALS.with(|r| r.get())
}

/// Actions not about one repository: a refusal holds whatever the name.
pub fn registry_wide(action: Action) -> bool {
    matches!(
        action,
        Action::CreateRepository | Action::DescribeRegistry | Action::GetAuthorizationToken
    )
}

fn key(action: Action, repository: Option<&str>) -> Refusal {
    let repository = (!registry_wide(action))
        .then(|| repository.map(str::to_string))
        .flatten();
    (action.name(), repository)
}

pub fn record(action: Action, repository: Option<&str>, refused: bool) {
    let Some(Refusals(set)) = refusals() else {
        return;
    };
    let key = key(action, repository);
    let known = set.try_with_untracked(|s| s.contains(&key)) == Some(true);
    if refused != known {
        set.try_update(|s| {
            if refused {
                s.insert(key);
            } else {
                s.remove(&key);
            }
        });
    }
}

/// Whether the key is known to be refused `action` on `repository` (reactive).
pub fn refused(action: Action, repository: Option<&str>) -> bool {
    let Some(Refusals(set)) = refusals() else {
        return false;
    };
    let key = key(action, repository);
    set.try_with(|s| s.contains(&key)).unwrap_or(false)
}

/// What an action lets a person do, in their words, on `repository` if known.
pub fn what(action: Action, repository: Option<&str>) -> String {
    let of = |text: &str| match repository {
        Some(r) => format!("{text} {r}"),
        None => format!("{text} this repository"),
    };
    match action {
        Action::CreateRepository => "create repositories".into(),
        Action::DescribeRepositories => match repository {
            Some(r) => format!("view repository {r}"),
            None => "list repositories".into(),
        },
        Action::DeleteRepository => of("delete repository"),
        Action::DescribeImages | Action::ListImages => of("list the images of"),
        Action::BatchGetImage => of("read image manifests (pull) in"),
        Action::BatchDeleteImage => of("delete images or tags in"),
        Action::PutImage => of("tag images (push) in"),
        Action::BatchCheckLayerAvailability => of("check layers in"),
        Action::GetDownloadUrlForLayer => of("download layers (pull) from"),
        Action::GetRepositoryPolicy => of("read the policy of"),
        Action::SetRepositoryPolicy => of("change the policy of"),
        Action::DeleteRepositoryPolicy => of("delete the policy of"),
        Action::GetAuthorizationToken => "log in with docker or podman".into(),
        Action::PutImageTagMutability => of("change tag immutability of"),
        Action::PutImageScanningConfiguration => of("change scan on push of"),
        Action::TagResource | Action::UntagResource => of("change the tags of"),
        Action::ListTagsForResource => of("read the tags of"),
        Action::DescribeRegistry => "read the registry's settings".into(),
        Action::PutLifecyclePolicy => of("change the lifecycle policy of"),
        Action::GetLifecyclePolicy => of("read the lifecycle policy of"),
        Action::DeleteLifecyclePolicy => of("delete the lifecycle policy of"),
        Action::StartLifecyclePolicyPreview | Action::GetLifecyclePolicyPreview => {
            of("preview the lifecycle policy of")
        }
        Action::InitiateLayerUpload | Action::UploadLayerPart | Action::CompleteLayerUpload => {
            of("upload layers (push) to")
        }
        Action::PutRegistryPolicy => "change the registry's policy".into(),
        Action::GetRegistryPolicy => "read the registry's policy".into(),
        Action::DeleteRegistryPolicy => "delete the registry's policy".into(),
        Action::PutRegistryScanningConfiguration => {
            "change the registry's scanning configuration".into()
        }
        Action::GetRegistryScanningConfiguration => {
            "read the registry's scanning configuration".into()
        }
        Action::BatchGetRepositoryScanningConfiguration => of("read the scanning configuration of"),
        Action::StartImageScan => of("scan images in"),
        Action::DescribeImageScanFindings => of("read scan findings in"),
    }
}

/// The IAM permission that allows `action`, e.g. `ecr:BatchDeleteImage`.
pub fn permission(action: Action) -> String {
    format!("ecr:{}", action.name())
}

/// Why a button is disabled, or `None` when nothing is known against it (reactive).
pub fn refusal_note(action: Action, repository: Option<&str>) -> Option<String> {
    refused(action, repository).then(|| {
        format!(
            "This key may not {} ({}).",
            what(action, repository),
            permission(action)
        )
    })
}
