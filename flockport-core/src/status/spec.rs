//! `status`'s records and the pure join of state with what the servers
//! said: each family's records become [`StatusItem`]s with a health word and
//! why, containers in state but not on their server (or on a server but not
//! in state) become [`Drift`].

use crate::cluster::ServerStatus;
use crate::ep::ServiceListing;
use crate::error::Result;
use crate::lb::{LbKind, LbRecord};
use crate::lxc::{ContainerState, ServerFacts};
use crate::service::ServiceContainer;
use crate::state::State;
use crate::vip::steps::VipFacts;
use serde::Serialize;
use std::collections::BTreeMap;

/// Health: everything it needs runs and answers.
pub const UP: &str = "up";
/// Health: it runs, but part of what it serves does not answer.
pub const DEGRADED: &str = "degraded";
/// Health: it does not run or does not answer.
pub const DOWN: &str = "down";
/// Health: its server could not be read.
pub const UNKNOWN: &str = "unknown";

/// The families `status` shows, in its order (a table each).
pub const FAMILIES: [&str; 8] = ["container", "lb", "webserver", "database", "vip", "endpoint", "service", "job"];

/// One deployed thing as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct StatusItem {
    /// Its family: container, lb, webserver, database, vip, endpoint, service, job.
    pub family: String,
    /// Its name.
    pub name: String,
    /// The server it runs on now (a floating IP: the server holding it;
    /// empty when none does).
    pub server: String,
    /// Its address (a service: `ADDRESS:PORT`).
    pub address: String,
    /// Ports published on its server, `HOSTPORT:PORT` (or `PORT` when equal).
    pub ports: Vec<String>,
    /// `up`, `degraded`, `down` or `unknown`.
    pub health: String,
    /// Why, when not up.
    pub why: Option<String>,
    /// What it is, in a few words (kind and mode, engine, URLs, role).
    pub detail: String,
    /// What it sends traffic to: a load balancer's backends, a webserver's
    /// apps' upstreams (`ADDRESS:PORT`, or a name), each with the name of
    /// the container at that address when one is known.
    pub targets: Vec<String>,
}

/// A difference between the state and the servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct Drift {
    /// `missing` (in state, not on its server) or `unmanaged` (on a server,
    /// not in state; shown, not counted as unhealthy).
    pub kind: String,
    /// The family of the record, or `container`.
    pub family: String,
    /// The container's (or service's) name.
    pub name: String,
    /// Its server.
    pub server: String,
    /// What to do about it.
    pub hint: String,
}

/// `status`: the whole cluster in one read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct Status {
    /// Every server, as `listservers` shows it.
    pub servers: Vec<ServerStatus>,
    /// Every deployed thing of every family, in [`FAMILIES`] order.
    pub items: Vec<StatusItem>,
    /// Differences between the state and the servers.
    pub drift: Vec<Drift>,
    /// Families this build does not have, each with a sentence.
    pub absent: Vec<String>,
    /// Every server read, every item up, no missing or stale drift.
    pub healthy: bool,
    /// Time of the whole read.
    pub millis: u64,
}

/// What the servers and Consul said, by record name: each family's health
/// command's output (`Ok("")` when it had nothing to ask), each floating
/// IP server's probe, the services (none without endpoints).
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// Each server's probe (servers that answered).
    pub facts: BTreeMap<String, ServerFacts>,
    /// Why each server that did not answer did not.
    pub unread: BTreeMap<String, String>,
    /// Load balancers' health command output.
    pub lb: BTreeMap<String, Result<String>>,
    /// Webservers' health command output.
    pub ws: BTreeMap<String, Result<String>>,
    /// Databases' probe output.
    pub db: BTreeMap<String, Result<String>>,
    /// Raft and gossip as one endpoint sees them (none without endpoints).
    pub raft: Option<Result<crate::ep::services::RaftView>>,
    /// The floating IP probe of each server holding one.
    pub vip: BTreeMap<String, Result<VipFacts>>,
    /// The catalog, read through an endpoint.
    pub services: Option<Result<ServiceListing>>,
}

fn item(family: &str, sc: &ServiceContainer, detail: String) -> StatusItem {
    StatusItem {
        family: family.into(),
        name: sc.name.clone(),
        server: sc.server.clone(),
        address: sc.address.to_string(),
        ports: sc.published.iter().map(ToString::to_string).collect(),
        health: UP.into(),
        why: None,
        detail,
        targets: Vec::new(),
    }
}

impl StatusItem {
    fn set(&mut self, health: &str, why: impl Into<String>) {
        self.health = health.into();
        self.why = Some(why.into());
    }
    /// Down when every one of `total` parts is `bad`, degraded when some are.
    fn verdict(&mut self, bad: &[String], total: usize) {
        if !bad.is_empty() {
            self.set(if bad.len() == total { DOWN } else { DEGRADED }, bad.join("; "));
        }
    }
    fn is_up(&self) -> bool {
        self.health == UP
    }
}

