//! Floating IPs on a server: pure builders of the probe, the keepalived
//! configuration (tera template `keepalived-vip.conf.tera`) and the steps
//! that install, check (`keepalived -t`), swap in, reload, start and stop
//! keepalived. No I/O here: every command line goes through `quote_argv`
//! when the plan runs, and scripts take their values as positional
//! parameters.
//!
//! Layout on a server: `/etc/keepalived/keepalived.conf` stays the user's and
//! gets one line, `include /etc/keepalived/flockport/*.conf`; each floating IP
//! is `/etc/keepalived/flockport/NAME.conf` (staged as `.NAME.conf.next`;
//! a rollback rewrites or removes it from the record). Without systemd
//! keepalived runs as a daemon with its pid files, log and flockport's
//! helpers under `/var/lib/flockport/keepalived/` (per server, also where
//! servers share `/run`); with systemd, through its unit. [`Init`] is the one
//! place that decides which.

use super::spec::{IfAddr, Vip, VipMember, VipRecord};
use crate::error::{Error, Result};
use crate::inventory::ServerConfig;
use crate::plan::{Content, Step};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::OnceLock;
use tera::{Context, Tera};

/// keepalived's directory.
pub const KEEPALIVED_DIR: &str = "/etc/keepalived";
/// keepalived's main configuration (the user's; flockport adds one include line).
pub const MAIN_CONF: &str = "/etc/keepalived/keepalived.conf";
/// Where flockport's floating IPs live, one file each.
pub const VIP_DIR: &str = "/etc/keepalived/flockport";
/// The line of [`MAIN_CONF`] that includes them.
pub const INCLUDE_LINE: &str = "include /etc/keepalived/flockport/*.conf";
/// Per-server runtime files: pid files, log (`keepalived.log`, daemon mode),
/// helpers, instance states.
pub const RUN_DIR: &str = "/var/lib/flockport/keepalived";
/// keepalived's `vrrp_script` of a tracked port.
pub const CHECK_PORT: &str = "/var/lib/flockport/keepalived/check-port";
/// keepalived's `notify` script: records each instance's state.
pub const NOTIFY: &str = "/var/lib/flockport/keepalived/notify";
/// The parent keepalived's pid file (daemon mode).
pub const PID_FILE: &str = "/var/lib/flockport/keepalived/keepalived.pid";
/// The VRRP child's pid file (daemon mode).
pub const VRRP_PID_FILE: &str = "/var/lib/flockport/keepalived/vrrp.pid";

/// How keepalived runs on a server: decided once, by the probe ([`PROBE`]),
/// and every start, reload and stop follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// PID 1 is systemd and shares the server's network namespace: the
    /// `keepalived` unit (start, `systemctl reload`, stop).
    Systemd,
    /// Anything else (e.g. a network namespace as a server): keepalived as a
    /// daemon with its own pid files in [`RUN_DIR`]; reload is SIGHUP.
    Daemon,
}

impl Init {
    fn arg(self) -> &'static str {
        match self {
            Init::Systemd => "systemd",
            Init::Daemon => "daemon",
        }
    }
}

/// Shell prelude of every script: paths, the live keepalived's pid
/// (`kpid`: alive, named keepalived, in this server's network namespace),
/// and `answers DEV IP SECONDS` (an ARP probe: arping when installed, else
/// ping and the neighbour table).
const FUNCS: &str = r#"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
K=/etc/keepalived; D=/etc/keepalived/flockport; R=/var/lib/flockport/keepalived
kpid() {
  if [ "$INIT" = systemd ]; then p=$(systemctl show -p MainPID --value keepalived 2>/dev/null)
  else p=; read -r p 2>/dev/null <"$R/keepalived.pid"; fi
  case $p in ''|0|*[!0-9]*) return 1;; esac
  c=; read -r c 2>/dev/null <"/proc/$p/comm"; [ "$c" = keepalived ] || return 1
  [ "$(readlink "/proc/$p/ns/net")" = "$(readlink /proc/self/ns/net)" ] || return 1
  grep -q '^State:[[:space:]]*[ZX]' "/proc/$p/status" 2>/dev/null && return 1
  echo "$p"
}
answers() {
  if command -v arping >/dev/null 2>&1; then arping -q -c "$3" -w "$3" -I "$1" "$2" >/dev/null 2>&1; return; fi
  ip neigh flush to "$2" dev "$1" >/dev/null 2>&1
  ping -q -c 1 -W "$3" -I "$1" "$2" >/dev/null 2>&1
  ip neigh show to "$2" dev "$1" 2>/dev/null | grep -q lladdr
}
"#;

