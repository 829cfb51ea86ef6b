//! Dialogs on the native `<dialog>` with `showModal()`: the browser keeps focus and
//! Tab inside, makes the page behind inert, and Escape closes. Focus goes back to
//! what opened the dialog when it closes.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// The element focused now (what opened a dialog).
fn focused() -> Option<web_sys::HtmlElement> {
    document()
        .active_element()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
}

/// Puts focus back on `opener`, or on the page's heading when the opener is gone
/// (a deleted row's button) or disabled (nothing left selected to delete).
fn restore_focus(opener: Option<web_sys::HtmlElement>) {
    match opener.filter(|o| o.is_connected() && !o.matches(":disabled").unwrap_or(false)) {
        Some(opener) => {
            let _ = opener.focus();
        }
        None => crate::pages::shell::focus_heading(),
    }
}

const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

/// Tab from the last control goes to the first, Shift+Tab from the first to the
/// last: a modal dialog alone would let focus out to the browser's own controls.
fn keep_tab_inside(dialog: &web_sys::HtmlDialogElement, ev: &leptos::ev::KeyboardEvent) {
    if ev.key() != "Tab" {
        return;
    }
    let Ok(list) = dialog.query_selector_all(FOCUSABLE) else {
        return;
    };
    let controls: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .filter(|e| e.get_client_rects().length() > 0)
        .collect();
    let (Some(first), Some(last)) = (controls.first(), controls.last()) else {
        return;
    };
    let active = document().active_element();
    let at = |e: &web_sys::HtmlElement| {
        active
            .as_ref()
            .is_some_and(|a| a == e.unchecked_ref::<web_sys::Element>())
    };
    let target = if ev.shift_key() && at(first) {
        last
    } else if !ev.shift_key() && at(last) {
        first
    } else {
        return;
    };
    ev.prevent_default();
    let _ = target.focus();
}

/// A modal dialog. Escape, a click on the backdrop or the close button call `on_close`.
#[component]
pub fn Modal(
    #[prop(into)] title: String,
    on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let opener = StoredValue::new_local(focused());
    let element = StoredValue::new_local(None::<web_sys::HtmlDialogElement>);
    // Closing from here (unmount) must not report back as a close by the person.
    let closing = StoredValue::new(false);
    dialog.on_load(move |d| {
        let d: web_sys::HtmlDialogElement = d;
        let _ = d.show_modal();
        element.set_value(Some(d));
    });
    on_cleanup(move || {
        closing.set_value(true);
        let dialog = element.try_with_value(|d| d.clone()).flatten();
        if let Some(dialog) = dialog {
            dialog.close();
        }
        let opener = opener.try_with_value(|o| o.clone()).flatten();
        // After this render: the opener may only now be reachable again.
        request_animation_frame(move || restore_focus(opener));
    });
    let title_id = format!("dialog-title-{}", js_sys::Math::random().to_bits());
    let labelled_by = title_id.clone();
    view! {
        <dialog class="modal" node_ref=dialog aria-labelledby=labelled_by
            on:cancel=move |ev: leptos::ev::Event| { ev.prevent_default(); on_close.run(()) }
            on:keydown=move |ev| element.with_value(|d| if let Some(d) = d { keep_tab_inside(d, &ev) })
            on:close=move |_| if !closing.get_value() { on_close.run(()) }
            // A click on the dialog element itself is a click on its backdrop.
            on:click=move |ev| {
                let on_backdrop = ev.target().zip(element.with_value(|d| d.clone()))
                    .is_some_and(|(t, d)| t == d.unchecked_into::<web_sys::EventTarget>());
                if on_backdrop { on_close.run(()) }
            }>
            <div class="modal-body">
                <header>
                    <h2 id=title_id>{title}</h2>
                    <button type="button" class="icon" aria-label="Close" on:click=move |_| on_close.run(())>"✕"</button>
                </header>
                {children()}
            </div>
        </dialog>
    }
}

/// Deleting asks the person to type `confirm_word` first; Enter in the field confirms.
#[component]
pub fn ConfirmDelete(
    #[prop(into)] title: String,
    #[prop(into)] what: String,
    #[prop(into)] confirm_word: String,
    on_confirm: Callback<()>,
    on_close: Callback<()>,
    #[prop(optional)] children: Option<Children>,
    #[prop(into, optional)] busy: Signal<bool>,
    /// The confirm button's label (default "Delete").
    #[prop(into, optional)]
    action_label: Option<String>,
) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let word = confirm_word.clone();
    let matches = Memo::new(move |_| typed.get().trim() == word);
    let label = action_label.unwrap_or_else(|| "Delete".into());
    let busy_label = format!("{}ing…", label.strip_suffix('e').unwrap_or(&label));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if matches.get_untracked() && !busy.get_untracked() {
            on_confirm.run(());
        }
    };
    view! {
        <Modal title=title on_close=on_close>
            <form on:submit=submit data-testid="confirm-form">
                <p>{what}</p>
                {children.map(|c| c())}
                <label>{format!("To confirm, type \"{confirm_word}\"")}
                    <input data-testid="confirm-input" bind:value=typed autocomplete="off" autofocus spellcheck="false"/>
                </label>
                <div class="actions">
                    <button type="button" class="secondary" on:click=move |_| on_close.run(())>"Cancel"</button>
                    <button type="submit" class="danger" data-testid="confirm-delete"
                        disabled=move || !matches.get() || busy.get()>
                        {move || if busy.get() { busy_label.clone() } else { label.clone() }}
                    </button>
                </div>
            </form>
        </Modal>
    }
}