/// The join: `state`'s records with what was `observed`.
pub(crate) fn assemble(state: &State, servers: Vec<ServerStatus>, observed: &Observed, millis: u64) -> Status {
    let o = observed;
    let mut items = Vec::new();
    let mut drift = Vec::new();
    // The container at an address, to name targets.
    let by_ip: BTreeMap<String, String> = o
        .facts
        .values()
        .flat_map(|f| f.containers.iter())
        .filter_map(|c| c.address().map(|a| (a.to_string(), c.name.clone())))
        .collect();
    let named = |host: &str, port: u16| match by_ip.get(host) {
        Some(n) => format!("{n} ({host}:{port})"),
        None => format!("{host}:{port}"),
    };
    // The container's own health; `false` when the family need not look further.
    let mut base = |it: &mut StatusItem, family: &str| -> bool {
        match (o.facts.get(&it.server), o.unread.get(&it.server)) {
            (Some(f), _) => match f.container(&it.name).map(|c| &c.state) {
                Some(ContainerState::Running) => true,
                Some(other) => {
                    it.set(DOWN, format!("container {} is {other} on {}", it.name, it.server));
                    false
                }
                None => {
                    it.set(DOWN, format!("container {} is missing on {}", it.name, it.server));
                    drift.push(Drift {
                        kind: "missing".into(),
                        family: family.into(),
                        name: it.name.clone(),
                        server: it.server.clone(),
                        hint: "destroyed behind flockport's back: remove the record (its delete verb) and add it again"
                            .into(),
                    });
                    false
                }
            },
            (None, why) => {
                it.set(UNKNOWN, format!("server {} could not be read: {}", it.server, why.map_or("not probed", |w| w)));
                false
            }
        }
    };

    for (name, rec) in &state.containers {
        let sc = ServiceContainer {
            family: crate::service::Family::Lb,
            name: name.clone(),
            server: rec.server.clone(),
            address: rec.address,
            image: rec.image.clone(),
            published: Vec::new(),
        };
        let mut it = item("container", &sc, format!("{} (image {})", rec.role, rec.image));
        base(&mut it, "container");
        items.push(it);
    }

    for rec in state.lbs.values() {
        let mut it = item("lb", &rec.container, lb_detail(rec));
        it.targets = rec.backends.iter().map(|b| named(&b.host, b.port)).collect();
        if base(&mut it, "lb") {
            match o.lb.get(&rec.container.name) {
                Some(Ok(text)) => {
                    let listing = o.services.as_ref().and_then(|r| r.as_ref().ok());
                    let health = crate::lb::backend_health(rec, text, listing);
                    let bad: Vec<String> = rec
                        .backends
                        .iter()
                        .zip(&health)
                        .filter(|(_, h)| !up_word(&h.health))
                        .map(|(b, h)| format!("backend {} {}", named(&b.host, b.port), h.health))
                        .collect();
                    it.verdict(&bad, health.len());
                }
                Some(Err(e)) => it.set(UNKNOWN, format!("its backends' health could not be read: {e}")),
                None => it.set(UNKNOWN, "not read"),
            }
        }
        items.push(it);
    }

    for rec in state.ws.values() {
        let urls: Vec<&str> = rec.apps.keys().map(String::as_str).collect();
        let detail = if urls.is_empty() { "no apps".to_string() } else { format!("apps {}", urls.join(", ")) };
        let mut it = item("webserver", &rec.container, detail);
        it.targets = rec.apps.values().map(|a| named(&a.upstream.host, a.upstream.port)).collect();
        if base(&mut it, "webserver") {
            match o.ws.get(&rec.container.name) {
                Some(Ok(text)) => {
                    let health = crate::ws::app_health(rec, text);
                    let bad: Vec<String> = health
                        .iter()
                        .filter(|h| !up_word(&h.health))
                        .map(|h| match rec.apps.get(&h.url) {
                            Some(a) => format!(
                                "app {} upstream {} {}",
                                h.url,
                                named(&a.upstream.host, a.upstream.port),
                                h.health
                            ),
                            None => format!("app {} {}", h.url, h.health),
                        })
                        .collect();
                    it.verdict(&bad, health.len());
                }
                Some(Err(e)) => it.set(UNKNOWN, format!("its apps' health could not be read: {e}")),
                None => it.set(UNKNOWN, "not read"),
            }
        }
        items.push(it);
    }

    for rec in state.dbs.values() {
        let dbs: Vec<&str> = rec.databases.keys().map(String::as_str).collect();
        let mut it = item(
            "database",
            &rec.container,
            format!(
                "{} on port {}; databases {}",
                rec.engine,
                rec.port,
                if dbs.is_empty() { "none".into() } else { dbs.join(", ") }
            ),
        );
        if base(&mut it, "database") {
            match o.db.get(&rec.container.name) {
                Some(Ok(text)) => {
                    let (version, _, tcp) = crate::db::probe_answer(rec, text);
                    match (version, tcp) {
                        (Some(v), true) => it.detail = format!("{v}; {}", it.detail),
                        (None, _) => it.set(DOWN, format!("{} does not answer its administrator", rec.engine)),
                        (Some(_), false) => it.set(DOWN, format!("nothing accepts connections on port {}", rec.port)),
                    }
                }
                Some(Err(e)) => it.set(UNKNOWN, format!("{} could not be asked: {e}", rec.engine)),
                None => it.set(UNKNOWN, "not read"),
            }
        }
        items.push(it);
    }

    for rec in state.vips.values() {
        let info = crate::vip::vip_info(rec, &o.vip);
        let v = &info.vip;
        let mut it = StatusItem {
            family: "vip".into(),
            name: v.name.clone(),
            server: info.address_on.first().cloned().unwrap_or_default(),
            address: v.ip.to_string(),
            ports: v.track.iter().map(ToString::to_string).collect(),
            health: UP.into(),
            why: None,
            detail: format!("master {}, backup {}, vrid {}", v.master.server, v.backup.server, v.vrid),
            targets: vec![v.master.server.clone(), v.backup.server.clone()],
        };
        let unread: Vec<String> =
            info.servers.iter().filter_map(|s| s.error.as_ref().map(|e| format!("{}: {e}", s.server))).collect();
        let stopped: Vec<&str> = info
            .servers
            .iter()
            .filter(|s| s.error.is_none() && s.keepalived == "STOPPED")
            .map(|s| s.server.as_str())
            .collect();
        match info.address_on.len() {
            // A server not read may hold it.
            0 if !unread.is_empty() => it.set(UNKNOWN, unread.join("; ")),
            0 => it.set(DOWN, format!("no server holds {}", v.ip)),
            1 if !stopped.is_empty() => {
                it.set(DEGRADED, format!("no backup: keepalived is not running on {}", stopped.join(", ")))
            }
            1 if !unread.is_empty() => it.set(DEGRADED, format!("no backup known: {}", unread.join("; "))),
            1 => {
                let down: Vec<String> = info
                    .servers
                    .iter()
                    .filter(|s| s.has_address)
                    .flat_map(|s| {
                        s.tracks
                            .iter()
                            .filter(|t| !t.up)
                            .map(move |t| format!("tracked port {} down on {}", t.port, s.server))
                    })
                    .collect();
                if !down.is_empty() {
                    it.set(DEGRADED, down.join("; "));
                }
            }
            _ => it.set(DEGRADED, format!("{} holds {} at once (split brain)", info.address_on.join(" and "), v.ip)),
        }
        items.push(it);
    }

    for rec in state.eps.values() {
        let mut it = item("endpoint", &rec.container, "Consul".into());
        if base(&mut it, "endpoint") {
            match &o.raft {
                Some(Ok(view)) => endpoint_health(&mut it, view),
                Some(Err(e)) => it.set(UNKNOWN, format!("no endpoint answered: {e}")),
                None => it.set(UNKNOWN, "not read"),
            }
        }
        items.push(it);
    }

    match &o.services {
        Some(Ok(l)) => {
            for s in &l.services {
                let failing: Vec<String> = s
                    .checks
                    .iter()
                    .filter(|c| c.status != "passing")
                    .map(|c| format!("check {} {}", c.name, c.status))
                    .collect();
                let mut it = StatusItem {
                    family: "service".into(),
                    name: s.name.clone(),
                    server: s.server.clone().unwrap_or_default(),
                    address: format!("{}:{}", s.address, s.port),
                    ports: Vec::new(),
                    health: UP.into(),
                    why: None,
                    detail: match &s.container {
                        Some(c) => format!("of container {c}"),
                        None => format!("{} ({})", s.origin, s.id),
                    },
                    targets: Vec::new(),
                };
                if !s.healthy {
                    it.set(DOWN, if failing.is_empty() { "not healthy in Consul".into() } else { failing.join("; ") });
                }
                items.push(it);
            }
            for m in &l.missing {
                drift.push(Drift {
                    kind: "missing".into(),
                    family: "service".into(),
                    name: m.clone(),
                    server: String::new(),
                    hint: "in state but not in Consul: run its add verb again".into(),
                });
            }
            for m in &l.stale {
                drift.push(Drift {
                    kind: "stale".into(),
                    family: "service".into(),
                    name: m.clone(),
                    server: String::new(),
                    hint: "in Consul but not wanted: delservice, or start its container".into(),
                });
            }
        }
        Some(Err(e)) => items.push(StatusItem {
            family: "service".into(),
            name: "(catalog)".into(),
            server: String::new(),
            address: String::new(),
            ports: Vec::new(),
            health: UNKNOWN.into(),
            why: Some(format!("Consul's catalog could not be read: {e}")),
            detail: String::new(),
            targets: Vec::new(),
        }),
        None => {}
    }

    // Job instances: each an item; a lost one is down, and drift that
    // `scalejob` mends.
    for job in state.jobs.values() {
        for i in &job.instances {
            let sc = ServiceContainer {
                family: crate::service::Family::Lb,
                name: i.name.clone(),
                server: i.server.clone(),
                address: i.address,
                image: crate::jobs::snapshot_name(&job.base, i.version),
                published: Vec::new(),
            };
            let detail = format!("instance of job {} (version {})", job.base, i.version);
            let mut it = item("job", &sc, detail);
            match (o.facts.get(&i.server), o.unread.get(&i.server)) {
                (Some(f), _) => match f.container(&i.name).map(|c| &c.state) {
                    Some(ContainerState::Running) => {}
                    Some(other) => it.set(DOWN, format!("instance {} is {other} on {}", i.name, i.server)),
                    None => {
                        it.set(DOWN, format!("instance {} is lost: its container is gone from {}", i.name, i.server));
                        drift.push(Drift {
                            kind: "missing".into(),
                            family: "job".into(),
                            name: i.name.clone(),
                            server: i.server.clone(),
                            hint: format!(
                                "a lost instance: `flockport scalejob {} {}` re-creates it",
                                job.base, job.count
                            ),
                        });
                    }
                },
                (None, why) => it.set(
                    UNKNOWN,
                    format!("server {} could not be read: {}", i.server, why.map_or("not probed", |w| w)),
                ),
            }
            if let Some(l) = &job.lb {
                it.targets = vec![format!("backend of {} on port {}", l.lb, l.port)];
            }
            items.push(it);
        }
    }

    // On a server, not in state.
    for (server, f) in &o.facts {
        for c in f.containers.iter().filter(|c| !c.is_image()) {
            if !state.containers.contains_key(&c.name)
                && state.service(&c.name).is_none()
                && state.job_instance(&c.name).is_none()
            {
                drift.push(Drift {
                    kind: "unmanaged".into(),
                    family: "container".into(),
                    name: c.name.clone(),
                    server: server.clone(),
                    hint: "not made by flockport (or its record was lost): listed only".into(),
                });
            }
        }
    }

    let healthy = servers.iter().all(|s| s.reachable)
        && items.iter().all(StatusItem::is_up)
        && !drift.iter().any(|d| d.kind == "missing" || d.kind == "stale");
    Status { servers, items, drift, absent: Vec::new(), healthy, millis }
}

