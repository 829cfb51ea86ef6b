//! The JSON editor of every policy screen (repository, registry and lifecycle
//! policies): a text area with line numbers, each problem pinned to its line with
//! the model's structured positions, and warnings shown beside them without
//! blocking anything.

use berth_model::problem::Problem;
use leptos::prelude::*;

/// Something to say about a line of the document (`None`: the whole document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub line: Option<usize>,
    pub text: String,
}

impl Note {
    pub fn whole(text: impl Into<String>) -> Note {
        Note {
            line: None,
            text: text.into(),
        }
    }
}

impl From<&Problem> for Note {
    fn from(problem: &Problem) -> Note {
        Note {
            line: Some(problem.position.line),
            text: problem.to_string(),
        }
    }
}

/// Notes for a list of the model's problems.
pub fn notes(problems: &[Problem]) -> Vec<Note> {
    problems.iter().map(Note::from).collect()
}

/// `text` pretty-printed when it is JSON, else as it is.
pub fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

fn note_items(notes: Vec<Note>, prefix: &'static str) -> impl IntoView {
    notes
        .into_iter()
        .map(|n| {
            let line = n.line.map(|l| format!("Line {l}: ")).unwrap_or_default();
            view! { <li>{line}{prefix}{n.text}</li> }
        })
        .collect_view()
}

/// `{testid}-text` is the text area, `{testid}-problems` and `{testid}-warnings`
/// the lists under it.
#[component]
pub fn JsonEditor(
    text: RwSignal<String>,
    /// What stops the document from being saved.
    #[prop(into)]
    problems: Signal<Vec<Note>>,
    /// What is probably not meant but is accepted (duplicate Sids, …).
    #[prop(into)]
    warnings: Signal<Vec<Note>>,
    #[prop(into)] label: String,
    testid: &'static str,
) -> impl IntoView {
    let gutter = move || {
        let (bad, odd): (Vec<usize>, Vec<usize>) = (
            problems.with(|p| p.iter().filter_map(|n| n.line).collect()),
            warnings.with(|w| w.iter().filter_map(|n| n.line).collect()),
        );
        (1..=text.with(|d| d.lines().count().max(1)))
            .map(|n| {
                let class = if bad.contains(&n) {
                    "bad"
                } else if odd.contains(&n) {
                    "warn"
                } else {
                    ""
                };
                view! { <span class=class>{n.to_string()}"\n"</span> }
            })
            .collect_view()
    };
    view! {
        <div class="editor">
            <div class="gutter" aria-hidden="true">{gutter}</div>
            <textarea aria-label=label data-testid=format!("{testid}-text") spellcheck="false"
                prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
        </div>
        <ul class="problems" data-testid=format!("{testid}-problems") aria-live="polite">
            {move || note_items(problems.get(), "")}
        </ul>
        <ul class="problems warnings" data-testid=format!("{testid}-warnings") aria-live="polite">
            {move || note_items(warnings.get(), "Warning: ")}
        </ul>
    }
}
