//! `Plan` and `Step`: what a mutating operation runs and writes (mirrors
//! `flockport_core::plan`), and the adapter that reports progress to a JS
//! callback.

use flockport_core::plan::{Action, Plan as CorePlan, Progress as CoreProgress, Step as CoreStep};
use napi::threadsafe_function::{ErrorStrategy, ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::JsFunction;
use napi_derive::napi;

/// One thing to do on a server: run a command or write a file.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Step {
    /// The server it runs on.
    pub server: String,
    /// What it does, for people.
    pub description: String,
    /// `run` or `write_file`.
    #[napi(ts_type = "'run' | 'write_file'")]
    pub kind: String,
    /// The command of a `run` step.
    pub argv: Option<Vec<String>>,
    /// Standard input of a `run` step as shown to people (secrets hidden).
    pub stdin: Option<String>,
    /// The path of a `write_file` step.
    pub path: Option<String>,
    /// The file mode of a `write_file` step.
    pub mode: Option<u32>,
    /// The contents of a `write_file` step as shown to people (secrets hidden).
    pub content: Option<String>,
    /// One line (two with the command) for people.
    pub rendered: String,
}

impl From<&CoreStep> for Step {
    fn from(s: &CoreStep) -> Self {
        let mut step = Step {
            server: s.server.clone(),
            description: s.description.clone(),
            kind: String::new(),
            argv: None,
            stdin: None,
            path: None,
            mode: None,
            content: None,
            rendered: s.render(),
        };
        match &s.action {
            Action::Run { argv, stdin } => {
                step.kind = "run".into();
                step.argv = Some(argv.clone());
                step.stdin = stdin.as_ref().map(|c| c.shown());
            }
            Action::WriteFile { path, mode, content } => {
                step.kind = "write_file".into();
                step.path = Some(path.clone());
                step.mode = Some(*mode);
                step.content = Some(content.shown());
            }
        }
        step
    }
}

/// Everything a mutating operation will do (or did).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Plan {
    /// The operation, e.g. `addcontainer web1 on s1`.
    pub operation: String,
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Best-effort undo steps run on a server whose step failed.
    pub rollback: Vec<Step>,
    /// The state changes committed after success, for people.
    pub state_changes: Vec<String>,
    /// What `--dry-run` prints.
    pub rendered: String,
}

impl From<&CorePlan> for Plan {
    fn from(p: &CorePlan) -> Self {
        Plan {
            operation: p.operation.clone(),
            steps: p.steps.iter().map(Step::from).collect(),
            rollback: p.rollback.iter().map(Step::from).collect(),
            state_changes: p.state_changes.clone(),
            rendered: p.render(),
        }
    }
}

/// What a progress callback receives before each step runs.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ProgressEvent {
    /// The step's index in the plan.
    pub index: u32,
    /// The number of steps.
    pub total: u32,
    /// The step.
    pub step: Step,
}

/// Reports each step to a JS callback (on the JS thread, without waiting).
pub struct Progress(Option<ThreadsafeFunction<ProgressEvent, ErrorStrategy::Fatal>>);

impl Progress {
    /// From an optional callback `(event: ProgressEvent) => void`.
    pub fn new(callback: Option<JsFunction>) -> napi::Result<Self> {
        let tsfn = callback.map(|f| f.create_threadsafe_function(0, |ctx| Ok(vec![ctx.value]))).transpose()?;
        Ok(Progress(tsfn))
    }
}

impl CoreProgress for Progress {
    fn step(&self, index: usize, total: usize, step: &CoreStep) {
        if let Some(tsfn) = &self.0 {
            let event = ProgressEvent { index: index as u32, total: total as u32, step: Step::from(step) };
            tsfn.call(event, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}
