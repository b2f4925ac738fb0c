//! The one error type of the core: structured, with sources.
//!
//! Every failure a caller can act on has its own variant carrying the values
//! that explain it (server, command, exit status, a tail of stderr). A remote
//! non-zero exit becomes [`Error::RemoteCommand`] in exactly one place:
//! [`crate::transport::Output::check`].

use std::path::PathBuf;

/// Result alias used across the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many bytes of a remote command's stderr an error keeps.
pub const STDERR_TAIL: usize = 2048;

/// The kinds of error, for bindings that map them to exception classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Bad input from the user; nothing was touched.
    InvalidInput,
    /// A named thing does not exist.
    NotFound,
    /// A named thing exists already.
    AlreadyExists,
    /// A server could not be reached.
    Unreachable,
    /// A command on a server exited non-zero.
    RemoteCommandFailed,
    /// A service refused a rendered configuration.
    ConfigRejected,
    /// Local files: inventory, state, keys.
    Local,
    /// The operation was interrupted (SIGINT/SIGTERM, KeyboardInterrupt) and
    /// rolled back.
    Interrupted,
}

impl ErrorKind {
    /// The kind's name, shared by the bindings (`kind` on Python exceptions,
    /// `code` on Node errors). Python's exception class for `Local` is
    /// `LocalError`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "InvalidInput",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::AlreadyExists => "AlreadyExists",
            ErrorKind::Unreachable => "Unreachable",
            ErrorKind::RemoteCommandFailed => "RemoteCommandFailed",
            ErrorKind::ConfigRejected => "ConfigRejected",
            ErrorKind::Local => "Local",
            ErrorKind::Interrupted => "Interrupted",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given by the user is not acceptable.
    #[error("invalid {field} {value:?}: {reason}")]
    InvalidInput {
        /// Which input (e.g. "server name", "subnet").
        field: &'static str,
        /// The value as given.
        value: String,
        /// Why it is refused and how to fix it.
        reason: String,
    },

    /// A named object does not exist.
    #[error("{kind} {name:?} not found{hint}")]
    NotFound {
        /// What kind of object ("server", "container", ...).
        kind: &'static str,
        /// Its name.
        name: String,
        /// Extra guidance, starting with "; " or empty.
        hint: String,
    },

    /// A named object exists already.
    #[error("{kind} {name:?} already exists{hint}")]
    AlreadyExists {
        /// What kind of object.
        kind: &'static str,
        /// Its name.
        name: String,
        /// Extra guidance, starting with "; " or empty.
        hint: String,
    },

    /// The server could not be reached over its transport.
    #[error("server {server}: unreachable: {reason}")]
    Unreachable {
        /// Server name.
        server: String,
        /// A short human reason.
        reason: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The server's SSH host key is not in the known_hosts file (or differs).
    #[error(
        "server {server}: host key for {host} is not trusted ({detail}); verify the key and add it \
         with `ssh-keyscan -p {port} {host} >> {known_hosts}` (or set known_hosts in the inventory)"
    )]
    HostKeyNotTrusted {
        /// Server name.
        server: String,
        /// Host address.
        host: String,
        /// SSH port.
        port: u16,
        /// known_hosts file used.
        known_hosts: String,
        /// What ssh said.
        detail: String,
    },

    /// A command run on a server exited non-zero.
    #[error("server {server}: `{command}` failed with exit status {status}: {stderr_tail}")]
    RemoteCommand {
        /// Server name.
        server: String,
        /// The command line (quoted argv).
        command: String,
        /// Exit status (-1 if killed by a signal).
        status: i32,
        /// The end of stderr (or stdout when stderr is empty).
        stderr_tail: String,
    },

    /// A command on a server did not finish within its limit and was stopped
    /// (the server's `command_timeout_secs`; kind [`ErrorKind::RemoteCommandFailed`]:
    /// the server was reached, the command did not complete).
    #[error(
        "server {server}: `{command}` did not finish within {secs} s and was stopped (raise \
         command_timeout_secs of the server in the inventory; 0 means no limit)"
    )]
    Timeout {
        /// Server name.
        server: String,
        /// The command line (quoted argv).
        command: String,
        /// The limit, in seconds.
        secs: u64,
    },

    /// A service's own checker refused a configuration; the old one keeps running.
    #[error("server {server}: {service} refused the new configuration: {detail}")]
    ConfigRejected {
        /// Server name.
        server: String,
        /// The service (haproxy, nginx, keepalived).
        service: String,
        /// Checker output.
        detail: String,
    },

    /// The SSH layer failed.
    #[error("server {server}: ssh: {context}")]
    Ssh {
        /// Server name.
        server: String,
        /// What was being done.
        context: String,
        /// The openssh error.
        #[source]
        source: openssh::Error,
    },

    /// An HTTP request to a service's API (Consul's) could not be made or
    /// answered.
    #[error("server {server}: {context}: {source}")]
    Http {
        /// The server through which the service was reached.
        server: String,
        /// What was being done.
        context: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },

    /// A service's API answered with an error status.
    #[error("server {server}: {context}: HTTP {status}: {body}")]
    ApiStatus {
        /// The server through which the service was reached.
        server: String,
        /// What was being done.
        context: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },

    /// A local or remote file operation failed.
    #[error("{context} {path}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The inventory file cannot be parsed.
    #[error("inventory {path}: {reason}")]
    Inventory {
        /// The inventory path.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// The state file is unreadable or corrupted; it is never overwritten.
    #[error(
        "state file {path} is corrupted ({reason}); it was left untouched: repair or move it \
         aside (a backup is wise) and run again"
    )]
    StateCorrupt {
        /// The state path.
        path: PathBuf,
        /// The parse error.
        reason: String,
    },

    /// The state file was written by a newer flockport; it is neither read
    /// nor overwritten.
    #[error(
        "state file {path} has schema {found}, newer than this flockport understands ({supported}); it was left \
         untouched: upgrade flockport"
    )]
    StateTooNew {
        /// The state path.
        path: PathBuf,
        /// The file's schema version.
        found: u32,
        /// The newest this build knows.
        supported: u32,
    },

    /// The shared state's lock stayed with another run past the wait limit.
    #[error(
        "the state in {store} is locked by {holder}; gave up after waiting {waited_secs} s (lock_wait_secs in the \
         inventory's [state]); run again when it is done"
    )]
    StateLocked {
        /// Where the state is (`Consul KV flockport/state via s1/10.0.4.10`).
        store: String,
        /// Who holds the lock and since when, as the holder wrote it.
        holder: String,
        /// How long this run waited.
        waited_secs: u64,
    },

    /// The shared state changed under a run, or a move of the state met a
    /// different one; nothing was written.
    #[error("the state in {store}: {reason}")]
    StateConflict {
        /// Where the state is.
        store: String,
        /// What differed and what to do.
        reason: String,
    },

    /// Output from a server could not be understood.
    #[error("server {server}: unexpected output from `{command}`: {reason}")]
    Parse {
        /// Server name.
        server: String,
        /// The command.
        command: String,
        /// What was wrong.
        reason: String,
    },

    /// No free address is left in a server's subnet.
    #[error("server {server}: no free address left in {subnet}")]
    SubnetExhausted {
        /// Server name.
        server: String,
        /// The subnet.
        subnet: String,
    },

    /// The change was interrupted before it finished; every server it had
    /// changed was rolled back and the state was not changed.
    #[error(
        "{operation}: interrupted before it finished; {}nothing was recorded; run it again",
        if rolled_back.is_empty() { "no server had been changed; ".to_string() } else { format!("rolled back on {}; ", rolled_back.join(", ")) }
    )]
    Interrupted {
        /// The operation, e.g. `addlb haproxy s1 -n ha1`.
        operation: String,
        /// The servers that had changed and were rolled back.
        rolled_back: Vec<String>,
    },

    /// A job's instances do not fit the cluster; nothing was touched.
    #[error("cannot place the instances: {reason} ({fits} would fit)")]
    NoRoom {
        /// What was short and where.
        reason: String,
        /// How many of the instances asked for would fit.
        fits: u32,
        /// The placement engine's answer.
        #[source]
        source: crate::jobs::placement::PlacementError,
    },

    /// Several servers failed; each error is kept.
    #[error("{} server(s) failed: {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Many(Vec<Error>),
}

