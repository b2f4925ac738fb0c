//! `Transport` and `Output`: run a command on a server (mirrors
//! `flockport_core::transport`).

use crate::promise::promise_with;
use flockport_core::transport::{Output as CoreOutput, Transport as CoreTransport};
use napi::bindgen_prelude::Buffer;
use napi::{Env, JsObject};
use napi_derive::napi;
use std::sync::Arc;

/// What a command produced. A non-zero status is not an error here.
#[napi(object)]
pub struct Output {
    /// Exit status; -1 when killed by a signal.
    pub status: i32,
    /// Standard output.
    pub stdout: Buffer,
    /// Standard error.
    pub stderr: Buffer,
}

impl From<CoreOutput> for Output {
    fn from(o: CoreOutput) -> Self {
        Output { status: o.status, stdout: o.stdout.into(), stderr: o.stderr.into() }
    }
}

/// Runs commands on one server (SSH or local, as the inventory says).
#[napi]
pub struct Transport {
    pub(crate) inner: Arc<dyn CoreTransport>,
}

#[napi]
impl Transport {
    /// The server's name.
    #[napi]
    pub fn server(&self) -> String {
        self.inner.server().to_string()
    }

    /// Runs `argv` on the server with optional standard input.
    #[napi(ts_return_type = "Promise<Output>")]
    pub fn exec(&self, env: Env, argv: Vec<String>, stdin: Option<Buffer>) -> napi::Result<JsObject> {
        let t = self.inner.clone();
        let stdin = stdin.map(|b| b.to_vec());
        promise_with(&env, async move { t.exec(argv, stdin).await }, |_, o| Ok(Output::from(o)))
    }
}