/// The probe (read only, one round trip): `$1` an address to ARP-probe
/// ("" for none), then `ADDR:PORT`s whose TCP service to check. Prints
/// tab-separated lines: `init`, `keepalived VERSION`, `ssh CONNECTION`,
/// `addr DEV CIDR`, `running PID`, `file NAME SHA256`, `include`,
/// `vrid N`, `state NAME STATE`, `arp answers|silent|off-link`,
/// `track ADDR:PORT up|down`.
pub const PROBE: &str = r#"printf 'init\t%s\n' "$INIT"
[ -n "$LIGHT" ] || { command -v keepalived >/dev/null 2>&1 && printf 'keepalived\t%s\n' "$(keepalived --version 2>&1 | head -n 1)"; }
printf 'ssh\t%s\n' "${SSH_CONNECTION:-}"
ip -o -4 addr show | while read -r _ dev _ cidr _; do printf 'addr\t%s\t%s\n' "${dev%%@*}" "$cidr"; done
p=$(kpid) && printf 'running\t%s\n' "$p"
if [ -z "$LIGHT" ]; then
for f in "$D"/*.conf; do [ -f "$f" ] || continue; n=${f##*/}; printf 'file\t%s\t%s\n' "${n%.conf}" "$(sha256sum <"$f" | cut -c1-64)"; done
grep -qxF "include $D/*.conf" "$K/keepalived.conf" 2>/dev/null && printf 'include\n'
grep -rhoE 'virtual_router_id[[:space:]]+[0-9]+' "$K" 2>/dev/null | while read -r _ v; do printf 'vrid\t%s\n' "$v"; done
fi
for f in "$R"/state/*; do [ -f "$f" ] && { v=; read -r v <"$f"; printf 'state\t%s\t%s\n' "${f##*/}" "$v"; }; done
arp=$1; shift
if [ -n "$arp" ]; then
  route=$(ip -o -4 route get "$arp" 2>/dev/null); dev=$(printf '%s' "$route" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
  case $route in
    *" via "*|local*|"") printf 'arp\toff-link\n' ;;
    *) if answers "$dev" "$arp" 2; then printf 'arp\tanswers\n'; else printf 'arp\tsilent\n'; fi ;;
  esac
fi
for t in "$@"; do
  if timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "${t%:*}" "${t##*:}" >/dev/null 2>&1; then printf 'track\t%s\tup\n' "$t"; else printf 'track\t%s\tdown\n' "$t"; fi
done
exit 0"#;

/// [`CHECK_PORT`]: keepalived's check of a tracked port.
pub const CHECK_PORT_SCRIPT: &str = r#"#!/bin/sh
# Managed by flockport: keepalived's check of a tracked port (addvip --track).
# Succeeds when something accepts a TCP connection on address $1, port $2,
# within 1 s.
exec timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" >/dev/null 2>&1
"#;

