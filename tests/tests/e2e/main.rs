//! The one end-to-end test binary. Modules by area; tests that need root,
//! LXC or the lab skip with a message (or fail under `FLOCKPORT_LAB=required`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, missing_docs)]

mod bad_input;
mod db;
mod ep;
mod known_hosts;
mod lab;
mod lb;
mod lifecycle;
mod platform;
mod ssh_hardening;
mod vip;
mod ws;
