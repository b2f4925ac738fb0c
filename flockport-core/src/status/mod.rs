//! `status`: one view of everything deployed. One round trip per server
//! (the `listservers` probe, extended with every read-only health command of
//! the service containers and floating IPs on that server, through
//! [`crate::plan::gather`]) and, when the cluster has endpoints, one read of
//! Consul's catalog, raft peers and gossip members through one endpoint's
//! tunnel, in parallel; then [`spec::assemble`] joins them with
//! the state. Read-only: it takes no lock and changes nothing.

pub mod spec;

pub use spec::{Drift, Status, StatusItem};

use crate::cluster::{Cluster, ServerStatus};
use crate::error::{Error, Result};
use crate::inventory::ServerConfig;
use crate::lxc;
use crate::state::State;
use crate::transport::Output;
use spec::Observed;
use std::time::{Duration, Instant};

/// How long a server's status round trip, and the read of Consul, may take:
/// a dead server (its link down under a live SSH master) makes its items
/// `unknown` after this, not after the 900 s a change's command may take.
/// Each health command is stopped after [`EACH_LIMIT`].
pub const READ_LIMIT: Duration = Duration::from_secs(15);

/// How long one health command may run in the round trip (then its item
/// is `unknown`, the rest of the server's answer stands).
pub const EACH_LIMIT: Duration = Duration::from_secs(10);

/// What one server is asked, in the order of its round trip.
#[derive(Debug, Clone)]
enum Ask {
    Probe,
    Lb(String),
    Ws(String),
    Db(String),
    Vip,
}

/// Every command of `server`'s round trip, with what it is for.
fn asks(state: &State, server: &ServerConfig) -> Vec<(Ask, Vec<String>)> {
    let here = |sc: &crate::service::ServiceContainer| sc.server == server.name;
    let attach = |name: &str, argv: Vec<String>| lxc::attach_argv(server, name, &argv);
    let mut out = vec![(
        Ask::Probe,
        vec!["sh".into(), "-c".into(), lxc::PROBE_SCRIPT.into(), "sh".into(), server.lxcpath.clone()],
    )];
    for rec in state.lbs.values().filter(|r| here(&r.container)) {
        if let Some(argv) = crate::lb::health_argv(rec) {
            out.push((Ask::Lb(rec.container.name.clone()), attach(&rec.container.name, argv)));
        }
    }
    for rec in state.ws.values().filter(|r| here(&r.container)) {
        if let Some(argv) = crate::ws::health_argv(rec) {
            out.push((Ask::Ws(rec.container.name.clone()), attach(&rec.container.name, argv)));
        }
    }
    for rec in state.dbs.values().filter(|r| here(&r.container)) {
        out.push((Ask::Db(rec.container.name.clone()), attach(&rec.container.name, crate::db::steps::probe_argv(rec))));
    }
    let tracks = crate::vip::tracks_by_server(state);
    if let Some(t) = tracks.get(&server.name) {
        out.push((Ask::Vip, crate::vip::steps::light_probe_argv(t)));
    }
    out
}

impl Cluster {
    /// `status`: every server read once (one round trip each, in parallel,
    /// with Consul's catalog when there are endpoints), joined with every
    /// family's records: what runs where, its address, published ports,
    /// health with why, and drift. A server that cannot be read makes its
    /// items `unknown`, not an error.
    pub async fn status(&self) -> Result<Status> {
        let started = Instant::now();
        let state = self.store().load().await?;
        let servers: Vec<&ServerConfig> = self.servers().iter().collect();
        let reads = futures::future::join_all(servers.iter().map(|s| self.status_read(&state, s)));
        let catalog = async {
            if state.eps.is_empty() {
                None
            } else {
                let read = tokio::time::timeout(READ_LIMIT, self.catalog_view(&state, true)).await;
                Some(read.unwrap_or_else(|_| {
                    let e = Error::Timeout {
                        server: "consul".into(),
                        command: "read the catalog, raft peers and members through an endpoint".into(),
                        secs: READ_LIMIT.as_secs(),
                    };
                    (Err(e), String::new())
                }))
            }
        };
        let (reads, catalog) = futures::future::join(reads, catalog).await;
        let mut observed = Observed::default();
        let mut rows = Vec::new();
        for (s, (r, millis)) in servers.iter().zip(reads) {
            let (asks, outs) = match r {
                Ok(x) => x,
                Err(e) => {
                    rows.push(ServerStatus::read(s, Err(&e), millis));
                    observed.unread.insert(s.name.clone(), e.to_string());
                    observed.vip.insert(s.name.clone(), Err(unread(&s.name, &e)));
                    continue;
                }
            };
            let mut probe = None;
            for (ask, out) in asks.into_iter().zip(outs) {
                let argv = ["status".to_string()];
                let text = out.check(&s.name, &argv).map(|o| o.stdout_str());
                match ask {
                    Ask::Probe => probe = Some(text.and_then(|t| lxc::parse_probe(&s.name, &t))),
                    Ask::Lb(n) => {
                        observed.lb.insert(n, text);
                    }
                    Ask::Ws(n) => {
                        observed.ws.insert(n, text);
                    }
                    Ask::Db(n) => {
                        observed.db.insert(n, text);
                    }
                    Ask::Vip => {
                        let r = text.and_then(|t| crate::vip::steps::parse_probe(&s.name, &t));
                        observed.vip.insert(s.name.clone(), r);
                    }
                }
            }
            match probe {
                Some(Ok(f)) => {
                    rows.push(ServerStatus::read(s, Ok(&f), millis));
                    observed.facts.insert(s.name.clone(), f);
                }
                Some(Err(e)) => {
                    rows.push(ServerStatus::read(s, Err(&e), millis));
                    observed.unread.insert(s.name.clone(), e.to_string());
                }
                None => {}
            }
        }
        if let Some((r, endpoint)) = catalog {
            let (services, raft) = match r {
                Ok(v) => (
                    Ok(crate::ep::services::listing_from(&state, v.instances, endpoint, &observed.facts)),
                    Ok(v.raft.unwrap_or_default()),
                ),
                Err(e) => {
                    let again = unread("consul", &e);
                    (Err(e), Err(again))
                }
            };
            observed.services = Some(services);
            observed.raft = Some(raft);
        }
        Ok(spec::assemble(&state, rows, &observed, started.elapsed().as_millis() as u64))
    }

    /// One server's round trip: what was asked and each answer, and its time.
    async fn status_read(&self, state: &State, server: &ServerConfig) -> (Result<(Vec<Ask>, Vec<Output>)>, u64) {
        let started = Instant::now();
        let r = async {
            let t = self.transport(server)?;
            let (asks, commands): (Vec<Ask>, Vec<Vec<String>>) = asks(state, server).into_iter().unzip();
            let outs = crate::transport::within(
                Some(READ_LIMIT),
                &server.name,
                &["status".to_string()],
                crate::plan::gather(t.as_ref(), &commands, EACH_LIMIT),
            )
            .await?;
            Ok((asks, outs))
        }
        .await;
        (r, started.elapsed().as_millis() as u64)
    }
}

fn unread(server: &str, e: &Error) -> Error {
    Error::Unreachable { server: server.into(), reason: e.to_string(), source: None }
}

#[cfg(test)]
mod tests;
