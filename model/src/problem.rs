//! One thing wrong with a document, said in words and pinned to its place.

use std::fmt;

use crate::json::{Position, SyntaxError};

/// What is wrong (`message`), which value it is about (`path`, e.g.
/// `Statement[1].Action[0]` or `rules[0].selection.countUnit`; empty for the
/// whole document) and where that value, or the object that lacks it, starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
    pub position: Position,
}

impl Problem {
    pub fn new(path: impl Into<String>, position: Position, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
            position,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl From<SyntaxError> for Problem {
    fn from(error: SyntaxError) -> Self {
        Problem::new(
            "",
            error.position,
            format!("not valid JSON at {}: {}", error.position, error.message),
        )
    }
}

/// `parent.child`, or `child` at the top.
pub fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}
