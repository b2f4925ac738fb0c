//! Floating IPs (Flockport's "High availability" section): `addvip`,
//! `listvips`, `delvip`. keepalived (Debian's package) runs on the two
//! servers themselves, not in containers: one VRRP instance per floating IP,
//! unicast between the servers' LAN addresses, the first server the master
//! (higher priority), no preemption (a recovered server does not take the
//! address back), VRRPv2 with PASS authentication for whole-second adverts,
//! VRRPv3 for sub-second ones, optional tracked ports (`vrrp_script`).
//!
//! `spec.rs` holds the types and checks, `steps.rs` the probe, the
//! rendered config and the step builders; this file the `Cluster` verbs:
//! validate -> probe both servers (one round trip each) -> plan -> execute
//! (one round trip per server, rollback everywhere on failure) -> commit.

pub mod spec;
pub mod steps;

pub use spec::{TrackStatus, Vip, VipInfo, VipMember, VipRecord, VipServerStatus, VipSpec};
pub use steps::Init;

use crate::cluster::{Applied, ApplyOptions, Cluster};
use crate::error::{Error, Result};
use crate::inventory::ServerConfig;
use crate::names;
use crate::plan::{Content, Plan, Progress};
use crate::state::State;
use spec::{CheckedSpec, IfAddr, BACKUP_PRIORITY, MASTER_PRIORITY, NAME_PREFIX};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use steps::VipFacts;

/// How long the second server waits for the first to take a new floating IP
/// up, beyond the RFC's master-down time (the first may still be installing
/// keepalived, or waiting for the dpkg lock).
pub const TAKE_UP_SLACK_SECS: u32 = 30;

/// Finds floating IP `name` in the state.
fn find_vip<'a>(state: &'a State, name: &str) -> Result<&'a VipRecord> {
    crate::state::find(&state.vips, "floating IP", name, "flockport addvip")
}

/// The server's own address: its inventory host when that is an IPv4
/// address, else the address its SSH connection reached.
fn own_address(server: &ServerConfig, facts: &VipFacts) -> Option<Ipv4Addr> {
    server.host.as_deref().and_then(|h| h.parse().ok()).or(facts.ssh_address)
}

impl Cluster {
    /// Probes servers for floating IPs in parallel (one round trip each):
    /// `arp` is ARP-probed from each, `tracks` (per server) checked.
    async fn vip_probe_all(
        &self,
        servers: &[&str],
        arp: Option<Ipv4Addr>,
        tracks: &BTreeMap<String, Vec<(Ipv4Addr, u16)>>,
    ) -> Vec<(String, Result<VipFacts>)> {
        let futs = servers.iter().map(|name| async move {
            let r = async {
                let s = self.server(name)?;
                let t = self.transport(s)?;
                let argv = steps::probe_argv(arp, tracks.get(*name).map(Vec::as_slice).unwrap_or(&[]));
                let out = t.exec(argv.clone(), None).await?.check(name, &argv)?;
                steps::parse_probe(name, &out.stdout_str())
            }
            .await;
            (name.to_string(), r)
        });
        futures::future::join_all(futs).await
    }

