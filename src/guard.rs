//! The one route guard: a screen that needs a session renders only when there is
//! one; otherwise the person goes to sign-in, which brings them back to the link
//! they opened.

use leptos::context::Provider;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

use crate::components::Loading;
use crate::session::{Session, SessionState};

pub const SIGN_IN_PATH: &str = "/sign-in";
/// Where a person lands after sign-in when no link brought them.
pub const HOME_PATH: &str = "/repositories";

/// `next` if it is a path of this console, else `None`: a sign-in link must never
/// send anyone to another site (`//evil.example`, `/\evil.example`, `https://…`,
/// or whitespace the URL parser drops to make one of those).
pub fn safe_next(next: &str) -> Option<&str> {
    let mut chars = next.chars();
    let same_origin_path = chars.next() == Some('/') && !matches!(chars.next(), Some('/' | '\\'));
    let plain = !next
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    let not_sign_in = next
        .strip_prefix(SIGN_IN_PATH)
        .is_none_or(|rest| !(rest.is_empty() || rest.starts_with(['?', '/', '#'])));
    (same_origin_path && plain && not_sign_in).then_some(next)
}

/// The sign-in link that comes back to `path` (path, query and fragment).
pub fn sign_in_href(path: &str) -> String {
    match safe_next(path) {
        Some(next) if next != "/" => format!(
            "{SIGN_IN_PATH}?next={}",
            String::from(js_sys::encode_uri_component(next))
        ),
        _ => SIGN_IN_PATH.to_string(),
    }
}

/// Renders `children` with the signed-in [`Connection`](crate::session::Connection)
/// in context; without a session, sends the person to sign-in with this page as `next`.
#[component]
pub fn RequireSession(children: ChildrenFn) -> impl IntoView {
    let session = expect_context::<Session>();
    let location = use_location();
    let navigate = use_navigate();
    let checking = Memo::new(move |_| session.state.with(|s| *s == SessionState::Checking));
    let connection = Memo::new(move |_| session.connection());
    Effect::new(move |_| {
        if session.state.with(|s| *s == SessionState::SignedOut) {
            let here = format!(
                "{}{}{}",
                location.pathname.get_untracked(),
                location.search.with_untracked(|s| if s.is_empty() {
                    String::new()
                } else {
                    format!("?{s}")
                }),
                location.hash.get_untracked()
            );
            navigate(
                &sign_in_href(&here),
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
    move || match (checking.get(), connection.get()) {
        (true, _) => {
            view! { <Loading text="Looking for your session in another tab…"/> }.into_any()
        }
        (false, Some(connection)) => {
            let children = children.clone();
            view! { <Provider value=connection>{children()}</Provider> }.into_any()
        }
        (false, None) => view! { <Loading text="Taking you to sign-in…"/> }.into_any(),
    }
}
