//! Plans: the typed, serialisable list of what a mutating operation will run
//! and write, built before anything is touched, then executed.
//!
//! Architecture invariant: building a plan only reads (probes servers, reads
//! state); `--dry-run` prints the plan and stops there. Execution runs each
//! server's steps in order and the servers in parallel; when a server's step
//! fails, that server's rollback steps run (best effort) and the state is not
//! committed.

use crate::error::{Error, Result};
use crate::transport::{display_argv, Transport, TransportExt};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Bytes a step sends; secrets are never shown or serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Content {
    bytes: Vec<u8>,
    secret: bool,
}

impl Content {
    /// Plain content.
    pub fn text(s: impl Into<String>) -> Self {
        Content { bytes: s.into().into_bytes(), secret: false }
    }
    /// Content holding a secret (password, key): shown as `<secret, N bytes>`.
    pub fn secret(bytes: impl Into<Vec<u8>>) -> Self {
        Content { bytes: bytes.into(), secret: true }
    }
    /// The bytes to send.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// What a human or a plan file sees.
    pub fn shown(&self) -> String {
        if self.secret {
            format!("<secret, {} bytes>", self.bytes.len())
        } else {
            String::from_utf8_lossy(&self.bytes).into_owned()
        }
    }
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.shown())
    }
}

impl Serialize for Content {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.shown())
    }
}

/// One thing to do on a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Run an argv (with optional standard input).
    Run {
        /// The command.
        argv: Vec<String>,
        /// Standard input, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        stdin: Option<Content>,
    },
    /// Write a file on the server atomically with a mode.
    WriteFile {
        /// Absolute path on the server.
        path: String,
        /// File mode, octal.
        #[serde(serialize_with = "octal")]
        mode: u32,
        /// Contents.
        content: Content,
    },
}

fn octal<S: Serializer>(m: &u32, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{m:04o}"))
}

/// A described action on a named server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Server name.
    pub server: String,
    /// What the step does, for people.
    pub description: String,
    /// The action.
    #[serde(flatten)]
    pub action: Action,
    /// When set, this step is the named service's config check: its failure
    /// is [`Error::ConfigRejected`] rather than a plain command failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks_config_of: Option<String>,
}

impl Step {
    /// A run step.
    pub fn run(server: &str, description: impl Into<String>, argv: Vec<String>) -> Self {
        Step {
            server: server.into(),
            description: description.into(),
            action: Action::Run { argv, stdin: None },
            checks_config_of: None,
        }
    }
    /// A run step with standard input.
    pub fn run_with_stdin(server: &str, description: impl Into<String>, argv: Vec<String>, stdin: Content) -> Self {
        Step {
            server: server.into(),
            description: description.into(),
            action: Action::Run { argv, stdin: Some(stdin) },
            checks_config_of: None,
        }
    }
    /// A write-file step.
    pub fn write_file(
        server: &str,
        description: impl Into<String>,
        path: impl Into<String>,
        mode: u32,
        content: Content,
    ) -> Self {
        Step {
            server: server.into(),
            description: description.into(),
            action: Action::WriteFile { path: path.into(), mode, content },
            checks_config_of: None,
        }
    }

    /// Marks this step as `service`'s config check.
    pub fn checks_config(mut self, service: &str) -> Self {
        self.checks_config_of = Some(service.to_string());
        self
    }

    /// Runs the step; a non-zero exit is an error.
    pub async fn execute(&self, t: &dyn Transport) -> Result<()> {
        match &self.action {
            Action::Run { argv, stdin } => {
                let out = t.exec(argv.clone(), stdin.as_ref().map(|c| c.bytes().to_vec())).await?;
                match (out.check(t.server(), argv), &self.checks_config_of) {
                    (Ok(_), _) => {}
                    (Err(Error::RemoteCommand { server, stderr_tail, .. }), Some(service)) => {
                        return Err(Error::ConfigRejected { server, service: service.clone(), detail: stderr_tail });
                    }
                    (Err(e), _) => return Err(e),
                }
            }
            Action::WriteFile { path, mode, content } => t.write_file(path, content.bytes(), *mode).await?,
        }
        Ok(())
    }

