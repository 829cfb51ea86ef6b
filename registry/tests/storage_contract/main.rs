//! The storage contract: one set of assertions about the `Metadata` and `Blobs`
//! traits, run against both backends — embedded (SQLite + files in a temp dir) and
//! scale-out (PostgreSQL + S3). Every case gets fresh storage. The scale-out
//! services are the ones `cargo xtask test` started (BERTH_TEST_DATABASE_URL,
//! BERTH_TEST_S3); run alone, the suite starts its own throwaway PostgreSQL cluster
//! and moto S3 server, and fails — never skips — when it cannot.
//!
//! `cargo test -p berth-registry --test storage_contract [FILTER]`

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;

mod backend;
mod blobs;
mod cache;
mod metadata;

pub use backend::{Backend, Kind};

type Case = fn(Backend) -> Pin<Box<dyn Future<Output = ()> + Send>>;

macro_rules! cases {
    ($($module:ident :: $name:ident),* $(,)?) => {
        &[$((concat!(stringify!($module), "::", stringify!($name)), |b| Box::pin($module::$name(b)) as _)),*]
    };
}

const CASES: &[(&str, Case)] = cases![
    metadata::settings_are_kept_and_replaced,
    metadata::repositories_page_in_byte_order_and_names_are_unique,
    metadata::repository_settings_policies_and_resource_tags_change,
    metadata::a_repository_holding_images_is_deleted_only_by_force,
    metadata::users_keys_and_the_one_root_key,
    metadata::tokens_expire_and_die_with_their_key,
    metadata::blobs_are_linked_mounted_and_unlinked,
    metadata::manifests_need_their_blobs_and_children,
    metadata::tags_move_unless_immutable_and_list_in_byte_order,
    metadata::deleting_a_manifest_deletes_its_tags,
    metadata::images_list_by_tag_status_with_referrers_and_sizes,
    metadata::upload_parts_are_recorded_only_where_the_upload_ends,
    metadata::job_locks_admit_one_holder_until_dropped,
    metadata::unreferenced_blobs_are_found_and_swept_only_while_unreferenced,
    metadata::uploads_started_before_a_time_are_listed,
    metadata::users_are_listed_removed_and_their_keys_replaced,
    metadata::deletions_keep_what_indexes_and_pushes_still_need,
    metadata::lifecycle_policies_and_previews_are_kept_per_repository,
    metadata::migrations_run_once_when_processes_start_together,
    blobs::chunks_append_in_order_and_finish_verified,
    blobs::a_chunk_at_the_wrong_offset_changes_nothing,
    blobs::a_body_failing_midway_changes_nothing,
    blobs::a_wrong_digest_discards_the_upload_and_stores_nothing,
    blobs::many_small_chunks_make_one_large_blob,
    blobs::one_large_chunk_is_one_blob,
    blobs::an_empty_blob_is_a_blob,
    blobs::a_blob_uploaded_twice_is_stored_once,
    blobs::a_cancelled_upload_is_gone,
    blobs::an_upload_continues_on_another_process,
    blobs::two_processes_appending_at_one_offset_cannot_both_win,
    blobs::presigned_urls_serve_the_bytes_where_the_store_has_them,
    blobs::stored_blobs_list_in_digest_order_and_read_in_ranges,
    blobs::upload_sessions_with_bytes_are_listed_until_cancelled,
    blobs::damaged_blobs_are_never_served_whole_and_can_be_quarantined,
    metadata::postgres_announces_changes_at_commit,
    cache::a_cache_reads_what_another_process_changed_next,
    cache::a_change_pruned_before_this_process_read_it_still_reaches_it,
];

fn main() -> ExitCode {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("storage contract: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let services = match berth_testbed::Services::from_env_or_start() {
        Ok(services) => services,
        Err(e) => {
            eprintln!(
                "storage contract: the scale-out backend needs PostgreSQL and an S3 server, and \
                 none could be started: {e}\n  Run `cargo xtask test`, or install Debian's \
                 `postgresql` and PyPI's `moto[server]`, or set {} and {}.",
                berth_testbed::DATABASE_ENV,
                berth_testbed::S3_ENV
            );
            return ExitCode::FAILURE;
        }
    };
    let mut failed = Vec::new();
    let mut ran = 0;
    runtime.block_on(async {
        for kind in [Kind::Embedded, Kind::ScaleOut] {
            for (name, case) in CASES {
                let full = format!("{}::{name}", kind.name());
                if filter.as_deref().is_some_and(|f| !full.contains(f)) {
                    continue;
                }
                ran += 1;
                let backend = match Backend::new(kind, &services).await {
                    Ok(backend) => backend,
                    Err(e) => {
                        println!("test {full} ... FAILED (setup: {e})");
                        failed.push(full);
                        continue;
                    }
                };
                match tokio::spawn(case(backend)).await {
                    Ok(()) => println!("test {full} ... ok"),
                    Err(_) => {
                        println!("test {full} ... FAILED");
                        failed.push(full);
                    }
                }
            }
        }
    });
    drop(services);
    if failed.is_empty() {
        println!("\nstorage contract: {ran} cases passed on both backends");
        ExitCode::SUCCESS
    } else {
        println!("\nstorage contract: {} of {ran} failed:", failed.len());
        for name in &failed {
            println!("    {name}");
        }
        ExitCode::FAILURE
    }
}
