//! What every service container shares, whatever runs in it (a load
//! balancer, a webserver, a database instance; endpoints next): the record of
//! the container ([`ServiceContainer`]: family, name, server, address, image,
//! published ports), ownership (only its family's verbs remove it), and `pub`
//! forwards from the server's host addresses to it that come back by
//! themselves when the container starts again (a reboot).
//!
//! Forwards are iptables DNAT rules on the container's server, tagged
//! `flockport:NAME:HOSTPORT`. Each service container's forwards are also
//! listed in [`FORWARDS_DIR`]`/NAME` on its server, and every container
//! flockport makes has [`START_HOOK`] as its `lxc.hook.start-host`: when LXC
//! starts the container (flockport, `lxc-start`, `lxc-autostart` at boot) the
//! hook puts back any rule that is missing. `pub` runs the same hook, so a
//! forward is made one way only.

pub mod container;
mod publish;
pub mod render;
mod tls;

pub use publish::{ForwardSpec, PortUser};
pub use tls::{TlsFiles, SELF_SIGNED_DAYS};

use crate::error::{Error, Result};
use crate::inventory::ServerConfig;
use crate::plan::{Content, Step};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// The families whose records own service containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, crate::api::Record)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Load balancers (`addlb`, removed by `dellb`).
    Lb,
    /// Webservers (`addws`, removed by `delws`).
    Ws,
    /// Database instances (`adddb`, removed by `deldb INSTANCE`).
    Db,
    /// Consul endpoints (`addep`, removed by `delep`).
    Ep,
}

impl Family {
    /// Its name in state and JSON (`lb`).
    pub fn name(self) -> &'static str {
        match self {
            Family::Lb => "lb",
            Family::Ws => "ws",
            Family::Db => "db",
            Family::Ep => "ep",
        }
    }
    /// What people call it.
    pub fn noun(self) -> &'static str {
        match self {
            Family::Lb => "load balancer",
            Family::Ws => "webserver",
            Family::Db => "database instance",
            Family::Ep => "endpoint",
        }
    }
    /// The verb that removes one.
    pub fn delete_verb(self) -> &'static str {
        match self {
            Family::Lb => "dellb",
            Family::Ws => "delws",
            Family::Db => "deldb",
            Family::Ep => "delep",
        }
    }
}

/// A port forward: `host_port` on the server's host addresses to `port` of
/// the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, crate::api::Record)]
pub struct Forward {
    /// The port on the server.
    pub host_port: u16,
    /// The container's port.
    pub port: u16,
}

impl std::fmt::Display for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host_port == self.port {
            write!(f, "{}", self.port)
        } else {
            write!(f, "{}:{}", self.host_port, self.port)
        }
    }
}

/// A container that a service owns, as every family's record holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[record(repr(family, name, server, address, forwards))]
#[record(computed(
    name = "published",
    ty = "Vec<u16>",
    with = "ServiceContainer::host_ports",
    doc = "Host ports forwarded from the server's host addresses (see `forwards` for where each goes)."
))]
pub struct ServiceContainer {
    /// The family that owns it.
    pub family: Family,
    /// Its name (also the service's).
    pub name: String,
    /// The server it runs on.
    pub server: String,
    /// Its static address.
    pub address: Ipv4Addr,
    /// The image (template container) it was cloned from.
    #[serde(default)]
    pub image: String,
    /// Ports forwarded from the server's host addresses.
    #[serde(default)]
    #[record(rename = "forwards")]
    pub published: Vec<Forward>,
}

impl ServiceContainer {
    /// The published host ports.
    pub fn host_ports(&self) -> Vec<u16> {
        self.published.iter().map(|f| f.host_port).collect()
    }
}

/// Shell that sets `INIT` to `systemd` when the server's PID 1 is systemd
/// in the server's own network namespace (its units are the server's), else
/// to `daemon` (e.g. a network namespace as a server: daemons run with
/// their own pid files). Every daemon flockport runs on a server follows it.
pub const DETECT_INIT: &str = r#"c1=; read -r c1 2>/dev/null </proc/1/comm; if [ -d /run/systemd/system ] && [ "$c1" = systemd ] && [ "$(readlink /proc/1/ns/net)" = "$(readlink /proc/self/ns/net)" ]; then INIT=systemd; else INIT=daemon; fi"#;

