//! How an operation becomes a Promise: the core future runs as one task on
//! napi's tokio runtime; the Promise resolves on the JS thread with the
//! converted value, or rejects with the error from [`crate::error::to_js`]. A
//! panic in the operation rejects too (it never leaves the Promise pending):
//! it is caught in the task itself, so no second task is spawned to watch it.

use crate::error;
use flockport_core::Result as CoreResult;
use futures::FutureExt;
use napi::bindgen_prelude::ToNapiValue;
use napi::{Env, JsObject};
use std::future::Future;
use std::panic::AssertUnwindSafe;

type Resolver<R> = Box<dyn FnOnce(Env) -> napi::Result<R> + Send>;

/// Runs `fut`; resolves with `convert(env, value)`.
pub fn promise_with<T, R, F, C>(env: &Env, fut: F, convert: C) -> napi::Result<JsObject>
where
    F: Future<Output = CoreResult<T>> + Send + 'static,
    T: Send + 'static,
    R: ToNapiValue + 'static,
    C: FnOnce(&Env, T) -> napi::Result<R> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred::<R, Resolver<R>>()?;
    napi::bindgen_prelude::spawn(async move {
        // The future is only polled inside this task; a panic leaves nothing
        // half-shared that the Promise could observe.
        let outcome = AssertUnwindSafe(fut).catch_unwind().await;
        deferred.resolve(Box::new(move |env: Env| match outcome {
            Ok(Ok(value)) => convert(&env, value),
            Ok(Err(e)) => Err(error::to_js(&env, &e)),
            Err(panic) => Err(panic_error(panic.as_ref())),
        }));
    });
    Ok(promise)
}

/// The rejection for an operation that panicked.
pub fn panic_error(panic: &(dyn std::any::Any + Send)) -> napi::Error {
    napi::Error::from_reason(format!(
        "flockport operation failed: panicked: {}",
        flockport_core::error::panic_message(panic)
    ))
}
