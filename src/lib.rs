//! Berth's console: a Leptos single-page app that drives any ECR-compatible registry.

use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

pub mod access;
pub mod api;
pub mod components;
pub mod diff;
pub mod format;
pub mod guard;
pub mod html;
pub mod pages;
pub mod session;
pub mod table;
pub mod validate;

use guard::RequireSession;
use session::Session;

#[component]
pub fn App() -> impl IntoView {
    provide_context(Session::start());
    access::provide();
    components::push_commands::EngineChoice::provide();
    let toasts = components::provide_toasts();
    view! {
        <Router>
            <pages::shell::Shell>
                <Routes fallback=|| view! { <pages::shell::NotFound/> }>
                    <Route path=path!("/") view=|| view! {
                        <RequireSession><Redirect path=guard::HOME_PATH/></RequireSession>
                    }/>
                    <Route path=path!("/sign-in") view=pages::sign_in::SignIn/>
                    <Route path=path!("/repositories") view=|| view! {
                        <RequireSession><pages::repositories::RepositoryList/></RequireSession>
                    }/>
                    <Route path=path!("/create-repository") view=|| view! {
                        <RequireSession><pages::create_repository::CreateRepository/></RequireSession>
                    }/>
                    <Route path=path!("/repositories/*name") view=|| view! {
                        <RequireSession><pages::repository::RepositoryPage/></RequireSession>
                    }/>
                    <Route path=path!("/registry") view=|| view! {
                        <RequireSession><pages::registry::RegistryPage/></RequireSession>
                    }/>
                    <Route path=path!("/registry/permissions") view=|| view! {
                        <RequireSession><pages::registry_permissions::RegistryPermissionsPage/></RequireSession>
                    }/>
                    <Route path=path!("/images/*name") view=|| view! {
                        <RequireSession><pages::image::ImagePage/></RequireSession>
                    }/>
                </Routes>
            </pages::shell::Shell>
            <components::ToastArea toasts=toasts/>
        </Router>
    }
}
