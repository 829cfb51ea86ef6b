//! The frame around every screen: top bar with the connection and sign-out.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::session;
use crate::ConnectionSignal;

#[component]
pub fn Shell(children: Children) -> impl IntoView {
    let connection = expect_context::<ConnectionSignal>();
    let navigate = use_navigate();
    let sign_out = move |_| {
        session::clear();
        connection.set(None);
        navigate("/sign-in", Default::default());
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">"⚓ Berth"</a>
            <span class="spacer"></span>
            {move || connection.get().map(|c| view! {
                <span class="who" data-testid="connection" title=c.endpoint.clone()>
                    {c.kind.label()} " · " {c.endpoint.clone()} " · " {c.access_key_id.clone()}
                </span>
            })}
            <Show when=move || connection.with(Option::is_some)>
                <button class="link" data-testid="sign-out" on:click=sign_out.clone()>"Sign out"</button>
            </Show>
        </header>
        <main class="page">{children()}</main>
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
