//! The rules of a lifecycle policy: their list in priority order, and the form that
//! adds or changes one.

use berth_model::lifecycle::{describe_count, describe_images, CountType, Rule, RuleAction};
use leptos::prelude::*;

use super::draft::{put_rule, remove_rule, ImageChoice, RuleFields};
use crate::components::Modal;

/// The rules in priority order; with `draft`, each can be edited or deleted.
#[component]
pub fn RulesTable(
    rules: Vec<Rule>,
    /// The draft the buttons change (none: read only).
    #[prop(optional)]
    draft: Option<RwSignal<String>>,
    /// Opens the form on rule `index`.
    #[prop(optional)]
    on_edit: Option<Callback<usize>>,
) -> impl IntoView {
    let editable = draft.is_some();
    let all = rules.clone();
    view! {
        <div class="table-wrap">
        <table class="list" data-testid="lifecycle-rules">
            <thead><tr><th>"Priority"</th><th>"Description"</th><th>"Images"</th><th>"Acts on"</th><th>"Action"</th>
                {editable.then(|| view! { <th><span class="visually-hidden">"Change"</span></th> })}</tr></thead>
            <tbody>{rules.into_iter().enumerate().map(|(index, rule)| {
                let all = all.clone();
                let priority = rule.rule_priority;
                view! {
                    <tr data-testid="lifecycle-rule">
                        <td>{priority}</td>
                        <td>{rule.description.clone().unwrap_or_default()}</td>
                        <td>{describe_images(&rule.selection)}</td>
                        <td>{describe_count(&rule.selection)}</td>
                        <td>{rule.action.label()}</td>
                        {draft.map(|draft| view! {
                            <td class="row-actions">
                                <button type="button" class="secondary" aria-label=format!("Edit rule {priority}")
                                    on:click=move |_| if let Some(edit) = on_edit { edit.run(index) }>"Edit"</button>
                                <button type="button" class="secondary" aria-label=format!("Delete rule {priority}")
                                    on:click=move |_| draft.set(remove_rule(&all, index))>"Delete"</button>
                            </td>
                        })}
                    </tr>
                }
            }).collect_view()}</tbody>
        </table>
        </div>
    }
}

/// The rule form, in a dialog: `replacing` is the index of the rule it edits
/// (none: it adds one). "Save rule" puts the rule into `draft` when the model's
/// grammar takes the policy that makes, and otherwise lists its problems.
#[component]
pub fn RuleForm(
    rules: Vec<Rule>,
    replacing: Option<usize>,
    draft: RwSignal<String>,
    on_close: Callback<()>,
) -> impl IntoView {
    let start = match replacing.and_then(|i| rules.get(i)) {
        Some(rule) => RuleFields::of(rule),
        None => RuleFields::new(&rules),
    };
    let storage_class = start.storage_class;
    let priority = RwSignal::new(start.priority);
    let description = RwSignal::new(start.description);
    let images = RwSignal::new(start.images);
    let tags = RwSignal::new(start.tags);
    let count_type = RwSignal::new(start.count_type);
    let count_number = RwSignal::new(start.count_number);
    let action = RwSignal::new(start.action);
    let problems = RwSignal::new(Vec::<String>::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let fields = RuleFields {
            priority: priority.get_untracked(),
            description: description.get_untracked(),
            images: images.get_untracked(),
            tags: tags.get_untracked(),
            count_type: count_type.get_untracked(),
            count_number: count_number.get_untracked(),
            action: action.get_untracked(),
            storage_class,
        };
        match put_rule(&rules, replacing, &fields) {
            Ok(text) => {
                draft.set(text);
                on_close.run(());
            }
            Err(found) => problems.set(found.into_iter().map(|p| p.message).collect()),
        }
    };
    // sinceImageTransitioned selects archived images, which the form has no choice
    // for: it is offered only to a rule that already counts that way.
    let offered: Vec<CountType> = CountType::ALL
        .into_iter()
        .filter(|t| *t != CountType::SinceImageTransitioned || start.count_type == *t)
        .collect();
    let title = if replacing.is_some() {
        "Edit rule"
    } else {
        "Add rule"
    };
    view! {
        <Modal title=title on_close=on_close>
            <form class="rule-form" on:submit=submit data-testid="rule-form">
                <div class="row">
                    <label>"Rule priority"
                        <input type="number" min="1" inputmode="numeric" bind:value=priority/>
                    </label>
                    <label class="grow">"Description"
                        <input bind:value=description placeholder="Keep the last 30 releases"/>
                    </label>
                </div>
                <div class="row">
                    <label>"Image status"
                        <select on:change=move |ev| if let Some(c) = ImageChoice::from_id(&event_target_value(&ev)) { images.set(c) }>
                            {ImageChoice::ALL.into_iter().map(|c| view! {
                                <option value=c.id() selected=move || images.get() == c>{c.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <Show when=move || images.get().tagged()>
                        <label class="grow">"Tags to match (comma-separated)"
                            <input bind:value=tags placeholder=move || if images.get() == ImageChoice::TaggedPattern { "prod*, *-web" } else { "v, release-" }/>
                        </label>
                    </Show>
                </div>
                <div class="row">
                    <label>"Match criteria"
                        <select on:change=move |ev| if let Some(t) = CountType::parse(&event_target_value(&ev)) { count_type.set(t) }>
                            {offered.into_iter().map(|t| view! {
                                <option value=t.as_str() selected=move || count_type.get() == t>{t.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Count number"
                        <input type="number" min="1" inputmode="numeric" bind:value=count_number/>
                    </label>
                    <p class="unit">{move || if count_type.get().counts_days() { "days" } else { "images" }}</p>
                    <label>"Action"
                        <select on:change=move |ev| if let Some(a) = RuleAction::parse(&event_target_value(&ev)) { action.set(a) }>
                            {RuleAction::ALL.into_iter().map(|a| view! {
                                <option value=a.as_str() selected=move || action.get() == a>{a.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </div>
                <ul class="problems" data-testid="rule-problems" role="alert">
                    {move || problems.get().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
                </ul>
                <div class="actions">
                    <button type="button" class="secondary" on:click=move |_| on_close.run(())>"Cancel"</button>
                    <button type="submit" class="primary">"Save rule"</button>
                </div>
            </form>
        </Modal>
    }
}
