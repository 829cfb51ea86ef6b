//! "View push commands": numbered, copyable lines for one repository, from
//! `model::push`, for the chosen tag, shell and client.

use berth_model::ecr::Repository;
use berth_model::push::{self, check_tag, Credentials, Engine, Shell};
use leptos::prelude::*;

use crate::api;
use crate::components::tabs::{TabList, TabSpec};
use crate::components::{CopyButton, Modal};
use crate::session::use_connection;

const ENGINE_KEY: &str = "berth.engine";

/// The client a person chose (Docker or Podman), for every command the console
/// shows; kept for the tab's session.
#[derive(Clone, Copy)]
pub struct EngineChoice(pub RwSignal<Engine>);

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

impl EngineChoice {
    /// The App calls this once.
    pub fn provide() {
        let stored = session_storage()
            .and_then(|s| s.get_item(ENGINE_KEY).ok().flatten())
            .and_then(|e| Engine::from_command(&e))
            .unwrap_or(Engine::Docker);
        provide_context(EngineChoice(RwSignal::new(stored)));
    }

    pub fn get() -> RwSignal<Engine> {
        use_context::<EngineChoice>()
            .map(|c| c.0)
            .unwrap_or_else(|| RwSignal::new(Engine::Docker))
    }

    pub fn set(engine: RwSignal<Engine>, value: Engine) {
        if let Some(storage) = session_storage() {
            let _ = storage.set_item(ENGINE_KEY, value.command());
        }
        engine.set(value);
    }
}

#[component]
pub fn PushCommands(repository: Repository, on_close: Callback<()>) -> impl IntoView {
    let connection = use_connection();
    let shell = RwSignal::new(Shell::Unix);
    let engine = EngineChoice::get();
    let tag = RwSignal::new("latest".to_string());
    let target = api::registry_target(&connection, &repository);
    let credentials = Credentials {
        access_key_id: connection.access_key_id.clone(),
        has_session_token: connection.session_token.is_some(),
    };
    let name = repository.repository_name.clone();
    let tag_problem = Memo::new(move |_| tag.with(|t| check_tag(t.trim()).err()));
    let prerequisite_target = target.clone();
    let steps = Memo::new(move |_| {
        let tag = tag.get();
        push::push_steps(
            &target,
            &name,
            tag.trim(),
            shell.get(),
            engine.get(),
            &credentials,
        )
    });
    let shells = vec![
        TabSpec {
            value: Shell::Unix,
            id: "shell-unix".into(),
            label: "macOS / Linux",
            panel: "push-steps".into(),
        },
        TabSpec {
            value: Shell::Windows,
            id: "shell-windows".into(),
            label: "Windows (PowerShell)",
            panel: "push-steps".into(),
        },
    ];
    view! {
        <Modal title=format!("Push commands for {}", repository.repository_name) on_close=on_close>
            <div class="push-commands" data-testid="push-commands">
                <TabList tabs=shells selected=shell select=Callback::new(move |s| shell.set(s)) label="Shell"/>
                <div class="row">
                    <label>"Image tag"
                        <input data-testid="push-tag" bind:value=tag spellcheck="false" autocomplete="off"
                            aria-invalid=move || tag_problem.with(Option::is_some).to_string()
                            aria-describedby="push-tag-problem"/>
                    </label>
                    <fieldset class="switch">
                        <legend>"Client"</legend>
                        {Engine::ALL.into_iter().map(|value| view! {
                            <label class="inline"><input type="radio" name="engine" checked=move || engine.get() == value
                                on:change=move |_| EngineChoice::set(engine, value)/>{value.label()}</label>
                        }).collect_view()}
                    </fieldset>
                </div>
                <p id="push-tag-problem" class="error" role="alert" data-testid="push-tag-problem">
                    {move || tag_problem.get().map(|p| p.to_string())}
                </p>
                <p class="hint">{move || push::prerequisite(&prerequisite_target, engine.get())}</p>
                <div id="push-steps" role="tabpanel"
                    aria-labelledby=move || if shell.get() == Shell::Unix { "shell-unix" } else { "shell-windows" }>
                <Show when=move || tag_problem.with(Option::is_none)
                    fallback=|| view! { <p class="hint">"Fix the tag to see the commands."</p> }>
                    <ol class="steps" start="0">
                        {move || steps.get().into_iter().enumerate().map(|(i, step)| {
                            let command = step.command.clone();
                            view! {
                                <li>
                                    <p>{step.explanation}</p>
                                    <div class="command-line">
                                        <code data-testid="push-command">{step.command}</code>
                                        <CopyButton text=Signal::derive(move || command.clone()) label=format!("step {i}")/>
                                    </div>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                </Show>
                </div>
            </div>
        </Modal>
    }
}
