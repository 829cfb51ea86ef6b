//! Who is calling, and what they may do: SigV4 for the ECR API, registry tokens for
//! `/v2`, and one policy decision point for both.

pub mod access;
pub mod bearer;
pub mod sigv4;
pub mod tokens;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub arn: String,
    /// The key the caller signed with (or whose token it carries).
    pub access_key_id: String,
    /// `None` for the account root.
    pub user_name: Option<String>,
}

impl Principal {
    /// The caller a key belongs to.
    pub fn for_key(config: &crate::config::Config, key: crate::storage::AccessKey) -> Principal {
        Principal {
            arn: match &key.user_name {
                Some(name) => config.user_arn(name),
                None => config.root_arn(),
            },
            user_name: key.user_name,
            access_key_id: key.access_key_id,
        }
    }

    pub fn is_root(&self) -> bool {
        self.user_name.is_none()
    }
}

/// Why a SigV4-signed request was not accepted; routes map each kind to AWS's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthErrorKind {
    MissingAuthenticationToken,
    IncompleteSignature,
    InvalidSignature,
    UnrecognizedClient,
    /// The metadata store failed while checking.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AuthError {
    pub kind: AuthErrorKind,
    pub message: String,
}

impl AuthError {
    pub fn new(kind: AuthErrorKind, message: impl Into<String>) -> Self {
        AuthError {
            kind,
            message: message.into(),
        }
    }
}

/// Compares secrets without leaking, through timing, how much of them matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