    /// `addvip`: floating IP `spec.ip` between two servers, keepalived
    /// installed where missing, configured, checked and running; the first
    /// server holds the address when it returns. Run again with the same
    /// arguments it makes both servers match the record (and changes
    /// nothing that already does); with other arguments for an existing
    /// name it is refused.
    pub async fn add_vip(&self, spec: VipSpec, opts: ApplyOptions, progress: &dyn Progress) -> Result<Applied<Vip>> {
        // Everything given is checked before anything is contacted.
        let inventory: Vec<&str> = self.servers().iter().map(|s| s.name.as_str()).collect();
        let spec = spec.check(&inventory)?;
        let hosts: Vec<(String, String)> =
            self.servers().iter().filter_map(|s| s.host.clone().map(|h| (s.name.clone(), h))).collect();
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        let existing = self.existing_vip(&spec, &state)?;
        spec.check_against_state(&state, existing.map(|r| r.vip.name.as_str()), &hosts)?;
        let (s1, s2) = (self.server(&spec.server1)?.clone(), self.server(&spec.server2)?.clone());

        let arp = if existing.is_none() { Some(spec.ip) } else { None };
        let mut facts = BTreeMap::new();
        for (name, r) in self.vip_probe_all(&[&s1.name, &s2.name], arp, &BTreeMap::new()).await {
            facts.insert(name, r?);
        }
        let (f1, f2) = (&facts[&s1.name], &facts[&s2.name]);
        let lan1 = spec::lan_of(&s1.name, &f1.addrs, own_address(&s1, f1))?;
        let lan2 = spec::lan_of(&s2.name, &f2.addrs, own_address(&s2, f2))?;
        spec::check_interface(&s1.name, &lan1.interface)?;
        spec::check_interface(&s2.name, &lan2.interface)?;
        let network = spec::check_lan(spec.ip, (&s1.name, &lan1), (&s2.name, &lan2))?;
        if existing.is_none() {
            self.check_vip_unused(&spec, &facts)?;
        }
        let member = |s: &ServerConfig, lan: &IfAddr, priority: u8| VipMember {
            server: s.name.clone(),
            address: lan.address,
            interface: lan.interface.clone(),
            priority,
        };
        let (master, backup) = (member(&s1, &lan1, MASTER_PRIORITY), member(&s2, &lan2, BACKUP_PRIORITY));

        let mut st = state.clone();
        let record = match existing {
            Some(rec) => {
                if rec.vip.master != master || rec.vip.backup != backup || rec.vip.network != network {
                    return Err(Error::invalid(
                        "floating IP",
                        &rec.vip.name,
                        format!(
                            "the servers' LAN changed since it was added (now {} on {} {}, {} on {} {}); delvip it and add it again",
                            master.address, master.server, master.interface, backup.address, backup.server, backup.interface
                        ),
                    ));
                }
                rec.clone()
            }
            None => {
                let name = match &spec.name {
                    Some(n) => n.clone(),
                    None => {
                        let taken = state.clone();
                        st.next_name(NAME_PREFIX, |n| taken.name_taken(n))
                    }
                };
                let mut used: Vec<u8> =
                    state.vips.values().filter(|v| v.vip.network == network).map(|v| v.vip.vrid).collect();
                used.extend(f1.vrids.iter().chain(&f2.vrids));
                let vrid = spec::pick_vrid(network, &used)?;
                let auth_pass = if spec.version == 2 { Some(spec::new_auth_pass()?) } else { None };
                VipRecord {
                    vip: Vip {
                        name,
                        ip: spec.ip,
                        network,
                        master,
                        backup,
                        vrid,
                        advert_centis: spec.advert_centis,
                        version: spec.version,
                        track: spec.track.clone(),
                    },
                    auth_pass,
                }
            }
        };
        let name = record.vip.name.clone();
        let new = existing.is_none();
        let mut plan = Plan::new(format!(
            "addvip {} {} {} -n {name} --advert-int {}{}",
            spec.server1,
            spec.server2,
            spec.ip,
            record.vip.advert_text(),
            record.vip.track.iter().map(|p| format!(" --track {p}")).collect::<String>()
        ));
        for (s, f, me) in [(&s1, f1, &record.vip.master), (&s2, f2, &record.vip.backup)] {
            let config = steps::render_config(&record, me)?;
            let needs_config = f.files.get(&name) != Some(&steps::sha256_hex(&config)) || !f.include;
            let needs_start = f.running.is_none();
            if f.keepalived.is_none() {
                plan.steps.push(steps::install_step(s));
            }
            if needs_config || needs_start {
                plan.steps.extend(steps::helper_steps(s));
            }
            if needs_config {
                let undo = if f.files.contains_key(&name) { steps::Undo::Keep } else { steps::Undo::New };
                plan.steps.extend(steps::config_steps(s, &name, config_content(&record, config)));
                plan.rollback.extend(steps::rollback_steps(s, &name, f.init(), undo));
            }
            if needs_start && f.has_address(record.vip.ip) {
                // Left behind by a keepalived that was killed: no keepalived owns it.
                plan.steps.push(steps::release_step(s, &me.interface, record.vip.ip, network.prefix_len(), 0));
            }
            if new && me.server == record.vip.backup.server {
                let secs = record.vip.master_down_secs().ceil() as u32 + TAKE_UP_SLACK_SECS;
                plan.steps.push(steps::wait_held_step(s, &me.interface, record.vip.ip, secs));
            }
            if needs_config || needs_start {
                plan.steps.push(steps::activate_step(s, f.init()));
            }
        }
        plan.state_changes.push(if new {
            format!(
                "add floating IP {name} ({} on {} -> {}, vrid {}, VRRPv{}, advert {} s)",
                record.vip.ip,
                record.vip.master.server,
                record.vip.backup.server,
                record.vip.vrid,
                record.vip.version,
                record.vip.advert_text()
            )
        } else {
            format!("floating IP {name} unchanged (both servers made to match it)")
        });
        let counters = st.counters.clone();
        let vip = record.vip.clone();
        self.finish(plan, txn, vip, opts, progress, |st| {
            st.counters = counters;
            st.vips.insert(name, record);
            Ok(())
        })
        .await
    }

