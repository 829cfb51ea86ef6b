//! Pieces every screen uses: toasts, copy buttons, dialogs, tabs, list state, state panels.

use leptos::prelude::*;

pub mod copy;
pub mod list_query;
pub mod modal;
pub mod push_commands;
pub mod tabs;

pub use copy::CopyButton;
pub use modal::{ConfirmDelete, Modal};

/// A short message about the result of an action.
#[derive(Clone)]
pub struct Toast {
    pub id: u64,
    pub ok: bool,
    pub text: String,
    /// A button in the toast, e.g. "Undo".
    pub action: Option<(&'static str, Callback<()>)>,
}

/// The toasts on screen. Results arrive in async tasks, outside any reactive
/// owner, so the list is reachable from a thread-local rather than from context
/// (the browser runs the app on one thread).
#[derive(Clone, Copy)]
pub struct Toasts(pub RwSignal<Vec<Toast>>);

thread_local! {
    static TOASTS: std::cell::Cell<Option<Toasts>> = const { std::cell::Cell::new(None) };
}

/// Creates the toast list; the App calls this once.
pub fn provide_toasts() -> Toasts {
    let toasts = Toasts(RwSignal::new(Vec::new()));
    TOASTS.with(|t| t.set(Some(toasts)));
    toasts
}

/// Shows a toast for five seconds; does nothing where no toast area exists (component tests).
pub fn notify(ok: bool, text: impl Into<String>) {
    show(ok, text.into(), None, 5);
}

/// A toast with a button (e.g. "Undo"), shown for ten seconds.
pub fn notify_with_action(text: impl Into<String>, label: &'static str, action: Callback<()>) {
    show(true, text.into(), Some((label, action)), 10);
}

fn show(ok: bool, text: String, action: Option<(&'static str, Callback<()>)>, seconds: u64) {
    let Some(Toasts(list)) = TOASTS.with(|t| t.get()) else {
        return;
    };
    let id = js_sys::Date::now() as u64 ^ (js_sys::Math::random() * 1e9) as u64;
    list.try_update(|l| {
        l.push(Toast {
            id,
            ok,
            text,
            action,
        })
    });
    set_timeout(
        move || {
            list.try_update(|l| l.retain(|t| t.id != id));
        },
        std::time::Duration::from_secs(seconds),
    );
}

#[component]
pub fn ToastArea(toasts: Toasts) -> impl IntoView {
    let Toasts(list) = toasts;
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || list.get() key=|t| t.id let:toast>
                <div class=if toast.ok { "toast ok" } else { "toast bad" } data-testid="toast">
                    <span>{toast.text.clone()}</span>
                    {toast.action.map(|(label, run)| {
                        let id = toast.id;
                        view! {
                            <button type="button" class="toast-action" on:click=move |_| {
                                list.update(|l| l.retain(|t| t.id != id));
                                run.run(());
                            }>{label}</button>
                        }
                    })}
                </div>
            </For>
        </div>
    }
}

/// The panel shown when a load failed, with a retry button.
#[component]
pub fn LoadError(
    #[prop(into)] title: String,
    message: String,
    on_retry: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="state error" role="alert" data-testid="load-error">
            <h2>{title}</h2>
            <p>{message}</p>
            <button type="button" class="secondary" on:click=move |_| on_retry.run(())>"Try again"</button>
        </div>
    }
}

/// A skeleton the size of a table, so nothing jumps when data arrives.
#[component]
pub fn Loading(#[prop(into)] text: String) -> impl IntoView {
    view! {
        <div class="state loading" data-testid="loading" aria-busy="true">
            <p>{text}</p>
            <div class="skeleton"></div><div class="skeleton"></div><div class="skeleton"></div>
        </div>
    }
}

/// A `performance.mark` for benchmarks to read.
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// Marks `name` once the DOM built in this task is in place (next animation frame).
pub fn mark_after_render(name: &'static str) -> impl IntoView {
    request_animation_frame(move || mark(name));
}
