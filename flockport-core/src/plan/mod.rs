//! Plans: the typed, serialisable list of what a mutating operation will run
//! and write, built before anything is touched, then executed.
//!
//! Architecture invariant: building a plan only reads (probes servers, reads
//! state); `--dry-run` prints the plan and stops there. Execution runs each
//! server's steps in order and the servers in parallel, each server's steps
//! in as few round trips as possible (consecutive steps travel as one script,
//! see [`batch_script`]). When a step fails on any server, or an interrupt is
//! requested, no server starts another round trip, and every server that ran
//! anything runs its rollback steps (best effort); the state is not committed.
//!
//! `batch.rs`: the one-script round trips (a change's steps, and `gather`,
//! the read-only commands of `status`).

mod batch;

#[cfg(test)]
use batch::split_marked;
pub use batch::{batch_script, gather};
use batch::{batches, run_batch};

use crate::error::{Error, Result};
use crate::transport::{display_argv, write_file_argv, Output, Transport};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Bytes a step sends; secrets are never shown or serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Content {
    bytes: Vec<u8>,
    secret: bool,
    binary: bool,
}

impl Content {
    /// Plain content.
    pub fn text(s: impl Into<String>) -> Self {
        Content { bytes: s.into().into_bytes(), secret: false, binary: false }
    }
    /// A program or other binary file: shown as `<binary, N bytes, sha256 PREFIX>`.
    pub fn binary(bytes: Vec<u8>) -> Self {
        Content { bytes, secret: false, binary: true }
    }
    /// Content holding a secret (password, key): shown as `<secret, N bytes>`.
    pub fn secret(bytes: impl Into<Vec<u8>>) -> Self {
        Content { bytes: bytes.into(), secret: true, binary: false }
    }
    /// The bytes to send.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// What a human or a plan file sees.
    pub fn shown(&self) -> String {
        if self.secret {
            format!("<secret, {} bytes>", self.bytes.len())
        } else if self.binary {
            use sha2::Digest;
            let digest = hex::encode(sha2::Sha256::digest(&self.bytes));
            format!("<binary, {} bytes, sha256 {}>", self.bytes.len(), &digest[..16])
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
#[record(repr(server, kind, description, path), str = "rendered")]
#[record(computed(name = "kind", ty = "String", with = "crate::api::step::kind", doc = "`run` or `write_file`."))]
#[record(computed(
    name = "argv",
    ty = "Option<Vec<String>>",
    with = "crate::api::step::argv",
    doc = "The command of a `run` step."
))]
#[record(computed(
    name = "stdin",
    ty = "Option<String>",
    with = "crate::api::step::stdin",
    doc = "Standard input of a `run` step as shown to people (secrets hidden)."
))]
#[record(computed(
    name = "path",
    ty = "Option<String>",
    with = "crate::api::step::path",
    doc = "The path of a `write_file` step."
))]
#[record(computed(
    name = "mode",
    ty = "Option<u32>",
    with = "crate::api::step::mode",
    doc = "The file mode of a `write_file` step."
))]
#[record(computed(
    name = "content",
    ty = "Option<String>",
    with = "crate::api::step::content",
    doc = "The contents of a `write_file` step as shown to people (secrets hidden)."
))]
#[record(computed(
    name = "rendered",
    ty = "String",
    with = "Step::render",
    doc = "One line (two with the command) for people.",
    py_method = "render"
))]
pub struct Step {
    /// Server name.
    pub server: String,
    /// What the step does, for people.
    pub description: String,
    /// The action.
    #[serde(flatten)]
    #[record(skip)]
    pub action: Action,
    /// When set, this step is the named service's config check: its failure
    /// is [`Error::ConfigRejected`] rather than a plain command failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks_config_of: Option<String>,
    /// A long step (an image build) that travels in a round trip of its own,
    /// so progress shows it as it starts and an interrupt is seen after it.
    #[serde(skip)]
    pub alone: bool,
    /// The round trip ends after this step: a checkpoint where an interrupt
    /// is seen (a container created and started, before it is configured).
    #[serde(skip)]
    pub break_after: bool,
}