/// [`NOTIFY`]: keepalived's `notify` (`INSTANCE fp_NAME STATE PRIORITY`):
/// records the state in `RUN_DIR/state/NAME` for `listvips`.
pub const NOTIFY_SCRIPT: &str = r#"#!/bin/sh
# Managed by flockport: keepalived's notify script. Records the state of the
# VRRP instance fp_NAME in /var/lib/flockport/keepalived/state/NAME (listvips).
[ "$1" = INSTANCE ] || exit 0
n=${2#fp_}; d=/var/lib/flockport/keepalived/state
mkdir -p "$d" && printf '%s\n' "$3" >"$d/.$n.tmp" && mv -f "$d/.$n.tmp" "$d/$n"
"#;

/// Installs Debian's keepalived where it is missing (waits for the dpkg
/// lock: on a shared machine another install may hold it).
const INSTALL: &str = r#"command -v keepalived >/dev/null 2>&1 && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get -q -y -o DPkg::Lock::Timeout=600 install keepalived || { apt-get -q -o DPkg::Lock::Timeout=600 update && apt-get -q -y -o DPkg::Lock::Timeout=600 install keepalived; }"#;

/// Checks the configuration the server would have with floating IP `$1`'s
/// file replaced by `$2` (or removed when `$2` is empty): the user's
/// keepalived.conf with flockport's include pointed at a staged copy of the
/// directory, through `keepalived -t` (exit 5 for errors; 6 when scripts
/// would run as root without `enable_script_security`, accepted when that
/// is its only complaint). Nothing live changes.
const CHECK: &str = r#"n=$1; new=$2
t=$(mktemp -d "$K/.flockport-check.XXXXXX") || exit 1
trap 'rm -rf "$t" "$t.conf" "$t.log" "$t.out"' EXIT
for f in "$D"/*.conf; do [ -f "$f" ] && [ "$f" != "$D/$n.conf" ] && { cp "$f" "$t/" || exit 1; }; done
[ -z "$new" ] || cp "$new" "$t/$n.conf" || exit 1
{ [ -f "$K/keepalived.conf" ] && grep -vxF "include $D/*.conf" "$K/keepalived.conf"; printf 'include %s/*.conf\n' "$t"; } >"$t.conf"
keepalived --config-test="$t.log" -f "$t.conf" >"$t.out" 2>&1; rc=$?
# 6: only a warning that scripts run as root without enable_script_security
# (a global setting of the user's, left alone); any other line is an error.
if [ "$rc" -eq 6 ] && ! grep -qv 'SECURITY VIOLATION - scripts are being executed but script_security not enabled' "$t.log"; then rc=0; fi
if [ "$rc" -ne 0 ]; then cat "$t.log" "$t.out" 2>/dev/null | sed "s|$t|$D|g" >&2; exit "$rc"; fi"#;

/// Swaps floating IP `$1`'s staged file in (`$2` = add) or removes it
/// (`del`); `add` also makes sure keepalived.conf includes flockport's
/// directory (created when absent, the line appended otherwise; the user's
/// settings stay).
const SWAP: &str = r##"n=$1; inc="include $D/*.conf"
if [ "$2" = del ]; then rm -f "$D/$n.conf"; exit; fi
mkdir -p "$D" || exit 1
if [ ! -f "$K/keepalived.conf" ]; then
  printf '%s\n' "# keepalived configuration: your own settings go here. flockport manages only" "# the files included below (its floating IPs: flockport addvip / delvip)." "$inc" >"$K/keepalived.conf" || exit 1
elif ! grep -qxF "$inc" "$K/keepalived.conf"; then
  printf '\n# flockport addvip / delvip: the floating IPs flockport manages\n%s\n' "$inc" >>"$K/keepalived.conf" || exit 1
fi
mv -f "$D/.$n.conf.next" "$D/$n.conf""##;

/// Undoes a change of floating IP `$1`'s file: the staged file removed,
/// and with `$2` = new the live one too (it did not exist before).
const FORGET: &str = r#"rm -f "$D/.$1.conf.next"
if [ "$2" = new ]; then rm -f "$D/$1.conf"; fi"#;

const ACTIVATE: &str = r#"INIT=$1
left=no; for f in "$D"/*.conf; do [ -f "$f" ] && left=yes; done
need=$left; grep -Eq '^[[:space:]]*(vrrp_instance|vrrp_sync_group|virtual_server)' "$K/keepalived.conf" 2>/dev/null && need=yes
if [ "$INIT" = systemd ]; then
  if systemctl is-active -q keepalived; then
    if [ "$need" = no ]; then systemctl stop keepalived && systemctl disable -q keepalived; exit; fi
    exec systemctl reload keepalived
  fi
  [ "$2" = apply ] && [ "$left" = yes ] || exit 0
  systemctl enable -q keepalived && exec systemctl start keepalived
fi
if p=$(kpid); then
  if [ "$need" = yes ]; then exec kill -HUP "$p"; fi
  kill -TERM "$p" || exit 1
  i=0; while kpid >/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  if kpid >/dev/null; then echo "keepalived (pid $p) did not stop within 10 s" >&2; exit 1; fi
  rm -f "$R/keepalived.pid" "$R/vrrp.pid" "$R/checkers.pid"; exit 0
fi
[ "$2" = apply ] && [ "$left" = yes ] || exit 0
mkdir -p "$R" && rm -f "$R/keepalived.pid" "$R/vrrp.pid" "$R/checkers.pid"
# In the foreground of a session of its own, logging to its file (Debian's
# build has no --log-file; without systemd there may be no syslog).
setsid keepalived --dont-fork --log-console -f "$K/keepalived.conf" -p "$R/keepalived.pid" -r "$R/vrrp.pid" -c "$R/checkers.pid" </dev/null >>"$R/keepalived.log" 2>&1 &
i=0; while ! kpid >/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done
if ! kpid >/dev/null; then echo "keepalived did not start (no live pid in $R/keepalived.pid); its log:" >&2; tail -n 5 "$R/keepalived.log" >&2; exit 1; fi"#;

/// Waits until something answers ARP for `$2` on `$1` (at most `$3` s):
/// the first server took the floating IP up.
const WAIT_HELD: &str = r#"end=$(( $(date +%s) + $3 ))
while :; do
  answers "$1" "$2" 1 && exit 0
  [ "$(date +%s)" -lt "$end" ] || break
  sleep 0.2
done
echo "nobody answered for floating IP $2 on $1 within $3 s: the first server's keepalived did not take it up" >&2
exit 1"#;

/// Makes sure `$2` (ADDR/PREFIX) is not on interface `$1`: waits up to
/// `$3` tenths of a second for keepalived to release it, then removes it
/// (keepalived killed with SIGKILL leaves its addresses behind).
const RELEASE: &str = r#"a=${2%/*}; i=0
while ip -o -4 addr show dev "$1" | grep -qF "inet $a/"; do
  [ "$i" -ge "$3" ] && { ip addr del "$2" dev "$1"; exit; }
  sleep 0.1; i=$((i+1))
done"#;

fn script(server: &str, description: impl Into<String>, body: &str, args: &[&str]) -> Step {
    let mut argv = vec!["sh".to_string(), "-c".into(), format!("{FUNCS}{body}"), "sh".into()];
    argv.extend(args.iter().map(|a| a.to_string()));
    Step::run(server, description, argv)
}

/// The argv of the probe of a server: ARP-probe `arp` (if any), check `tracks`.
pub fn probe_argv(arp: Option<Ipv4Addr>, tracks: &[(Ipv4Addr, u16)]) -> Vec<String> {
    probe_argv_with(arp, tracks, "")
}

/// [`probe_argv`] for `status`: what tells which server holds each address
/// and keepalived's states (init, addresses, live pid, recorded states,
/// tracked ports), without what only a change needs (keepalived's version,
/// flockport's files' hashes, the include line, virtual router ids).
pub fn light_probe_argv(tracks: &[(Ipv4Addr, u16)]) -> Vec<String> {
    probe_argv_with(None, tracks, "LIGHT=1\n")
}

fn probe_argv_with(arp: Option<Ipv4Addr>, tracks: &[(Ipv4Addr, u16)], pre: &str) -> Vec<String> {
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        format!("{pre}{FUNCS}{}\n{PROBE}", crate::service::DETECT_INIT),
        "sh".into(),
    ];
    argv.push(arp.map(|a| a.to_string()).unwrap_or_default());
    argv.extend(tracks.iter().map(|(a, p)| format!("{a}:{p}")));
    argv
}

/// What a server's probe found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VipFacts {
    /// How keepalived runs there.
    pub init: Option<Init>,
    /// keepalived's version line, when installed.
    pub keepalived: Option<String>,
    /// The server's address as the SSH connection reached it.
    pub ssh_address: Option<Ipv4Addr>,
    /// Its IPv4 addresses.
    pub addrs: Vec<IfAddr>,
    /// The live keepalived's pid.
    pub running: Option<u32>,
    /// flockport's floating IP files: name -> sha256.
    pub files: BTreeMap<String, String>,
    /// Whether keepalived.conf includes them.
    pub include: bool,
    /// Virtual router ids in any keepalived file of the server.
    pub vrids: Vec<u8>,
    /// Instance states recorded by the notify script: name -> state.
    pub states: BTreeMap<String, String>,
    /// The ARP probe: Some(true) when something answered.
    pub arp_answers: Option<bool>,
    /// Tracked `ADDR:PORT` -> up.
    pub tracks: BTreeMap<String, bool>,
}

impl VipFacts {
    /// Whether `ip` is on one of the server's interfaces.
    pub fn has_address(&self, ip: Ipv4Addr) -> bool {
        self.addrs.iter().any(|a| a.address == ip)
    }
    /// How keepalived runs (daemon when the probe did not say).
    pub fn init(&self) -> Init {
        self.init.unwrap_or(Init::Daemon)
    }
}

/// Parses the probe's output.
pub fn parse_probe(server: &str, text: &str) -> Result<VipFacts> {
    let bad = |reason: String| Error::Parse { server: server.into(), command: "floating IP probe".into(), reason };
    let mut f = VipFacts::default();
    for line in text.lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        match parts.as_slice() {
            ["init", "systemd"] => f.init = Some(Init::Systemd),
            ["init", _] => f.init = Some(Init::Daemon),
            ["keepalived", v] => f.keepalived = Some(v.to_string()),
            ["ssh", conn] => f.ssh_address = conn.split_whitespace().nth(2).and_then(|a| a.parse().ok()),
            ["addr", dev, cidr] => {
                let (a, p) = cidr.split_once('/').ok_or_else(|| bad(format!("address {cidr:?}")))?;
                let address: Ipv4Addr = a.parse().map_err(|_| bad(format!("address {cidr:?}")))?;
                let prefix: u8 = p.parse().ok().filter(|p| *p <= 32).ok_or_else(|| bad(format!("prefix {cidr:?}")))?;
                f.addrs.push(IfAddr { interface: dev.to_string(), address, prefix });
            }
            ["running", pid] => f.running = pid.parse().ok(),
            ["file", name, hash] => {
                f.files.insert(name.to_string(), hash.to_string());
            }
            ["include"] => f.include = true,
            ["vrid", v] => {
                if let Ok(v) = v.parse::<u8>() {
                    f.vrids.push(v);
                }
            }
            ["state", name, state] => {
                f.states.insert(name.to_string(), state.to_string());
            }
            ["arp", r] => f.arp_answers = Some(*r == "answers"),
            ["track", t, s] => {
                f.tracks.insert(t.to_string(), *s == "up");
            }
            _ => {}
        }
    }
    if f.init.is_none() {
        return Err(bad(format!("no `init` line in {:?}", text.lines().next().unwrap_or(""))));
    }
    Ok(f)
}

fn tera() -> &'static Tera {
    static T: OnceLock<Tera> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Tera::default();
        // Compiled in and golden-tested: a failure here is a build defect.
        if let Err(e) =
            t.add_raw_template("keepalived-vip.conf", include_str!("../../templates/keepalived-vip.conf.tera"))
        {
            tracing::error!(error = %e, "built-in keepalived template does not parse");
        }
        t
    })
}

/// The keepalived configuration of floating IP `rec` on its member `me`.
pub fn render_config(rec: &VipRecord, me: &VipMember) -> Result<String> {
    let vip: &Vip = &rec.vip;
    let peer = vip.peer_of(&me.server);
    let mut c = Context::new();
    c.insert("name", &vip.name);
    c.insert("ip", &vip.ip.to_string());
    c.insert("prefix", &vip.network.prefix_len());
    c.insert("interface", &me.interface);
    c.insert("address", &me.address.to_string());
    c.insert("peer", &peer.address.to_string());
    c.insert("peer_server", &peer.server);
    c.insert("server", &me.server);
    c.insert("priority", &me.priority);
    c.insert("role", if vip.master.server == me.server { "master" } else { "backup" });
    c.insert("vrid", &vip.vrid);
    c.insert("version", &vip.version);
    c.insert("advert", &vip.advert_text());
    c.insert("track", &vip.track);
    c.insert("auth", &rec.auth_pass);
    c.insert("check_port", CHECK_PORT);
    c.insert("notify", NOTIFY);
    tera().render("keepalived-vip.conf", &c).map_err(|e| {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        Error::invalid("template", "keepalived-vip.conf", msg)
    })
}

/// The sha256 of a file's contents, as the probe prints it.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The live file of floating IP `name`.
pub fn vip_file(name: &str) -> String {
    format!("{VIP_DIR}/{name}.conf")
}

/// The staged file of floating IP `name`.
pub fn staged_file(name: &str) -> String {
    format!("{VIP_DIR}/.{name}.conf.next")
}

/// Installs keepalived (Debian's package) where it is missing: a step of
/// its own round trip (it may take a while).
pub fn install_step(server: &ServerConfig) -> Step {
    script(&server.name, "install keepalived (Debian's package)", INSTALL, &[]).alone()
}

/// Writes flockport's helper scripts (tracked-port check, notify).
pub fn helper_steps(server: &ServerConfig) -> Vec<Step> {
    vec![
        Step::write_file(
            &server.name,
            "install the tracked-port check for keepalived",
            CHECK_PORT,
            0o755,
            Content::text(CHECK_PORT_SCRIPT),
        ),
        Step::write_file(
            &server.name,
            "install the notify script that records VRRP states",
            NOTIFY,
            0o755,
            Content::text(NOTIFY_SCRIPT),
        ),
    ]
}

/// Stages, checks (`keepalived -t`) and swaps in floating IP `name`'s
/// file with `config` (a secret when it holds a VRRP password).
pub fn config_steps(server: &ServerConfig, name: &str, config: Content) -> Vec<Step> {
    let staged = staged_file(name);
    vec![
        Step::write_file(
            &server.name,
            format!("stage keepalived config of floating IP {name}"),
            &staged,
            0o600,
            config,
        ),
        script(&server.name, "check it with keepalived -t", CHECK, &[name, &staged]).checks_config("keepalived"),
        script(&server.name, format!("swap it in ({})", vip_file(name)), SWAP, &[name, "add"]),
    ]
}

/// Checks the configuration without floating IP `name`, then removes its file.
pub fn remove_steps(server: &ServerConfig, name: &str) -> Vec<Step> {
    vec![
        script(&server.name, format!("check keepalived's config without floating IP {name}"), CHECK, &[name, ""])
            .checks_config("keepalived"),
        script(&server.name, format!("remove {}", vip_file(name)), SWAP, &[name, "del"]),
    ]
}

/// Runs what the files say: reload where keepalived runs (HUP / systemctl
/// reload), start where it does not, stop where nothing is left.
pub fn activate_step(server: &ServerConfig, init: Init) -> Step {
    let what = match init {
        Init::Systemd => "keepalived (systemd unit): reload, start, or stop when nothing is left",
        Init::Daemon => "keepalived (daemon, pid file in /var/lib/flockport/keepalived): reload (SIGHUP), start, or stop when nothing is left",
    };
    script(&server.name, what, ACTIVATE, &[init.arg(), "apply"])
}

/// What a rollback puts back of a floating IP's file on a server.
#[derive(Debug, Clone)]
pub enum Undo {
    /// It did not exist: remove it.
    New,
    /// Keep what is there (a rerun wrote what the record says).
    Keep,
    /// It was removed: write it again (the record's rendered config).
    Restore(Content),
}

/// Rollback of a change of floating IP `name`'s file on a server: the file
/// as [`Undo`] says, then keepalived reloaded (or stopped when nothing is
/// left; never started).
pub fn rollback_steps(server: &ServerConfig, name: &str, init: Init, undo: Undo) -> Vec<Step> {
    let mut out = vec![match undo {
        Undo::Restore(content) => Step::write_file(
            &server.name,
            format!("put back the keepalived config of {name}"),
            vip_file(name),
            0o600,
            content,
        ),
        Undo::New => script(&server.name, format!("remove the keepalived config of {name}"), FORGET, &[name, "new"]),
        Undo::Keep => script(&server.name, format!("remove the staged config of {name}"), FORGET, &[name, "keep"]),
    }];
    out.push(script(&server.name, "reload keepalived with it", ACTIVATE, &[init.arg(), "rollback"]));
    out
}

/// Waits until the floating IP answers on the LAN (the first server took it
/// up), at most `secs`: the second server starts only then, so the first is
/// the master.
pub fn wait_held_step(server: &ServerConfig, interface: &str, ip: Ipv4Addr, secs: u32) -> Step {
    let (ip, secs) = (ip.to_string(), secs.to_string());
    script(
        &server.name,
        format!("wait until {ip} answers on the LAN (the first server holds it)"),
        WAIT_HELD,
        &[interface, &ip, &secs],
    )
}

/// Makes sure the floating IP is off `interface` (after `tenths` of a
/// second for keepalived to release it, removed by hand).
pub fn release_step(server: &ServerConfig, interface: &str, ip: Ipv4Addr, prefix: u8, tenths: u32) -> Step {
    let cidr = format!("{ip}/{prefix}");
    script(
        &server.name,
        format!("make sure {cidr} is off {interface}"),
        RELEASE,
        &[interface, &cidr, &tenths.to_string()],
    )
}