/// An endpoint's health from what an endpoint told of raft and gossip: up
/// when it is an alive member and a raft peer of a cluster with a leader.
fn endpoint_health(it: &mut StatusItem, view: &crate::ep::services::RaftView) {
    let at = format!("{}:", it.address);
    let role = if view.leader.starts_with(&at) {
        "leader"
    } else if view.peers.iter().any(|p| p.starts_with(&at)) {
        "follower"
    } else {
        "not a raft peer"
    };
    let member = view.members.iter().find(|m| m.name == it.name || m.addr == it.address);
    let gossip = member.map_or("not a member", |m| m.status_word());
    it.detail = format!("Consul {role}, {gossip}");
    if gossip != "alive" {
        it.set(DOWN, format!("gossip: {gossip}"));
    } else if view.leader.is_empty() {
        it.set(DEGRADED, "the endpoints have no leader");
    } else if role == "not a raft peer" {
        it.set(DEGRADED, "not a raft peer");
    }
}

/// Whether a backend's health word means it serves: `UP` (a TCP check, or
/// HAProxy's), `UP (N healthy in Consul)`, HAProxy's `no check`; not HAProxy's
/// `UP 1/3` (up, but failing its checks on the way down).
fn up_word(h: &str) -> bool {
    h == "UP" || h.starts_with("UP (") || h == "no check"
}

fn lb_detail(rec: &LbRecord) -> String {
    let kind = match rec.kind {
        LbKind::Haproxy => "haproxy",
        LbKind::Nginx => "nginx",
    };
    match &rec.url {
        Some(u) => format!("{kind} {} {u}", rec.mode),
        None => format!("{kind} {}", rec.mode),
    }
}
