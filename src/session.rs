//! Who is signed in, to which registry, and how a session reaches a new tab.
//!
//! Credentials live in this tab's `sessionStorage`: gone when the tab closes, never
//! in the URL. A new tab of the same origin asks the open tabs for their session over
//! a `BroadcastChannel` (same-origin by definition) and keeps the answer in its own
//! `sessionStorage`, so nothing new is stored anywhere. Only when a person ticks
//! "Remember on this device" does the connection go to `localStorage`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const STORAGE_KEY: &str = "berth.connection";
const REMEMBERED_KEY: &str = "berth.remembered-connection";
const CHANNEL: &str = "berth.session";
/// How long a new tab waits for an open tab to hand over its session.
const HAND_OFF_WAIT_MS: u64 = 400;

/// What kind of registry the console talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistryKind {
    /// A `berth-registry` (the embedded registry).
    Berth,
    /// Amazon ECR: the endpoint follows from the region.
    Aws,
    /// Any other ECR-compatible endpoint.
    Custom,
}

impl RegistryKind {
    pub const ALL: [RegistryKind; 3] =
        [RegistryKind::Berth, RegistryKind::Aws, RegistryKind::Custom];

    pub fn label(self) -> &'static str {
        match self {
            RegistryKind::Berth => "Berth registry",
            RegistryKind::Aws => "AWS ECR",
            RegistryKind::Custom => "Custom ECR-compatible endpoint",
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            RegistryKind::Berth => "berth",
            RegistryKind::Aws => "aws",
            RegistryKind::Custom => "custom",
        }
    }

    pub fn from_id(id: &str) -> RegistryKind {
        RegistryKind::ALL
            .into_iter()
            .find(|k| k.id() == id)
            .unwrap_or(RegistryKind::Berth)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub kind: RegistryKind,
    /// The ECR API endpoint, e.g. `http://127.0.0.1:5000`, without a trailing slash.
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl Connection {
    /// The ECR API endpoint for an AWS region.
    pub fn aws_endpoint(region: &str) -> String {
        format!("https://api.ecr.{region}.amazonaws.com")
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn read(storage: Option<web_sys::Storage>, key: &str) -> Option<Connection> {
    let raw = storage?.get_item(key).ok()??;
    serde_json::from_str(&raw).ok()
}

fn write(storage: Option<web_sys::Storage>, key: &str, connection: &Connection) {
    if let (Some(storage), Ok(raw)) = (storage, serde_json::to_string(connection)) {
        let _ = storage.set_item(key, &raw);
    }
}

/// This tab's connection, or the one remembered on this device.
pub fn load() -> Option<Connection> {
    read(session_storage(), STORAGE_KEY).or_else(|| read(local_storage(), REMEMBERED_KEY))
}

/// Keeps `connection` for this tab; with `remember`, on this device too.
pub fn save(connection: &Connection, remember: bool) {
    write(session_storage(), STORAGE_KEY, connection);
    if remember {
        write(local_storage(), REMEMBERED_KEY, connection);
    } else if let Some(storage) = local_storage() {
        let _ = storage.remove_item(REMEMBERED_KEY);
    }
}

/// Forgets the connection in this tab and on this device.
pub fn clear() {
    for (storage, key) in [
        (session_storage(), STORAGE_KEY),
        (local_storage(), REMEMBERED_KEY),
    ] {
        if let Some(storage) = storage {
            let _ = storage.remove_item(key);
        }
    }
}

/// Whether this device remembers a connection.
pub fn remembered() -> bool {
    read(local_storage(), REMEMBERED_KEY).is_some()
}

/// Where the session stands.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionState {
    /// Asking the other tabs of this origin for their session.
    Checking,
    SignedIn(Connection),
    SignedOut,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum Message {
    /// A new tab asks for a session.
    Ask,
    /// An open tab answers with its own.
    Share { connection: Connection },
    /// Signing out in one tab signs out every tab of the origin, or a new tab would
    /// get the session back from another one.
    SignOut,
}

/// The session every screen reads, shared through context.
#[derive(Clone, Copy)]
pub struct Session {
    pub state: RwSignal<SessionState>,
}

fn post(channel: &web_sys::BroadcastChannel, message: &Message) {
    if let Ok(text) = serde_json::to_string(message) {
        let _ = channel.post_message(&JsValue::from_str(&text));
    }
}

fn channel() -> Option<web_sys::BroadcastChannel> {
    web_sys::BroadcastChannel::new(CHANNEL).ok()
}

impl Session {
    /// Loads this tab's session, or asks the other tabs for theirs.
    pub fn start() -> Session {
        let initial = match load() {
            Some(connection) => {
                // A remembered connection becomes this tab's too.
                write(session_storage(), STORAGE_KEY, &connection);
                SessionState::SignedIn(connection)
            }
            None => SessionState::Checking,
        };
        let session = Session {
            state: RwSignal::new(initial),
        };
        session.listen();
        session
    }

    fn listen(self) {
        let Some(channel) = channel() else {
            self.state.set(match load() {
                Some(c) => SessionState::SignedIn(c),
                None => SessionState::SignedOut,
            });
            return;
        };
        let reply = channel.clone();
        let state = self.state;
        let on_message =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                let Some(text) = event.data().as_string() else {
                    return;
                };
                let Ok(message) = serde_json::from_str::<Message>(&text) else {
                    return;
                };
                match message {
                    // Answer from storage, not from the signal: it outlives any one mount.
                    Message::Ask => {
                        if let Some(connection) = read(session_storage(), STORAGE_KEY) {
                            post(&reply, &Message::Share { connection });
                        }
                    }
                    Message::Share { connection } => {
                        if state.try_get_untracked() == Some(SessionState::Checking) {
                            write(session_storage(), STORAGE_KEY, &connection);
                            state.try_set(SessionState::SignedIn(connection));
                        }
                    }
                    Message::SignOut => {
                        if let Some(storage) = session_storage() {
                            let _ = storage.remove_item(STORAGE_KEY);
                        }
                        state.try_set(SessionState::SignedOut);
                    }
                }
            });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // The listener lives as long as the page.
        on_message.forget();
        if self.state.get_untracked() == SessionState::Checking {
            post(&channel, &Message::Ask);
            set_timeout(
                move || {
                    if state.try_get_untracked() == Some(SessionState::Checking) {
                        state.try_set(SessionState::SignedOut);
                    }
                },
                std::time::Duration::from_millis(HAND_OFF_WAIT_MS),
            );
        }
    }

    /// The connection in force, if signed in (reactive).
    pub fn connection(&self) -> Option<Connection> {
        self.state.with(|s| match s {
            SessionState::SignedIn(c) => Some(c.clone()),
            _ => None,
        })
    }

    /// The connection in force, read without subscribing.
    pub fn connection_untracked(&self) -> Option<Connection> {
        self.state.with_untracked(|s| match s {
            SessionState::SignedIn(c) => Some(c.clone()),
            _ => None,
        })
    }

    pub fn sign_in(&self, connection: Connection, remember: bool) {
        crate::access::forget();
        save(&connection, remember);
        self.state.set(SessionState::SignedIn(connection));
    }

    pub fn sign_out(&self) {
        crate::access::forget();
        clear();
        if let Some(channel) = channel() {
            post(&channel, &Message::SignOut);
        }
        self.state.set(SessionState::SignedOut);
    }
}

/// The connection of the signed-in screen being rendered. Every screen but sign-in
/// sits behind [`crate::guard::RequireSession`], which provides it.
pub fn use_connection() -> Connection {
    expect_context::<Connection>()
}
