//! Berth's own API actions: what a console needs from a Berth registry that ECR
//! has no action for (ECR reclaims storage out of sight; a Berth registry's owner
//! wants to see it). They travel as ECR calls do — `POST /`, AWS JSON 1.1, SigV4
//! with service `ecr` — under their own `X-Amz-Target` prefix, so no ECR client,
//! AWS endpoint or wire-contract check mistakes one for an ECR action.

use serde::{Deserialize, Serialize};

/// The `X-Amz-Target` prefix of every Berth action.
pub const BERTH_TARGET_PREFIX: &str = "BerthRegistry_V1.";

/// A Berth action, as named after [`BERTH_TARGET_PREFIX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BerthAction {
    /// The last garbage collection and the next one `serve` has scheduled.
    GetGarbageCollectionStatus,
}

impl BerthAction {
    pub const ALL: &'static [BerthAction] = &[BerthAction::GetGarbageCollectionStatus];

    pub fn name(self) -> &'static str {
        match self {
            BerthAction::GetGarbageCollectionStatus => "GetGarbageCollectionStatus",
        }
    }

    /// Parses the full `X-Amz-Target` header value.
    pub fn from_target(target: &str) -> Option<BerthAction> {
        let name = target.strip_prefix(BERTH_TARGET_PREFIX)?;
        BerthAction::ALL.iter().copied().find(|a| a.name() == name)
    }

    pub fn target(self) -> String {
        format!("{BERTH_TARGET_PREFIX}{}", self.name())
    }

    /// The ECR action a policy must allow for it: reading the registry's state is
    /// what DescribeRegistry allows, so no new action name enters policies.
    pub fn permission(self) -> crate::ecr::Action {
        match self {
            BerthAction::GetGarbageCollectionStatus => crate::ecr::Action::DescribeRegistry,
        }
    }
}

/// What one garbage collection freed (dry runs are not reported).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GarbageCollectionRun {
    /// Epoch seconds.
    pub started_at: f64,
    pub seconds: f64,
    /// Blobs deleted: unreferenced ones and files a crash left without a record.
    pub blobs_deleted: u64,
    /// Upload sessions that expired, and partial upload files without a session.
    pub uploads_deleted: u64,
    /// Everything freed, in bytes.
    pub bytes_freed: u64,
    /// Items that could not be deleted (the next run tries again).
    pub failure_count: u64,
}

/// `serve`'s collection schedule.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GarbageCollectionSchedule {
    pub interval_seconds: f64,
    /// Epoch seconds.
    pub next_run_at: f64,
}

/// GetGarbageCollectionStatus's answer (its request is an empty object).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetGarbageCollectionStatusResponse {
    /// Absent until a collection has run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<GarbageCollectionRun>,
    /// Absent when no `serve` collects on a schedule (`--gc-interval 0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<GarbageCollectionSchedule>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip_and_never_pass_for_ecr() {
        for action in BerthAction::ALL {
            assert_eq!(BerthAction::from_target(&action.target()), Some(*action));
            assert_eq!(crate::ecr::Action::from_target(&action.target()), None);
        }
        assert_eq!(
            BerthAction::from_target("BerthRegistry_V1.Nope"),
            None,
            "unknown Berth actions are unknown"
        );
        assert_eq!(
            BerthAction::from_target(&crate::ecr::Action::DescribeRegistry.target()),
            None
        );
    }

    #[test]
    fn status_reads_with_and_without_a_run() {
        let empty: GetGarbageCollectionStatusResponse = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, GetGarbageCollectionStatusResponse::default());
        let full = GetGarbageCollectionStatusResponse {
            last_run: Some(GarbageCollectionRun {
                started_at: 1_700_000_000.5,
                seconds: 0.25,
                blobs_deleted: 3,
                uploads_deleted: 1,
                bytes_freed: 4096,
                failure_count: 0,
            }),
            schedule: Some(GarbageCollectionSchedule {
                interval_seconds: 21_600.0,
                next_run_at: 1_700_021_600.0,
            }),
        };
        let text = serde_json::to_string(&full).unwrap();
        assert!(
            text.contains("\"lastRun\":{\"startedAt\":1700000000.5"),
            "{text}"
        );
        assert!(text.contains("\"bytesFreed\":4096"), "{text}");
        assert!(text.contains("\"nextRunAt\":1700021600.0"), "{text}");
        assert_eq!(
            serde_json::from_str::<GetGarbageCollectionStatusResponse>(&text).unwrap(),
            full
        );
    }
}
