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
                    <Route path=path!("/repositories") view=|| screen(repositories_screen)/>
                    <Route path=path!("/create-repository") view=|| screen(create_repository_screen)/>
                    <Route path=path!("/repositories/*name") view=|| screen(repository_screen)/>
                    <Route path=path!("/registry") view=|| screen(registry_screen)/>
                    <Route path=path!("/registry/permissions") view=|| screen(registry_permissions_screen)/>
                    <Route path=path!("/images/*name") view=|| screen(image_screen)/>
                </Routes>
            </pages::shell::Shell>
            <components::ToastArea toasts=toasts/>
        </Router>
    }
}

/// A screen behind sign-in: the guard and "Loading…" at once, the screen's own code
/// when it has arrived. Built with the `split` feature (Trunk's builds, see
/// index.html), `#[lazy]` marks that code for `xtask split`, which cuts it out of
/// the first download; without it (tests) the same code is built in. No
/// `<Suspense>` around it: the screens read resources of their own, and a Suspense
/// would put the whole screen back to its fallback whenever one reloads.
fn screen<F>(load: fn() -> F) -> impl IntoView
where
    F: std::future::Future<Output = AnyView> + Send + 'static,
{
    let arrived = RwSignal::new(false);
    view! {
        <RequireSession>
            <Show when=move || !arrived.get()>
                <components::Loading text="Loading…"/>
            </Show>
            {Suspend::new(async move {
                let screen = load().await;
                arrived.set(true);
                screen
            })}
        </RequireSession>
    }
}

macro_rules! screens {
    ($($load:ident => $page:path),* $(,)?) => {
        $(
            #[cfg_attr(feature = "split", leptos::lazy)]
            async fn $load() -> AnyView {
                view! { <$page/> }.into_any()
            }
        )*
    };
}

screens! {
    repositories_screen => pages::repositories::RepositoryList,
    create_repository_screen => pages::create_repository::CreateRepository,
    repository_screen => pages::repository::RepositoryPage,
    registry_screen => pages::registry::RegistryPage,
    registry_permissions_screen => pages::registry_permissions::RegistryPermissionsPage,
    image_screen => pages::image::ImagePage,
}
