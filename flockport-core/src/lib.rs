//! flockport-core: Flockport's cluster-wide managed services on clusters of
//! LXC container hosts reached over SSH, as a typed async library.
//!
//! Start at [`Cluster`]: it opens an inventory of servers and a state store
//! and offers every operation. Data flows validate -> plan -> execute ->
//! commit; see ARCHITECTURE.md at the repository root.

// `#[record(computed(..., ty = "String", ...))]` repeats `ty = "String"` on
// purpose (one attribute per computed field); the lint reads it as a mistake.
#![allow(clippy::duplicated_attributes)]

extern crate self as flockport_core;

pub mod api;
pub mod cluster;
pub mod consul;
pub mod db;
pub mod ep;
pub mod error;
pub mod fsutil;
pub mod image;
pub mod interrupt;
pub mod inventory;
pub mod jobs;
pub mod lb;
pub mod lxc;
pub mod names;
pub mod plan;
pub mod quote;
pub mod secrets;
pub mod service;
pub mod state;
pub mod status;
pub mod transport;
pub mod vip;
pub mod ws;

#[cfg(test)]
mod mock_tests;
#[cfg(any(test, feature = "mock"))]
pub mod testkit;

pub use cluster::{AddServer, Applied, ApplyOptions, Cluster, ContainerSpec, ServerStatus};
pub use db::{DbAdded, DbInfo, DbRecord, DbSpec, Engine};
pub use error::{Error, ErrorKind, Result};
pub use inventory::{Inventory, ServerConfig, TransportKind};
pub use lb::{Backend, BackendHealth, LbInfo, LbKind, LbRecord, LbSetting, LbSpec};
pub use lxc::{ContainerInfo, ContainerState};
pub use plan::{Plan, Progress, Step};
pub use state::{FileStateStore, State, StateStore};
pub use vip::{Vip, VipInfo, VipRecord, VipSpec};
pub use ws::{App, AppSpec, WsInfo, WsRecord};

/// README's Rust snippet, compiled as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
