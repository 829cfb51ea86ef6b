//! Tabs as WAI-ARIA describes them: one tab stop for the list (the selected tab),
//! arrow keys, Home and End move between tabs and select them.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// One tab: its value, its element id, its label, and the panel it controls.
#[derive(Clone)]
pub struct TabSpec<T> {
    pub value: T,
    pub id: String,
    pub label: &'static str,
    /// The id of the panel it controls.
    pub panel: String,
}

/// A tab list over `tabs`; `selected` is the current tab, `select` chooses one.
#[component]
pub fn TabList<T>(
    tabs: Vec<TabSpec<T>>,
    #[prop(into)] selected: Signal<T>,
    select: Callback<T>,
    #[prop(into)] label: String,
) -> impl IntoView
where
    T: Copy + PartialEq + Send + Sync + 'static,
{
    let order: Vec<(T, String)> = tabs.iter().map(|t| (t.value, t.id.clone())).collect();
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let Some(position) = order
            .iter()
            .position(|(v, _)| *v == selected.get_untracked())
        else {
            return;
        };
        let last = order.len() - 1;
        let target = match ev.key().as_str() {
            "ArrowRight" | "ArrowDown" => {
                if position == last {
                    0
                } else {
                    position + 1
                }
            }
            "ArrowLeft" | "ArrowUp" => {
                if position == 0 {
                    last
                } else {
                    position - 1
                }
            }
            "Home" => 0,
            "End" => last,
            _ => return,
        };
        ev.prevent_default();
        let (value, id) = &order[target];
        select.run(*value);
        if let Some(tab) = document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = tab.focus();
        }
    };
    view! {
        <div class="tabs" role="tablist" aria-label=label on:keydown=on_keydown>
            {tabs.into_iter().map(|tab| {
                let value = tab.value;
                let is_selected = move || selected.get() == value;
                view! {
                    <button type="button" role="tab" class="tab" id=tab.id aria-controls=tab.panel
                        aria-selected=move || is_selected().to_string()
                        tabindex=move || if is_selected() { "0" } else { "-1" }
                        on:click=move |_| select.run(value)>{tab.label}</button>
                }
            }).collect_view()}
        </div>
    }
}