impl Step {
    /// A run step.
    pub fn run(server: &str, description: impl Into<String>, argv: Vec<String>) -> Self {
        Step {
            server: server.into(),
            description: description.into(),
            action: Action::Run { argv, stdin: None },
            checks_config_of: None,
            alone: false,
            break_after: false,
        }
    }
    /// A run step with standard input.
    pub fn run_with_stdin(server: &str, description: impl Into<String>, argv: Vec<String>, stdin: Content) -> Self {
        Step {
            server: server.into(),
            description: description.into(),
            action: Action::Run { argv, stdin: Some(stdin) },
            checks_config_of: None,
            alone: false,
            break_after: false,
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
            alone: false,
            break_after: false,
        }
    }

    /// Marks this step as `service`'s config check.
    pub fn checks_config(mut self, service: &str) -> Self {
        self.checks_config_of = Some(service.to_string());
        self
    }

    /// Ends the round trip after this step (an interrupt checkpoint).
    pub fn then_break(mut self) -> Self {
        self.break_after = true;
        self
    }

    /// Marks this step as long: it gets a round trip of its own.
    pub fn alone(mut self) -> Self {
        self.alone = true;
        self
    }

    /// The argv and standard input that carry out this step.
    pub fn command(&self) -> (Vec<String>, Option<&Content>) {
        match &self.action {
            Action::Run { argv, stdin } => (argv.clone(), stdin.as_ref()),
            Action::WriteFile { path, mode, content } => (write_file_argv(path, *mode), Some(content)),
        }
    }

    /// Runs the step alone; a non-zero exit is an error.
    pub async fn execute(&self, t: &dyn Transport) -> Result<()> {
        let (argv, stdin) = self.command();
        let out = t.exec(argv.clone(), stdin.map(|c| c.bytes().to_vec())).await?;
        self.judge(t.server(), &argv, out)
    }

    /// Turns the step's output into its result: a non-zero exit is
    /// [`Error::RemoteCommand`] ([`Output::check`]), or
    /// [`Error::ConfigRejected`] for a config check.
    fn judge(&self, server: &str, argv: &[String], out: Output) -> Result<()> {
        match (out.check(server, argv), &self.checks_config_of) {
            (Ok(_), _) => Ok(()),
            (Err(Error::RemoteCommand { server, stderr_tail, .. }), Some(service)) => {
                Err(Error::ConfigRejected { server, service: service.clone(), detail: stderr_tail })
            }
            (Err(e), _) => Err(e),
        }
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default, crate::api::Record)]
#[record(repr(operation, steps), str = "rendered")]
#[record(computed(
    name = "rendered",
    ty = "String",
    with = "Plan::render",
    doc = "What `--dry-run` prints.",
    py_method = "render"
))]
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

/// Progress events while a plan runs, and the interrupt it polls.
pub trait Progress: Send + Sync {
    /// A step is starting (every step of a round trip is announced as the
    /// round trip starts).
    fn step(&self, index: usize, total: usize, step: &Step);
    /// Whether the operation should stop before its next round trip. The
    /// default is the process-wide [`crate::interrupt`] request.
    fn interrupted(&self) -> bool {
        crate::interrupt::requested()
    }
    /// The operation stopped for the interrupt (and rolled back): the default
    /// consumes the process-wide request.
    fn honoured_interrupt(&self) {
        crate::interrupt::clear();
    }
    /// Rollback is starting on `server` after `reason`.
    fn rolling_back(&self, _server: &str, _reason: &str) {}
    /// A milestone of a long operation (a rollout's instance replaced, a
    /// snapshot streamed), for people.
    fn note(&self, _message: &str) {}
}

/// Ignores progress.
#[derive(Debug, Default)]
pub struct NoProgress;
impl Progress for NoProgress {
    fn step(&self, _: usize, _: usize, _: &Step) {}
}

/// What one server's run came to.
enum Outcome {
    /// Every step ran.
    Done,
    /// Nothing ran: the plan stopped before this server's first round trip.
    Untouched,
    /// Some steps ran, then the plan stopped (another server failed, or an interrupt).
    Stopped,
    /// A step failed here.
    Failed(Error),
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

