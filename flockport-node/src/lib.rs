//! Node bindings of flockport: the package `flockport` (napi-rs).
//!
//! A thin layer over `flockport-core`: conversion and error mapping only.
//! Files mirror the core's modules by name (`cluster`, `inventory`, `lb`,
//! `lxc`, `plan`, `state`, `transport`); `error` is the one error-mapping
//! file and `promise` the one way operations become Promises. `index.d.ts`
//! is generated from these files by the napi CLI (`npm run build`) and
//! checked for staleness by `ci.sh`.

mod cluster;
mod error;
mod inventory;
mod lb;
mod lxc;
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