impl Error {
    /// The `source()` chain below this error, outermost first (what the
    /// bindings show as causes).
    pub fn chain(&self) -> Vec<&(dyn std::error::Error + 'static)> {
        let mut out = Vec::new();
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            out.push(e);
            next = e.source();
        }
        out
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(field: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput { field, value: value.into(), reason: reason.into() }
    }

    /// Shorthand for [`Error::NotFound`] with a hint.
    pub fn not_found(kind: &'static str, name: impl Into<String>, hint: impl AsRef<str>) -> Self {
        let hint = hint.as_ref();
        Error::NotFound {
            kind,
            name: name.into(),
            hint: if hint.is_empty() { String::new() } else { format!("; {hint}") },
        }
    }

    /// Shorthand for [`Error::AlreadyExists`] with a hint.
    pub fn exists(kind: &'static str, name: impl Into<String>, hint: impl AsRef<str>) -> Self {
        let hint = hint.as_ref();
        Error::AlreadyExists {
            kind,
            name: name.into(),
            hint: if hint.is_empty() { String::new() } else { format!("; {hint}") },
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(context: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { context, path: path.into(), source }
    }

    /// The kind, for mapping to exception classes and exit codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidInput { .. } | Error::NoRoom { .. } => ErrorKind::InvalidInput,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::Unreachable { .. } | Error::HostKeyNotTrusted { .. } | Error::Ssh { .. } | Error::Http { .. } => {
                ErrorKind::Unreachable
            }
            Error::RemoteCommand { .. } | Error::Timeout { .. } | Error::Parse { .. } | Error::ApiStatus { .. } => {
                ErrorKind::RemoteCommandFailed
            }
            Error::ConfigRejected { .. } => ErrorKind::ConfigRejected,
            Error::Io { .. }
            | Error::Inventory { .. }
            | Error::StateCorrupt { .. }
            | Error::StateTooNew { .. }
            | Error::StateLocked { .. }
            | Error::StateConflict { .. }
            | Error::SubnetExhausted { .. } => ErrorKind::Local,
            Error::Interrupted { .. } => ErrorKind::Interrupted,
            Error::Many(errors) => errors.first().map_or(ErrorKind::Local, Error::kind),
        }
    }
}

/// Keeps the last [`STDERR_TAIL`] bytes of a command's output, lossily decoded.
pub fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(STDERR_TAIL);
    String::from_utf8_lossy(&bytes[start..]).trim().to_string()
}

/// The text a caught panic carried (`panic!("...")` gives a `&str` or a
/// `String`): what the bindings report when an operation panicked.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_message_reads_str_and_string_payloads() {
        let p = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
        assert_eq!(panic_message(p.as_ref()), "plain");
        let n = 7;
        let p = std::panic::catch_unwind(move || panic!("formatted {n}")).unwrap_err();
        assert_eq!(panic_message(p.as_ref()), "formatted 7");
        let p = std::panic::catch_unwind(|| std::panic::panic_any(42_u8)).unwrap_err();
        assert_eq!(panic_message(p.as_ref()), "(no message)");
    }
}
