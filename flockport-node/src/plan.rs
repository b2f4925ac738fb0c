//! The adapter that reports a plan's progress to a JS callback.

use crate::convert::json_to_js;
use flockport_core::api::{Case, ViewValue};
use flockport_core::plan::{Progress as CoreProgress, Step as CoreStep};
use napi::threadsafe_function::{ErrorStrategy, ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::JsFunction;
use serde_json::{json, Value};

/// Reports each step to a JS callback (on the JS thread, without waiting) as
/// a `ProgressEvent` `{ index, total, step }`.
pub struct Progress(Option<ThreadsafeFunction<Value, ErrorStrategy::Fatal>>);

impl Progress {
    /// From an optional callback `(event: ProgressEvent) => void`.
    pub fn new(callback: Option<JsFunction>) -> napi::Result<Self> {
        let tsfn = callback
            .map(|f| f.create_threadsafe_function(0, |ctx| Ok(vec![json_to_js(&ctx.env, &ctx.value)?])))
            .transpose()?;
        Ok(Progress(tsfn))
    }
}

impl CoreProgress for Progress {
    fn step(&self, index: usize, total: usize, step: &CoreStep) {
        if let Some(tsfn) = &self.0 {
            let event = json!({"index": index, "total": total, "step": step.to_view(Case::Camel)});
            tsfn.call(event, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}
