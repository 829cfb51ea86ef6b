//! Pieces every screen uses: toasts, copy buttons, dialogs, state panels.

use leptos::prelude::*;

pub mod paging;
pub mod push_commands;

/// A short message about the result of an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub id: u64,
    pub ok: bool,
    pub text: String,
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
    let Some(Toasts(list)) = TOASTS.with(|t| t.get()) else {
        return;
    };
    let id = js_sys::Date::now() as u64 ^ (js_sys::Math::random() * 1e9) as u64;
    list.update(|l| {
        l.push(Toast {
            id,
            ok,
            text: text.into(),
        })
    });
    set_timeout(
        move || list.update(|l| l.retain(|t| t.id != id)),
        std::time::Duration::from_secs(5),
    );
}

#[component]
pub fn ToastArea(toasts: Toasts) -> impl IntoView {
    let Toasts(list) = toasts;
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || list.get() key=|t| t.id let:toast>
                <div class=if toast.ok { "toast ok" } else { "toast bad" } data-testid="toast">{toast.text.clone()}</div>
            </For>
        </div>
    }
}

fn copy_text(text: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
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
            on:click=move |_| {
                copy_text(&text.get_untracked());
                notify(true, "Copied to the clipboard");
            }>
            "Copy"
        </button>
    }
}

/// A modal dialog; Escape or the close button calls `on_close`.
#[component]
pub fn Modal(
    #[prop(into)] title: String,
    on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    let label = title.clone();
    view! {
        <div class="backdrop" on:click=move |_| on_close.run(())>
            <div class="modal" role="dialog" aria-modal="true" aria-label=label
                on:click=|ev| ev.stop_propagation()
                on:keydown=move |ev| if ev.key() == "Escape" { on_close.run(()) }>
                <header>
                    <h2>{title}</h2>
                    <button type="button" class="icon" aria-label="Close" on:click=move |_| on_close.run(())>"✕"</button>
                </header>
                {children()}
            </div>
        </div>
    }
}

/// Deleting asks the person to type `confirm_word` first.
#[component]
pub fn ConfirmDelete(
    #[prop(into)] title: String,
    #[prop(into)] what: String,
    #[prop(into)] confirm_word: String,
    on_confirm: Callback<()>,
    on_close: Callback<()>,
    #[prop(optional)] children: Option<Children>,
    #[prop(into, optional)] busy: Signal<bool>,
) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let word = confirm_word.clone();
    let matches = move || typed.get().trim() == word;
    view! {
        <Modal title=title on_close=on_close>
            <p>{what}</p>
            {children.map(|c| c())}
            <label>{format!("To confirm, type \"{confirm_word}\"")}
                <input data-testid="confirm-input" bind:value=typed autocomplete="off"/>
            </label>
            <div class="actions">
                <button type="button" class="secondary" on:click=move |_| on_close.run(())>"Cancel"</button>
                <button type="button" class="danger" data-testid="confirm-delete"
                    disabled=move || !matches() || busy.get()
                    on:click=move |_| on_confirm.run(())>
                    {move || if busy.get() { "Deleting…" } else { "Delete" }}
                </button>
            </div>
        </Modal>
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

/// A sortable column header: clicking sorts by `column`, again flips the direction.
/// `first` is the direction a newly chosen column starts in.
pub fn sort_header<C>(
    label: &'static str,
    column: C,
    sort: RwSignal<(C, crate::table::Direction)>,
    first: crate::table::Direction,
) -> impl IntoView
where
    C: Copy + PartialEq + Send + Sync + 'static,
{
    let aria = move || {
        let (c, d) = sort.get();
        if c == column {
            d.aria()
        } else {
            "none"
        }
    };
    view! {
        <th aria-sort=aria>
            <button type="button" class="sort" on:click=move |_| sort.update(|(c, d)| {
                if *c == column { *d = d.flip() } else { *c = column; *d = first }
            })>{label}</button>
        </th>
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
