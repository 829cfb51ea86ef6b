//! A lifecycle policy's preview: which images it would expire (or archive) and by
//! which rule, computed in the browser with the registry's own evaluator, and —
//! where the registry offers it — checked against the registry's own preview.

use berth_model::ecr::LifecyclePolicyPreviewResult;
use berth_model::lifecycle::{parse_lifecycle_policy, RuleAction};
use leptos::prelude::*;

use super::draft::{disagreement, preview_in_browser, BrowserPreview};
use crate::api::{self, ApiError};
use crate::format;
use crate::session::{Connection, RegistryKind};

type Outcome<T> = Option<Result<T, ApiError>>;

/// The two previews of one policy text: each button press runs both.
#[derive(Clone, Copy)]
pub struct Previews {
    pub browser: Action<String, Result<BrowserPreview, ApiError>>,
    pub registry: Action<String, Result<Vec<LifecyclePolicyPreviewResult>, ApiError>>,
    /// Whether the registry is asked too (Berth and AWS have the actions).
    pub cross_check: bool,
}

impl Previews {
    pub fn new(connection: Connection, repository: String) -> Previews {
        let (c, name) = (connection.clone(), repository.clone());
        let browser = Action::new_local(move |text: &String| {
            let (c, name, text) = (c.clone(), name.clone(), text.clone());
            async move {
                let policy = parse_lifecycle_policy(&text).map_err(|problems| {
                    ApiError::Decode(
                        problems
                            .first()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                    )
                })?;
                let images = api::all_images(&c, &name).await?;
                let now = js_sys::Date::now() / 1000.0;
                Ok(preview_in_browser(&policy, &images, now))
            }
        });
        let cross_check = matches!(connection.kind, RegistryKind::Berth | RegistryKind::Aws);
        let registry = Action::new_local(move |text: &String| {
            let (c, name, text) = (connection.clone(), repository.clone(), text.clone());
            async move { api::lifecycle_preview(&c, &name, &text).await }
        });
        Previews {
            browser,
            registry,
            cross_check,
        }
    }

    pub fn run(&self, text: String) {
        if self.cross_check {
            self.registry.dispatch(text.clone());
        }
        self.browser.dispatch(text);
    }

    pub fn started(&self) -> bool {
        self.browser.input().with(Option::is_some) || self.browser.value().with(Option::is_some)
    }
}

fn summary(preview: &BrowserPreview) -> String {
    let count = |action| preview.acted.iter().filter(|a| a.action == action).count();
    let (expiring, archiving) = (count(RuleAction::Expire), count(RuleAction::Transition));
    let of = format!(
        "of {} image{}",
        preview.images,
        if preview.images == 1 { "" } else { "s" }
    );
    let mut words = match expiring {
        0 => format!("No image {of} would expire"),
        1 => format!("1 {of} would expire"),
        n => format!("{n} {of} would expire"),
    };
    if archiving > 0 {
        words.push_str(&format!(
            ", {archiving} would be archived (Berth has no archive: a run leaves them)"
        ));
    }
    words + "."
}

#[component]
fn BrowserResult(preview: BrowserPreview) -> impl IntoView {
    let rows = preview.acted.clone();
    view! {
        <p data-testid="preview-summary">{summary(&preview)}</p>
        {(!rows.is_empty()).then(|| view! {
            <div class="table-wrap">
            <table class="list" data-testid="preview-table">
                <thead><tr><th>"Image"</th><th>"Pushed at"</th><th>"Last pulled"</th><th>"Rule"</th><th>"Action"</th></tr></thead>
                <tbody>{rows.into_iter().map(|a| view! {
                    <tr data-testid="preview-row">
                        <td>{if a.tags.is_empty() { "untagged".to_string() } else { a.tags.join(", ") }}
                            " "<code title=a.digest.clone()>{format::short_digest(&a.digest)}</code></td>
                        <td title=format::exact_time(a.pushed_at)>{format::local_time(a.pushed_at)}</td>
                        <td>{a.last_pulled_at.map(format::local_time).unwrap_or_else(|| "never".into())}</td>
                        <td>{a.rule_priority}</td>
                        <td>{a.action.label()}</td>
                    </tr>
                }).collect_view()}</tbody>
            </table>
            </div>
        })}
    }
}

/// What the registry's own preview says about the browser's.
fn cross_check_words(
    browser: &Outcome<BrowserPreview>,
    registry: &Outcome<Vec<LifecyclePolicyPreviewResult>>,
) -> (&'static str, String) {
    match (browser, registry) {
        (_, None) => (
            "hint",
            "Asking the registry for its own preview (StartLifecyclePolicyPreview)…".into(),
        ),
        (_, Some(Err(e))) => ("error", format!("The registry's own preview failed: {e}")),
        (None | Some(Err(_)), Some(Ok(_))) => ("hint", "The registry's own preview is in.".into()),
        (Some(Ok(ours)), Some(Ok(theirs))) => match disagreement(ours, theirs) {
            Some(words) => ("banner warn", words),
            None => (
                "banner ok",
                format!(
                    "The registry's own preview agrees: the same {} image{}, by the same rules.",
                    theirs.len(),
                    if theirs.len() == 1 { "" } else { "s" }
                ),
            ),
        },
    }
}

#[component]
pub fn PreviewPanel(previews: Previews) -> impl IntoView {
    let Previews {
        browser,
        registry,
        cross_check,
    } = previews;
    view! {
        <section class="card" data-testid="lifecycle-preview" aria-live="polite">
            <h2>"Preview"</h2>
            {move || match browser.value().get() {
                _ if browser.pending().get() => view! { <p class="hint">"Evaluating the policy over the repository's images…"</p> }.into_any(),
                Some(Ok(preview)) => view! { <BrowserResult preview=preview/> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{format!("The preview failed: {e}")}</p> }.into_any(),
                None => ().into_any(),
            }}
            {move || if cross_check {
                let words = if registry.pending().get() {
                    ("hint", "Asking the registry for its own preview (StartLifecyclePolicyPreview)…".to_string())
                } else {
                    cross_check_words(&browser.value().get(), &registry.value().get())
                };
                view! { <p class=words.0 data-testid="preview-cross-check">{words.1}</p> }.into_any()
            } else {
                view! { <p class="hint" data-testid="preview-cross-check">"Computed in the browser with the registry's own evaluator; this endpoint is not asked for a preview of its own."</p> }.into_any()
            }}
        </section>
    }
}