    /// One line for people.
    pub fn render(&self) -> String {
        match &self.action {
            Action::Run { argv, stdin } => {
                let input = stdin.as_ref().map(|c| format!("  <<< {:?}", c.shown())).unwrap_or_default();
                format!("[{}] {}\n      $ {}{}", self.server, self.description, display_argv(argv), input)
            }
            Action::WriteFile { path, mode, content } => format!(
                "[{}] {}\n      write {path} (mode {mode:04o}, {} bytes)",
                self.server,
                self.description,
                content.bytes().len()
            ),
        }
    }
}

/// Everything a mutating operation will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Plan {
    /// The operation, e.g. `addcontainer web1`.
    pub operation: String,
    /// Steps in order (per server order is kept; servers run in parallel).
    pub steps: Vec<Step>,
    /// Best-effort undo steps run on a server whose step failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rollback: Vec<Step>,
    /// The state changes committed after success, for people.
    pub state_changes: Vec<String>,
}

/// Progress events while a plan runs.
pub trait Progress: Send + Sync {
    /// A step is starting.
    fn step(&self, index: usize, total: usize, step: &Step);
}

/// Ignores progress.
#[derive(Debug, Default)]
pub struct NoProgress;
impl Progress for NoProgress {
    fn step(&self, _: usize, _: usize, _: &Step) {}
}

impl Plan {
    /// A new, empty plan.
    pub fn new(operation: impl Into<String>) -> Self {
        Plan { operation: operation.into(), ..Default::default() }
    }

    /// Human-readable rendering (what `--dry-run` prints).
    pub fn render(&self) -> String {
        let mut s = format!("plan: {}\n", self.operation);
        for (i, st) in self.steps.iter().enumerate() {
            s.push_str(&format!("{:>3}. {}\n", i + 1, st.render()));
        }
        if self.steps.is_empty() {
            s.push_str("  (nothing to run)\n");
        }
        for c in &self.state_changes {
            s.push_str(&format!("  state: {c}\n"));
        }
        s
    }

    /// Runs the plan: servers in parallel, each server's steps in order.
    pub async fn execute(
        &self,
        transports: &BTreeMap<String, Arc<dyn Transport>>,
        progress: &dyn Progress,
    ) -> Result<()> {
        let total = self.steps.len();
        let mut by_server: BTreeMap<&str, Vec<(usize, &Step)>> = BTreeMap::new();
        for (i, st) in self.steps.iter().enumerate() {
            by_server.entry(st.server.as_str()).or_default().push((i, st));
        }
        let runs = by_server.into_iter().map(|(server, steps)| async move {
            let t = transports
                .get(server)
                .ok_or_else(|| Error::not_found("server", server, "the plan names a server without a transport"))?;
            for (i, st) in steps {
                progress.step(i, total, st);
                tracing::info!(server, step = %st.description, "running");
                if let Err(e) = st.execute(t.as_ref()).await {
                    for rb in self.rollback.iter().filter(|r| r.server == server) {
                        if let Err(re) = rb.execute(t.as_ref()).await {
                            tracing::warn!(server, error = %re, "rollback step failed");
                        }
                    }
                    return Err(e);
                }
            }
            Ok::<(), Error>(())
        });
        let errors: Vec<Error> = futures::future::join_all(runs).await.into_iter().filter_map(|r| r.err()).collect();
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.into_iter().next().unwrap_or(Error::Many(Vec::new()))),
            _ => Err(Error::Many(errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_shown() {
        let st = Step::write_file("s1", "password", "/etc/pw", 0o600, Content::secret(b"hunter2".to_vec()));
        let json = serde_json::to_string(&st).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        assert!(json.contains("<secret, 7 bytes>"));
        assert!(!st.render().contains("hunter2"));
        assert!(!format!("{st:?}").contains("hunter2"));
    }
}
