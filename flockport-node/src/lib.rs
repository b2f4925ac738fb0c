//! Node bindings of flockport: the package `flockport` (napi-rs).
//!
//! A thin layer over `flockport-core`, driven by its declaration
//! (`flockport_core::api`): `convert` turns every declared value into JS
//! (and arguments into core values); `ops` expands the declared operations
//! into `Cluster` methods; `cluster` is the facade's hand-written members;
//! `state` the `State` handle; `error` the one error mapping; `promise` the
//! one way operations become Promises; `plan` the progress adapter;
//! `transport` `Transport` and `Output`. `index.d.ts` is generated from the
//! same declaration (flockport-core's codegen), not by the napi CLI.

mod cluster;
mod convert;
mod error;
mod ops;
mod plan;
mod promise;
mod state;
mod transport;

/// Asks the change under way in this process to stop starting steps and roll
/// back what it did; its Promise then rejects with code `Interrupted`. Wire it
/// to `process.on('SIGINT', ...)` for Ctrl-C. Returns whether a change was
/// running (without one, nothing is left pending).
#[napi_derive::napi]
pub fn interrupt() -> bool {
    flockport_core::interrupt::request_if_running()
}

/// The core's declaration as JSON, for `index.js` (the `State` getters) and
/// the parity tests.
#[napi_derive::napi(js_name = "_api")]
pub fn api() -> String {
    flockport_core::api::codegen::manifest().to_string()
}
