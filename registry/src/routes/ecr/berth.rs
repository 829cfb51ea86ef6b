//! Berth's own actions (`BerthRegistry_V1.*`, see `berth_model::berth`): signed,
//! read and authorized exactly like ECR calls, answered in the same JSON and errors.

use axum::response::Response;
use berth_model::berth::{
    BerthAction, GarbageCollectionRun, GarbageCollectionSchedule,
    GetGarbageCollectionStatusResponse,
};
use berth_model::ecr::{EmptyRequest, ErrorType};

use super::{json_body, parse};
use crate::auth::access::On;
use crate::auth::Principal;
use crate::routes::error::{self, EcrError};
use crate::services::gc::{self, Status};
use crate::services::policies;
use crate::AppState;

pub async fn dispatch(
    state: &AppState,
    principal: &Principal,
    action: BerthAction,
    body: &[u8],
) -> Result<Response, EcrError> {
    let wire = |e| error::ecr(e, &state.config);
    let _: EmptyRequest = parse(body)?;
    let permission = format!("ecr:{}", action.permission().name());
    policies::access(state)
        .await
        .map_err(wire)?
        .authorize(principal, &permission, On::Registry)
        .map_err(|denied| EcrError::new(ErrorType::AccessDenied, denied.message))?;
    match action {
        BerthAction::GetGarbageCollectionStatus => {
            let status = gc::status(state.metadata.as_ref()).await.map_err(wire)?;
            Ok(json_body(&garbage_collection_status(status)))
        }
    }
}

/// The stored report and schedule, as the wire has them. The next run is when
/// `serve`'s collector will really start: it waits an interval after the last run
/// of any process (a `berth-registry gc` included), so a run since the schedule was
/// written moves it.
fn garbage_collection_status(status: Status) -> GetGarbageCollectionStatusResponse {
    let last_run = status.last_run.map(|report| GarbageCollectionRun {
        started_at: report.started_at,
        seconds: report.seconds,
        blobs_deleted: report.blobs_deleted + report.leftover_blobs_deleted,
        uploads_deleted: report.uploads_expired + report.leftover_uploads_deleted,
        bytes_freed: report.bytes_freed,
        failure_count: report.failure_count,
    });
    let schedule = status.schedule.map(|schedule| {
        let after_last_run = last_run
            .as_ref()
            .map(|run| run.started_at + run.seconds + schedule.interval_seconds)
            .unwrap_or(0.0);
        GarbageCollectionSchedule {
            interval_seconds: schedule.interval_seconds,
            next_run_at: schedule.next_run_at.max(after_last_run),
        }
    });
    GetGarbageCollectionStatusResponse { last_run, schedule }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::gc::{Report, Schedule};

    #[test]
    fn a_run_since_the_schedule_was_written_moves_the_next_run() {
        let report = Report {
            started_at: 1_000.0,
            seconds: 2.0,
            blobs_deleted: 2,
            leftover_blobs_deleted: 1,
            uploads_expired: 4,
            leftover_uploads_deleted: 1,
            bytes_freed: 9_000,
            ..Default::default()
        };
        let status = |next_run_at| Status {
            last_run: Some(report.clone()),
            schedule: Some(Schedule {
                interval_seconds: 100.0,
                next_run_at,
            }),
        };
        let moved = garbage_collection_status(status(500.0));
        assert_eq!(moved.schedule.unwrap().next_run_at, 1_102.0);
        let kept = garbage_collection_status(status(5_000.0));
        assert_eq!(kept.schedule.unwrap().next_run_at, 5_000.0);
        let run = kept.last_run.unwrap();
        assert_eq!((run.blobs_deleted, run.uploads_deleted), (3, 5));
        assert_eq!(
            garbage_collection_status(Status::default()),
            GetGarbageCollectionStatusResponse::default()
        );
    }
}
