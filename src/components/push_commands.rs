//! "View push commands": numbered, copyable lines for one repository, from `model::push`.

use berth_model::ecr::Repository;
use berth_model::push::{self, Engine, Shell};
use leptos::prelude::*;

use crate::api;
use crate::components::{CopyButton, Modal};
use crate::ConnectionSignal;

#[component]
pub fn PushCommands(repository: Repository, on_close: Callback<()>) -> impl IntoView {
    let connection = expect_context::<ConnectionSignal>();
    let shell = RwSignal::new(Shell::Unix);
    let engine = RwSignal::new(Engine::Docker);
    let tag = RwSignal::new("latest".to_string());
    let target = connection
        .get_untracked()
        .map(|c| api::registry_target(&c, &repository));
    let name = repository.repository_name.clone();
    let prerequisite = target.as_ref().map(push::prerequisite).unwrap_or_default();
    let steps = move || {
        let tag = tag.get();
        let tag = if tag.trim().is_empty() {
            "latest".to_string()
        } else {
            tag.trim().to_string()
        };
        target
            .as_ref()
            .map(|t| push::push_steps(t, &name, &tag, shell.get(), engine.get()))
            .unwrap_or_default()
    };
    let tab = move |value: Shell, label: &'static str| {
        view! {
            <button type="button" role="tab" class="tab" aria-selected=move || (shell.get() == value).to_string()
                on:click=move |_| shell.set(value)>{label}</button>
        }
    };
    view! {
        <Modal title=format!("Push commands for {}", repository.repository_name) on_close=on_close>
            <div class="push-commands" data-testid="push-commands">
                <div class="tabs" role="tablist">
                    {tab(Shell::Unix, "macOS / Linux")}
                    {tab(Shell::Windows, "Windows")}
                </div>
                <div class="row">
                    <label>"Image tag"<input data-testid="push-tag" bind:value=tag/></label>
                    <fieldset class="switch">
                        <legend>"Client"</legend>
                        <label class="inline"><input type="radio" name="engine" checked=move || engine.get() == Engine::Docker
                            on:change=move |_| engine.set(Engine::Docker)/>"Docker"</label>
                        <label class="inline"><input type="radio" name="engine" checked=move || engine.get() == Engine::Podman
                            on:change=move |_| engine.set(Engine::Podman)/>"Podman"</label>
                    </fieldset>
                </div>
                <p class="hint">{prerequisite}</p>
                <ol class="steps">
                    {move || steps().into_iter().enumerate().map(|(i, step)| {
                        let command = step.command.clone();
                        view! {
                            <li>
                                <p>{step.explanation}</p>
                                <div class="command-line">
                                    <code data-testid="push-command">{step.command}</code>
                                    <CopyButton text=Signal::derive(move || command.clone()) label=format!("step {}", i + 1)/>
                                </div>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            </div>
        </Modal>
    }
}
