//! The registry itself: which registry the console drives, and on a Berth registry
//! its garbage collection — the last run, what it freed, and the next run.

use berth_model::berth::{BerthAction, GetGarbageCollectionStatusResponse};
use leptos::prelude::*;

use crate::api;
use crate::components::{LoadError, Loading};
use crate::format;
use crate::session::{use_connection, RegistryKind};

pub const REGISTRY_PATH: &str = "/registry";
pub const REGISTRY_PERMISSIONS_PATH: &str = "/registry/permissions";

#[component]
pub fn RegistryPage() -> impl IntoView {
    let connection = use_connection();
    let kind = connection.kind;
    let account_connection = connection.clone();
    let account = LocalResource::new(move || {
        let c = account_connection.clone();
        async move { api::registry_id(&c).await }
    });
    view! {
        <h1>"Registry"</h1>
        <dl class="summary" data-testid="registry-summary">
            <div><dt>"Registry"</dt><dd>{kind.label()}</dd></div>
            <div><dt>"Endpoint"</dt><dd><code>{connection.endpoint.clone()}</code></dd></div>
            <div><dt>"Region"</dt><dd>{connection.region.clone()}</dd></div>
            <div><dt>"Account"</dt><dd>{move || match account.get() {
                Some(Ok(id)) => id,
                Some(Err(_)) => "not readable with this key".to_string(),
                None => "…".to_string(),
            }}</dd></div>
        </dl>
        <p><a href=REGISTRY_PERMISSIONS_PATH>"Registry permissions"</a>
            " — the registry policy, which grants across repositories."</p>
        {match kind {
            RegistryKind::Berth => view! { <GarbageCollection/> }.into_any(),
            RegistryKind::Aws => view! {
                <section class="card" data-testid="gc-elsewhere">
                    <h2>"Garbage collection"</h2>
                    <p>"Amazon ECR reclaims the storage of deleted images itself: there is no garbage collection to run or watch. Lifecycle policies decide which images go."</p>
                </section>
            }.into_any(),
            RegistryKind::Custom => view! {
                <section class="card" data-testid="gc-elsewhere">
                    <h2>"Garbage collection"</h2>
                    <p>"Only a Berth registry reports its garbage collection. Choose “Berth registry” when signing in if this endpoint is one."</p>
                </section>
            }.into_any(),
        }}
    }
}

/// "3 blobs and 1 upload file, 4.10 kB".
fn freed_words(blobs: u64, uploads: u64, bytes: u64) -> String {
    let count = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{} ({} and {})",
        format::size(bytes),
        count(blobs, "blob", "blobs"),
        count(uploads, "upload file", "upload files")
    )
}

#[component]
fn GarbageCollection() -> impl IntoView {
    let connection = use_connection();
    let status = LocalResource::new(move || {
        let c = connection.clone();
        async move {
            api::call_berth::<GetGarbageCollectionStatusResponse>(
                &c,
                BerthAction::GetGarbageCollectionStatus,
            )
            .await
        }
    });
    view! {
        <section class="card">
            <div class="page-head">
                <h2>"Garbage collection"</h2>
                <button type="button" class="secondary" aria-label="Refresh garbage collection status"
                    on:click=move |_| status.refetch()>"Refresh"</button>
            </div>
            <p class="hint">"Deleted images and repositories leave blobs behind; a collection frees those no image references, with abandoned uploads. "
                <code>"berth-registry serve"</code>" collects on a schedule ("<code>"--gc-interval"</code>"), "
                <code>"berth-registry gc"</code>" whenever it is run."</p>
            <Transition fallback=|| view! { <Loading text="Loading the garbage collection status…"/> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => view! { <GcStatus status=s/> }.into_any(),
                        Err(error) => view! {
                            <LoadError title="The garbage collection status could not be loaded" message=error.to_string()
                                on_retry=Callback::new(move |_| status.refetch())/>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn GcStatus(status: GetGarbageCollectionStatusResponse) -> impl IntoView {
    let last = match status.last_run {
        Some(run) => view! {
            <div><dt>"Last run"</dt><dd data-testid="gc-last-run" title=format::exact_time(run.started_at)>{format::local_time(run.started_at)}</dd></div>
            <div><dt>"Freed"</dt><dd data-testid="gc-freed">{freed_words(run.blobs_deleted, run.uploads_deleted, run.bytes_freed)}</dd></div>
            <div><dt>"Took"</dt><dd data-testid="gc-seconds">{format!("{:.2} s", run.seconds)}</dd></div>
            {(run.failure_count > 0).then(|| view! {
                <div><dt>"Not deleted"</dt><dd>{format!("{} items; the next run tries again", run.failure_count)}</dd></div>
            })}
        }.into_any(),
        None => view! {
            <div><dt>"Last run"</dt><dd data-testid="gc-last-run">"No collection has run yet"</dd></div>
        }.into_any(),
    };
    let next = match status.schedule {
        Some(schedule) => view! {
            <div><dt>"Next run"</dt><dd data-testid="gc-next-run" title=format::exact_time(schedule.next_run_at)>{format::local_time(schedule.next_run_at)}</dd></div>
            <div><dt>"Interval"</dt><dd data-testid="gc-interval">{format!("Every {}", format::interval(schedule.interval_seconds))}</dd></div>
        }.into_any(),
        None => view! {
            <div><dt>"Next run"</dt><dd data-testid="gc-next-run">"Not scheduled: serve runs with --gc-interval 0"</dd></div>
        }.into_any(),
    };
    view! { <dl class="summary" data-testid="gc-status">{last}{next}</dl> }
}