    /// The record `spec` names again: by `-n NAME` (refused when its
    /// arguments differ, or the name belongs to something else), or without
    /// a name the floating IP with the same address and arguments.
    fn existing_vip<'a>(&self, spec: &CheckedSpec, state: &'a State) -> Result<Option<&'a VipRecord>> {
        if let Some(n) = &spec.name {
            return match state.vips.get(n) {
                Some(rec) if spec.same_as(&rec.vip) => Ok(Some(rec)),
                Some(rec) => Err(Error::exists(
                    "floating IP",
                    n,
                    format!(
                        "it has other settings: {}; run addvip with its own arguments, or delvip it first",
                        spec.differences(&rec.vip)
                    ),
                )),
                None if state.name_taken(n) => {
                    Err(Error::exists("floating IP", n, "a container or service uses that name; pick another -n NAME"))
                }
                None => Ok(None),
            };
        }
        Ok(state.vips.values().find(|v| v.vip.ip == spec.ip && spec.same_as(&v.vip)))
    }

    /// A new floating IP must be no address of either server and must not
    /// answer ARP on the LAN.
    fn check_vip_unused(&self, spec: &CheckedSpec, facts: &BTreeMap<String, VipFacts>) -> Result<()> {
        for (server, f) in facts {
            if let Some(a) = f.addrs.iter().find(|a| a.address == spec.ip) {
                return Err(Error::invalid(
                    "floating IP",
                    spec.ip.to_string(),
                    format!("it is an address of server {server} (on {})", a.interface),
                ));
            }
        }
        for (server, f) in facts {
            if f.arp_answers == Some(true) {
                return Err(Error::invalid(
                    "floating IP",
                    spec.ip.to_string(),
                    format!(
                        "something already answers for it on the LAN (ARP probe from server {server}); reserve a free address"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `listvips`: every floating IP as its servers see it now (one round
    /// trip per server, in parallel): which server holds the address,
    /// keepalived's state on each, tracked ports. A server that could not
    /// be read has its `error` set.
    pub async fn vips(&self) -> Result<Vec<VipInfo>> {
        let state = self.store().load().await?;
        let tracks = tracks_by_server(&state);
        let servers: Vec<&str> = tracks.keys().map(String::as_str).collect();
        let facts: BTreeMap<String, Result<VipFacts>> =
            self.vip_probe_all(&servers, None, &tracks).await.into_iter().collect();
        Ok(state.vips.values().map(|rec| vip_info(rec, &facts)).collect())
    }

    /// `delvip`: removes floating IP `name` from both servers (checked with
    /// `keepalived -t` first); the address is off both when it returns;
    /// keepalived reloads where other floating IPs remain and stops where
    /// none (and none of the user's own instances) is left.
    pub async fn del_vip(&self, name: &str, opts: ApplyOptions) -> Result<Applied<Vip>> {
        names::check_name("floating IP name", name)?;
        let txn = self.store().begin().await?;
        let rec = find_vip(txn.state(), name)?.clone();
        let servers: Vec<&str> = rec.vip.members().iter().map(|m| m.server.as_str()).collect();
        let mut facts = BTreeMap::new();
        for (s, r) in self.vip_probe_all(&servers, None, &BTreeMap::new()).await {
            facts.insert(s, r?);
        }
        let mut plan = Plan::new(format!("delvip {name}"));
        for me in rec.vip.members() {
            let s = self.server(&me.server)?.clone();
            let f = &facts[&me.server];
            if f.keepalived.is_some() {
                plan.steps.extend(steps::remove_steps(&s, name));
                plan.steps.push(steps::activate_step(&s, f.init()));
                let undo = match f.files.contains_key(name) {
                    true => steps::Undo::Restore(config_content(&rec, steps::render_config(&rec, me)?)),
                    false => steps::Undo::Keep,
                };
                plan.rollback.extend(steps::rollback_steps(&s, name, f.init(), undo));
            }
            // keepalived releases it on reload or stop; one killed left it behind.
            plan.steps.push(steps::release_step(&s, &me.interface, rec.vip.ip, rec.vip.network.prefix_len(), 30));
        }
        plan.state_changes.push(format!("remove floating IP {name} ({})", rec.vip.ip));
        self.finish(plan, txn, rec.vip.clone(), opts, &crate::plan::NoProgress, |st| {
            st.vips.remove(name);
            Ok(())
        })
        .await
    }
}

/// A rendered config as plan content: a secret when it holds the VRRP password.
fn config_content(rec: &VipRecord, config: String) -> Content {
    if rec.auth_pass.is_some() {
        Content::secret(config.into_bytes())
    } else {
        Content::text(config)
    }
}

/// A floating IP as its servers' probes show it.
pub(crate) fn vip_info(rec: &VipRecord, facts: &BTreeMap<String, Result<VipFacts>>) -> VipInfo {
    let vip = &rec.vip;
    let mut servers = Vec::new();
    for (m, role) in [(&vip.master, "master"), (&vip.backup, "backup")] {
        let status = match facts.get(&m.server) {
            Some(Ok(f)) => {
                let keepalived = if f.running.is_none() {
                    "STOPPED".to_string()
                } else {
                    f.states.get(&vip.name).cloned().unwrap_or_else(|| "unknown".into())
                };
                VipServerStatus {
                    server: m.server.clone(),
                    role: role.into(),
                    keepalived,
                    has_address: f.has_address(vip.ip),
                    tracks: vip
                        .track
                        .iter()
                        .map(|p| TrackStatus {
                            port: *p,
                            up: f.tracks.get(&format!("{}:{p}", m.address)).copied().unwrap_or(false),
                        })
                        .collect(),
                    error: None,
                }
            }
            Some(Err(e)) => VipServerStatus {
                server: m.server.clone(),
                role: role.into(),
                keepalived: "unknown".into(),
                has_address: false,
                tracks: Vec::new(),
                error: Some(e.to_string()),
            },
            None => VipServerStatus {
                server: m.server.clone(),
                role: role.into(),
                keepalived: "unknown".into(),
                has_address: false,
                tracks: Vec::new(),
                error: Some("not probed".into()),
            },
        };
        servers.push(status);
    }
    let address_on: Vec<String> = servers.iter().filter(|s| s.has_address).map(|s| s.server.clone()).collect();
    let masters: Vec<&VipServerStatus> = servers.iter().filter(|s| s.has_address && s.keepalived == "MASTER").collect();
    let holder = match (masters.as_slice(), address_on.as_slice()) {
        ([one], _) => Some(one.server.clone()),
        ([], [only]) => Some(only.clone()),
        _ => None,
    };
    VipInfo { vip: vip.clone(), holder, address_on, servers }
}

/// Each server holding a floating IP, with the ports its probe checks
/// (every floating IP's tracked ports on that server's own address).
pub(crate) fn tracks_by_server(state: &crate::state::State) -> BTreeMap<String, Vec<(Ipv4Addr, u16)>> {
    let mut tracks: BTreeMap<String, Vec<(Ipv4Addr, u16)>> = BTreeMap::new();
    for rec in state.vips.values() {
        for m in rec.vip.members() {
            let t = tracks.entry(m.server.clone()).or_default();
            t.extend(rec.vip.track.iter().map(|p| (m.address, *p)));
        }
    }
    tracks
}

#[cfg(test)]
mod tests;
