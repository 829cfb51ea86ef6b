//! Berth's console: a Leptos single-page app that drives any ECR-compatible registry.

use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

pub mod api;
pub mod components;
pub mod diff;
pub mod format;
pub mod pages;
pub mod session;
pub mod sigv4;
pub mod table;

use session::Connection;

/// The connection in force, shared by every screen; `None` until sign-in.
pub type ConnectionSignal = RwSignal<Option<Connection>>;

#[component]
pub fn App() -> impl IntoView {
    let connection: ConnectionSignal = RwSignal::new(session::load());
    provide_context(connection);
    let toasts = components::provide_toasts();
    view! {
        <Router>
            <pages::shell::Shell>
                <Routes fallback=|| view! { <pages::shell::NotFound/> }>
                    <Route path=path!("/") view=move || if connection.with(Option::is_some) {
                        view! { <Redirect path="/repositories"/> }
                    } else {
                        view! { <Redirect path="/sign-in"/> }
                    }/>
                    <Route path=path!("/sign-in") view=pages::sign_in::SignIn/>
                    <Route path=path!("/repositories") view=pages::repositories::RepositoryList/>
                    <Route path=path!("/create-repository") view=pages::create_repository::CreateRepository/>
                    <Route path=path!("/repositories/*name") view=pages::repository::RepositoryPage/>
                    <Route path=path!("/images/*name") view=pages::image::ImagePage/>
                </Routes>
            </pages::shell::Shell>
            <components::ToastArea toasts=toasts/>
        </Router>
    }
}