    /// The servers the plan runs on, in order of first appearance.
    pub fn servers(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for st in &self.steps {
            if !out.contains(&st.server.as_str()) {
                out.push(&st.server);
            }
        }
        out
    }

    /// Runs the plan: servers in parallel, each server's steps in order, in
    /// as few round trips as possible. When a step fails anywhere, or
    /// `progress` reports an interrupt before a server's last round trip, no
    /// server starts another round trip and every server that ran anything
    /// rolls back; the error is the failure (or [`Error::Interrupted`]). A
    /// plan whose every round trip ran is complete, interrupt or not.
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
        for server in by_server.keys().copied().chain(self.rollback.iter().map(|r| r.server.as_str())) {
            if !transports.contains_key(server) {
                return Err(Error::not_found("server", server, "the plan names a server without a transport"));
            }
        }
        let _running = crate::interrupt::Running::start();
        let stop = AtomicBool::new(false);
        let stop = &stop;
        let runs = by_server.iter().map(|(server, steps)| async move {
            let t = transports.get(*server).map(Arc::as_ref);
            let Some(t) = t else { return (*server, Outcome::Untouched) };
            let mut touched = false;
            for batch in batches(steps) {
                if stop.load(Ordering::SeqCst) || progress.interrupted() {
                    stop.store(true, Ordering::SeqCst);
                    return (*server, if touched { Outcome::Stopped } else { Outcome::Untouched });
                }
                for (i, st) in &batch {
                    progress.step(*i, total, st);
                    tracing::info!(server, step = %st.description, "running");
                }
                touched = true;
                let steps: Vec<&Step> = batch.iter().map(|(_, s)| *s).collect();
                if let Err(e) = run_batch(t, &steps).await {
                    stop.store(true, Ordering::SeqCst);
                    return (*server, Outcome::Failed(e));
                }
            }
            (*server, Outcome::Done)
        });
        let outcomes = futures::future::join_all(runs).await;
        let mut errors = Vec::new();
        let mut changed = Vec::new();
        let mut all_done = true;
        for (server, o) in outcomes {
            match o {
                Outcome::Done => changed.push(server),
                Outcome::Untouched => all_done = false,
                Outcome::Stopped => {
                    all_done = false;
                    changed.push(server);
                }
                Outcome::Failed(e) => {
                    all_done = false;
                    changed.push(server);
                    errors.push(e);
                }
            }
        }
        if all_done && errors.is_empty() {
            // Every round trip ran: the change is complete and is committed; an
            // interrupt only stops round trips that have not started.
            if progress.interrupted() {
                progress.honoured_interrupt();
            }
            return Ok(());
        }
        if progress.interrupted() {
            // Consumed here whether or not a step failed too, so it cannot reach the next change.
            progress.honoured_interrupt();
        }
        let interrupted = errors.is_empty();
        let reason = match errors.first() {
            Some(e) => e.to_string(),
            None => "interrupted".to_string(),
        };
        let rollbacks = changed.iter().map(|server| {
            let reason = &reason;
            async move {
                let steps: Vec<&Step> = self.rollback.iter().filter(|r| r.server == *server).collect();
                if steps.is_empty() {
                    return;
                }
                progress.rolling_back(server, reason);
                let Some(t) = transports.get(*server) else { return };
                for rb in steps {
                    tracing::info!(server, step = %rb.description, "rolling back");
                    if let Err(re) = rb.execute(t.as_ref()).await {
                        tracing::warn!(server, error = %re, "rollback step failed");
                    }
                }
            }
        });
        futures::future::join_all(rollbacks).await;
        if interrupted {
            progress.honoured_interrupt();
            return Err(Error::Interrupted {
                operation: self.operation.clone(),
                rolled_back: changed
                    .iter()
                    .filter(|s| self.rollback.iter().any(|r| r.server == **s))
                    .map(|s| s.to_string())
                    .collect(),
            });
        }
        match errors.len() {
            1 => Err(errors.remove(0)),
            _ => Err(Error::Many(errors)),
        }
    }
}

#[cfg(test)]
mod tests;
