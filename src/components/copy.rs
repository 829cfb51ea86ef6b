//! Copy buttons that say "Copied" only when the text reached the clipboard.
//!
//! The Clipboard API exists only in secure contexts (HTTPS, localhost); a team's
//! registry on a plain-HTTP internal hostname has none. There the text is selected
//! in a hidden field and copied with `execCommand('copy')`, which still works from
//! a click.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::notify;

/// The Clipboard API, where this page has one.
fn clipboard() -> Option<web_sys::Clipboard> {
    let window = web_sys::window()?;
    if !window.is_secure_context() {
        return None;
    }
    let navigator = window.navigator();
    let clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into()).ok()?;
    (!clipboard.is_undefined() && !clipboard.is_null()).then(|| clipboard.unchecked_into())
}

/// Selects `text` in a hidden field next to `near` (inside an open modal dialog the
/// rest of the page is inert) and copies it.
fn copy_by_selection(text: &str, near: Option<&web_sys::Element>) -> bool {
    let document = document();
    let Ok(field) = document.create_element("textarea") else {
        return false;
    };
    let field: web_sys::HtmlTextAreaElement = field.unchecked_into();
    field.set_value(text);
    let _ = field.set_attribute("readonly", "");
    let _ = field.set_attribute("aria-hidden", "true");
    let _ = field.set_attribute("class", "copy-buffer");
    let parent = near
        .and_then(|n| n.parent_element())
        .or_else(|| document.body().map(|b| b.unchecked_into()));
    let Some(parent) = parent else {
        return false;
    };
    let previous = document.active_element();
    if parent.append_child(&field).is_err() {
        return false;
    }
    field.select();
    let copied = document
        .dyn_ref::<web_sys::HtmlDocument>()
        .and_then(|d| d.exec_command("copy").ok())
        .unwrap_or(false);
    field.remove();
    if let Some(previous) = previous.and_then(|p| p.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = previous.focus();
    }
    copied
}

/// Copies `text`; true only if it was copied.
pub async fn copy_text(text: String, near: Option<web_sys::Element>) -> bool {
    if let Some(clipboard) = clipboard() {
        if wasm_bindgen_futures::JsFuture::from(clipboard.write_text(&text))
            .await
            .is_ok()
        {
            return true;
        }
    }
    copy_by_selection(&text, near.as_ref())
}

/// Copies `text` (clicked from `near`) and says whether it was copied.
pub fn copy_and_tell(text: String, near: Option<web_sys::Element>) {
    leptos::task::spawn_local(async move {
        if copy_text(text, near).await {
            notify(true, "Copied");
        } else {
            notify(
                false,
                "Could not copy: select the text and press Ctrl+C (⌘C on a Mac).",
            );
        }
    });
}

/// A button that copies `text`; `label` names what is copied, for people and tests.
#[component]
pub fn CopyButton(
    #[prop(into)] text: Signal<String>,
    #[prop(into)] label: String,
) -> impl IntoView {
    let name = format!("Copy {label}");
    view! {
        <button type="button" class="copy" aria-label=name.clone() title=name data-copy=move || text.get()
            on:click=move |ev| {
                let near = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
                copy_and_tell(text.get_untracked(), near);
            }>
            "Copy"
        </button>
    }
}