/// Shell function `daemon_alive PID COMM`: PID runs COMM in this server's
/// network namespace and is not a zombie (servers may share one PID
/// namespace, as the lab's do). Every pid-file daemon flockport runs on a
/// server is found with it.
pub const DAEMON_ALIVE: &str = r#"daemon_alive() {
  case $1 in ''|0|*[!0-9]*) return 1;; esac
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] && [ "$(readlink "/proc/$1/ns/net")" = "$(readlink /proc/self/ns/net)" ] && ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status" 2>/dev/null
}"#;

/// Where a server keeps each service container's forwards.
pub const FORWARDS_DIR: &str = "/var/lib/flockport/forwards";
/// The `lxc.hook.start-host` of every container flockport makes.
pub const START_HOOK: &str = "/var/lib/flockport/hooks/start-host";

/// [`START_HOOK`]: puts back the forwards of container `$LXC_NAME` (or `$1`)
/// listed in [`FORWARDS_DIR`] (lines `HOSTPORT PORT ADDRESS`) that are not in
/// the nat table, and (run by LXC) registers the container's services
/// ([`crate::ep::agents::SERVICES_HOOK`]). It never stops a container from
/// starting: a rule it cannot add is reported on stderr.
pub const START_HOOK_SCRIPT: &str = r#"#!/bin/sh
# Managed by flockport: when LXC starts a container, put back its port
# forwards (flockport pub) listed in /var/lib/flockport/forwards/NAME and
# register its services (flockport addservice).
PATH=${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
n=${LXC_NAME:-$1}
[ -n "$n" ] || exit 0
if [ -n "$LXC_NAME" ] && [ -x /var/lib/flockport/hooks/services ]; then
  /var/lib/flockport/hooks/services start "$n"
fi
f=${FLOCKPORT_FORWARDS_DIR:-/var/lib/flockport/forwards}/$n
[ -f "$f" ] || exit 0
rc=0
while read -r hp port addr; do
  [ -n "$addr" ] || continue
  for chain in PREROUTING OUTPUT; do
    set -- "$chain" -p tcp --dport "$hp" -m addrtype --dst-type LOCAL -m comment --comment "flockport:$n:$hp" -j DNAT --to-destination "$addr:$port"
    iptables -w -t nat -C "$@" 2>/dev/null && continue
    iptables -w -t nat -A "$@" || { echo "flockport: cannot restore the forward of port $hp to $n ($chain)" >&2; rc=1; }
  done
done < "$f"
[ -n "$LXC_NAME" ] && exit 0
exit $rc
"#;

/// The `lxc.hook.post-stop` of every container flockport makes or gives
/// services: withdraws the container's services when it stops, however it
/// stops (flockport, `lxc-stop`, a shutdown from inside, its init dying).
pub const STOP_HOOK: &str = "/var/lib/flockport/hooks/post-stop";

/// [`STOP_HOOK`]'s script (never fails).
pub const STOP_HOOK_SCRIPT: &str = r#"#!/bin/sh
# Managed by flockport: when a container stops, withdraw its services
# (flockport addservice) from this server's Consul agent.
n=${LXC_NAME:-$1}
if [ -n "$n" ] && [ -x /var/lib/flockport/hooks/services ]; then
  /var/lib/flockport/hooks/services stop "$n"
fi
exit 0
"#;

/// Removes the rules of forwards `$3`... (`HOSTPORT:PORT`) of container `$1`
/// at address `$2` where they exist: removing a forward that a reboot or a
/// flushed nat table already took away succeeds.
pub const REMOVE_FORWARDS_SCRIPT: &str = r#"n=$1; addr=$2; shift 2
for fw in "$@"; do
  hp=${fw%%:*}; port=${fw##*:}
  for chain in PREROUTING OUTPUT; do
    set -- "$chain" -p tcp --dport "$hp" -m addrtype --dst-type LOCAL -m comment --comment "flockport:$n:$hp" -j DNAT --to-destination "$addr:$port"
    while :; do
      iptables -w -t nat -C "$@" 2>/dev/null; rc=$?
      [ "$rc" -eq 0 ] || break
      iptables -w -t nat -D "$@" || exit 1
    done
    [ "$rc" -eq 1 ] || { echo "iptables could not check the forward of port $hp to $n (exit $rc)" >&2; exit "$rc"; }
  done
done"#;

/// The lines of [`FORWARDS_DIR`]`/NAME` for `sc`'s forwards.
pub fn forwards_file(sc: &ServiceContainer) -> String {
    sc.published.iter().map(|f| format!("{} {} {}\n", f.host_port, f.port, sc.address)).collect()
}

/// Steps that install [`START_HOOK`] and [`STOP_HOOK`] on a server
/// (idempotent; every container flockport makes refers to them).
pub fn hook_steps(server: &ServerConfig) -> Vec<Step> {
    vec![
        Step::write_file(
            &server.name,
            "install flockport's container start hook (puts back port forwards, registers services)",
            START_HOOK,
            0o755,
            Content::text(START_HOOK_SCRIPT),
        ),
        Step::write_file(
            &server.name,
            "install flockport's container stop hook (withdraws services)",
            STOP_HOOK,
            0o755,
            Content::text(STOP_HOOK_SCRIPT),
        ),
    ]
}

/// Steps that make `sc`'s forwards what its record says: the forwards file,
/// then the hook run for it (adds what is missing).
pub fn apply_forwards_steps(server: &ServerConfig, sc: &ServiceContainer) -> Vec<Step> {
    let file = format!("{FORWARDS_DIR}/{}", sc.name);
    let mut steps = hook_steps(server);
    steps.push(crate::lxc::autostart_hook_step(server, &sc.name));
    steps.push(Step::write_file(
        &server.name,
        format!("record the forwards of {}", sc.name),
        file,
        0o644,
        Content::text(forwards_file(sc)),
    ));
    let shown: Vec<String> = sc.published.iter().map(|f| f.to_string()).collect();
    steps.push(Step::run(
        &server.name,
        format!("forward {} on {}'s host addresses to {} ({})", shown.join(", "), server.name, sc.name, sc.address),
        vec![START_HOOK.to_string(), sc.name.clone()],
    ));
    steps
}

/// Steps that remove `forwards` of `sc` (rules and their lines in the file);
/// `rest` is what stays published.
pub fn remove_forwards_steps(server: &ServerConfig, sc: &ServiceContainer, forwards: &[Forward]) -> Vec<Step> {
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        REMOVE_FORWARDS_SCRIPT.into(),
        "sh".into(),
        sc.name.clone(),
        sc.address.to_string(),
    ];
    argv.extend(forwards.iter().map(|f| format!("{}:{}", f.host_port, f.port)));
    let shown: Vec<String> = forwards.iter().map(|f| f.to_string()).collect();
    let mut rest = sc.clone();
    rest.published.retain(|f| !forwards.contains(f));
    let file = format!("{FORWARDS_DIR}/{}", sc.name);
    let record = if rest.published.is_empty() {
        Step::run(&server.name, format!("forget the forwards of {}", sc.name), vec!["rm".into(), "-f".into(), file])
    } else {
        Step::write_file(
            &server.name,
            format!("record the forwards of {}", sc.name),
            file,
            0o644,
            Content::text(forwards_file(&rest)),
        )
    };
    vec![record, Step::run(&server.name, format!("remove the forward of {} to {}", shown.join(", "), sc.name), argv)]
}

/// The error for removing, outside its family, a container a service owns.
pub fn owned_error(container: &str, sc: &ServiceContainer) -> Error {
    Error::invalid(
        "container",
        container,
        format!(
            "it is the container of {} {}; remove it with `flockport {} {}`",
            sc.family.noun(),
            sc.name,
            sc.family.delete_verb(),
            sc.name
        ),
    )
}

/// Checks that `name` is free for a new container or service: unused in
/// state (containers and every family) and on the probed servers.
pub fn check_name_free(
    state: &crate::state::State,
    facts: &std::collections::BTreeMap<String, crate::lxc::ServerFacts>,
    kind: &'static str,
    name: &str,
) -> Result<()> {
    if let Some(sc) = state.service(name) {
        return Err(Error::exists(kind, name, format!("{} {name} uses that name; pick another", sc.family.noun())));
    }
    if state.containers.contains_key(name) {
        return Err(Error::exists(kind, name, "a container uses that name; names are unique across the cluster"));
    }
    for f in facts.values() {
        if let Some(c) = f.container(name) {
            return Err(Error::exists(
                kind,
                name,
                format!("a container of that name exists on server {}; names are unique across the cluster", c.server),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
