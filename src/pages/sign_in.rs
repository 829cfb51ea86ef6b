//! Sign-in: which registry, and which access key; then back to the link that
//! brought the person here (`?next=`), if it is a page of this console.

use berth_model::ecr::{
    Action as EcrAction, DescribeRepositoriesRequest, DescribeRepositoriesResponse,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use crate::api::{self, ApiError};
use crate::guard::{safe_next, HOME_PATH};
use crate::session::{self, Connection, RegistryKind, Session};
use crate::validate::check_endpoint;

const DEFAULT_REGION: &str = "us-east-1";

/// Where a Berth registry most likely is: the page's own origin when the registry
/// serves the console (`serve --console`), else the dev registry beside `trunk serve`.
fn default_endpoint() -> String {
    let location = web_sys::window().map(|w| w.location());
    let origin = location
        .as_ref()
        .and_then(|l| l.origin().ok())
        .unwrap_or_default();
    let port = location
        .as_ref()
        .and_then(|l| l.port().ok())
        .unwrap_or_default();
    let hostname = location
        .as_ref()
        .and_then(|l| l.hostname().ok())
        .unwrap_or_else(|| "127.0.0.1".into());
    if port == "8080" || origin.is_empty() {
        format!("http://{hostname}:5000")
    } else {
        origin
    }
}

#[component]
pub fn SignIn() -> impl IntoView {
    let session = expect_context::<Session>();
    let navigate = use_navigate();
    let query = use_query_map();
    let next = move || {
        query
            .with_untracked(|q| q.get("next"))
            .and_then(|n| safe_next(&n).map(str::to_string))
            .unwrap_or_else(|| HOME_PATH.to_string())
    };
    let previous = session.connection_untracked();
    let kind = RwSignal::new(
        previous
            .as_ref()
            .map(|c| c.kind)
            .unwrap_or(RegistryKind::Berth),
    );
    let endpoint = RwSignal::new(
        previous
            .as_ref()
            .map(|c| c.endpoint.clone())
            .unwrap_or_else(default_endpoint),
    );
    let region = RwSignal::new(
        previous
            .as_ref()
            .map(|c| c.region.clone())
            .unwrap_or_else(|| DEFAULT_REGION.into()),
    );
    let access_key_id = RwSignal::new(String::new());
    let secret_access_key = RwSignal::new(String::new());
    let session_token = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let remember = RwSignal::new(session::remembered());

    let check = Action::new_local(move |candidate: &Connection| {
        let candidate = candidate.clone();
        async move {
            // The cheapest signed call tells whether endpoint, key and secret all work.
            let probe = DescribeRepositoriesRequest {
                max_results: Some(1),
                ..Default::default()
            };
            match api::call::<_, DescribeRepositoriesResponse>(
                &candidate,
                EcrAction::DescribeRepositories,
                &probe,
            )
            .await
            {
                Ok(_) | Err(ApiError::AccessDenied { .. }) => Ok(candidate),
                Err(error) => Err(error),
            }
        }
    });
    Effect::new(move |_| match check.value().get() {
        Some(Ok(candidate)) => {
            session.sign_in(candidate, remember.get_untracked());
            navigate(
                &next(),
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
        Some(Err(error)) => problem.set(Some(error.to_string())),
        None => {}
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        problem.set(None);
        let kind_now = kind.get();
        let endpoint_now = match kind_now {
            RegistryKind::Aws => Connection::aws_endpoint(region.get().trim()),
            _ => endpoint.get().trim().trim_end_matches('/').to_string(),
        };
        let missing = [
            (endpoint_now.is_empty(), "the endpoint URL"),
            (region.get().trim().is_empty(), "the region"),
            (access_key_id.get().trim().is_empty(), "the access key id"),
            (secret_access_key.get().is_empty(), "the secret access key"),
        ];
        if let Some((_, what)) = missing.iter().find(|(empty, _)| *empty) {
            problem.set(Some(format!("Enter {what}.")));
            return;
        }
        if let Err(message) = check_endpoint(&endpoint_now) {
            problem.set(Some(message));
            return;
        }
        let token = session_token.get().trim().to_string();
        check.dispatch(Connection {
            kind: kind_now,
            endpoint: endpoint_now,
            region: region.get().trim().to_string(),
            access_key_id: access_key_id.get().trim().to_string(),
            secret_access_key: secret_access_key.get(),
            session_token: (!token.is_empty()).then_some(token),
        });
    };

    view! {
        <section class="card sign-in">
            <h1>"Sign in to a registry"</h1>
            <p class="hint">"Berth signs every request in your browser. Credentials stay in this tab's session storage (other tabs of this console may ask for them) and are forgotten when you sign out or close the last tab."</p>
            <form on:submit=submit data-testid="sign-in-form" novalidate>
                <label>"Registry"
                    <select data-testid="kind" on:change=move |ev| kind.set(RegistryKind::from_id(&event_target_value(&ev)))>
                        {RegistryKind::ALL.into_iter().map(|k| view! {
                            <option value=k.id() selected=move || kind.get() == k>{k.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <Show when=move || kind.get() != RegistryKind::Aws>
                    <label>"Endpoint URL"
                        <input data-testid="endpoint" type="url" bind:value=endpoint placeholder="http://127.0.0.1:5000"/>
                    </label>
                </Show>
                <label>"Region"
                    <input data-testid="region" bind:value=region placeholder="us-east-1"/>
                </label>
                <label>"Access key ID"
                    <input data-testid="access-key-id" bind:value=access_key_id autocomplete="username" spellcheck="false"/>
                </label>
                <label>"Secret access key"
                    <input data-testid="secret-access-key" type="password" bind:value=secret_access_key autocomplete="current-password"/>
                </label>
                <Show when=move || kind.get() != RegistryKind::Berth>
                    <label>"Session token (optional)"
                        <input data-testid="session-token" type="password" bind:value=session_token/>
                    </label>
                </Show>
                <label class="inline remember">
                    <input type="checkbox" data-testid="remember" bind:checked=remember/>
                    "Remember on this device (stores the key in this browser until you sign out; not on shared computers)"
                </label>
                {move || problem.get().map(|p| view! { <p class="error" role="alert" data-testid="sign-in-error">{p}</p> })}
                <button type="submit" class="primary" data-testid="sign-in" disabled=move || check.pending().get()>
                    {move || if check.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
        </section>
    }
}
