//! Computed fields of [`crate::plan::Step`] (its action, taken apart).

use crate::plan::{Action, Step};

/// `run` or `write_file`.
pub fn kind(s: &Step) -> String {
    match s.action {
        Action::Run { .. } => "run".into(),
        Action::WriteFile { .. } => "write_file".into(),
    }
}
/// The command of a `run` step.
pub fn argv(s: &Step) -> Option<Vec<String>> {
    match &s.action {
        Action::Run { argv, .. } => Some(argv.clone()),
        Action::WriteFile { .. } => None,
    }
}
/// A `run` step's standard input as shown to people.
pub fn stdin(s: &Step) -> Option<String> {
    match &s.action {
        Action::Run { stdin, .. } => stdin.as_ref().map(|c| c.shown()),
        Action::WriteFile { .. } => None,
    }
}
/// A `write_file` step's path.
pub fn path(s: &Step) -> Option<String> {
    match &s.action {
        Action::WriteFile { path, .. } => Some(path.clone()),
        Action::Run { .. } => None,
    }
}
/// A `write_file` step's mode.
pub fn mode(s: &Step) -> Option<u32> {
    match &s.action {
        Action::WriteFile { mode, .. } => Some(*mode),
        Action::Run { .. } => None,
    }
}
/// A `write_file` step's contents as shown to people.
pub fn content(s: &Step) -> Option<String> {
    match &s.action {
        Action::WriteFile { content, .. } => Some(content.shown()),
        Action::Run { .. } => None,
    }
}
