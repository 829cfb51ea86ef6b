//! The frame around every screen: a skip link, the top bar with the connection and
//! sign-out, and focus on the new page's heading after each navigation.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use wasm_bindgen::JsCast;

use crate::guard::SIGN_IN_PATH;
use crate::session::Session;

/// Moves focus to the page's main heading, so a screen reader announces the new
/// page and Tab continues from there. Waits (up to two seconds) for the heading of
/// a page still loading.
pub fn focus_heading() {
    fn attempt(left: u32) {
        let heading = document()
            .query_selector("main h1")
            .ok()
            .flatten()
            .and_then(|h| h.dyn_into::<web_sys::HtmlElement>().ok());
        match heading {
            Some(heading) => {
                if !heading.has_attribute("tabindex") {
                    let _ = heading.set_attribute("tabindex", "-1");
                }
                let _ = heading.focus();
            }
            None if left > 0 => set_timeout(
                move || attempt(left - 1),
                std::time::Duration::from_millis(50),
            ),
            None => {}
        }
    }
    request_animation_frame(|| attempt(40));
}

fn focus_main() {
    if let Some(main) = document()
        .get_element_by_id("main")
        .and_then(|m| m.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = main.focus();
    }
}

#[component]
pub fn Shell(children: Children) -> impl IntoView {
    let session = expect_context::<Session>();
    let navigate = use_navigate();
    let location = use_location();
    // After the first page, each new path gets its heading focused.
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|p| p != path) {
            focus_heading();
        }
        path
    });
    let sign_out = move |_| {
        session.sign_out();
        navigate(SIGN_IN_PATH, Default::default());
    };
    view! {
        <a class="skip-link" href="#main" on:click=|ev| { ev.prevent_default(); focus_main() }>"Skip to main content"</a>
        <header class="topbar">
            <a class="brand" href="/">"⚓ Berth"</a>
            <span class="spacer"></span>
            {move || session.connection().map(|c| view! {
                <span class="who" data-testid="connection" title=c.endpoint.clone()>
                    {c.kind.label()} " · " {c.endpoint.clone()} " · " {c.access_key_id.clone()}
                </span>
                <button type="button" class="link" data-testid="sign-out" on:click=sign_out.clone()>"Sign out"</button>
            })}
        </header>
        <main class="page" id="main" tabindex="-1">{children()}</main>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="state empty">
            <h1>"Page not found"</h1>
            <p><a href="/">"Go to the repositories"</a></p>
        </section>
    }
}
