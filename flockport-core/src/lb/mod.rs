//! Load balancers: HAProxy and Nginx in their own containers, every verb of
//! Flockport's "Load balancers" section (addlb, listlbs, addbackends,
//! delbackends, setlb, pub, dellb).
//!
//! HAProxy backend changes go through the runtime API (admin socket inside the
//! container: add/del server, enable health) with no reload, and the rendered
//! config is rewritten (checked with `haproxy -c` first) so a restart keeps
//! them. A removed backend is drained first. Changes that need a reload are
//! checked with the service's own checker on a staged file; the old config
//! keeps running if the check fails; reloads are graceful (HAProxy
//! master-worker with listeners handed over, `nginx -s reload` semantics).

mod render;

pub use crate::names::check_url;
pub use crate::service::container::REMOVE_OLD_TLS;
pub use crate::service::container::{Activate, NGINX_CHECK_WITH_RESOLVERS, RELOAD_AND_WAIT, WAIT_BOOT};
pub use crate::service::TlsFiles;
pub use render::{render_haproxy, render_nginx};

use crate::cluster::{Applied, ApplyOptions, Cluster};
use crate::error::{Error, Result};
use crate::inventory::ServerConfig;
use crate::lxc;
use crate::names;
use crate::plan::{Content, NoProgress, Plan, Progress, Step};
use crate::service::container::{attach, push, tcp_health_argv, tcp_health_of, ConfigChange, ProvisionSpec};
use crate::service::{self, Family, ServiceContainer};
use crate::state::State;
use crate::transport::Transport;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// The HAProxy backend of a mode: one per mode, all with the same servers, so
/// the mode is switched at run time through [`HAPROXY_MODE_MAP`].
pub fn haproxy_backend(mode: &str) -> String {
    format!("be_{mode}")
}
/// The map file whose `mode` key names the active backend.
pub const HAPROXY_MODE_MAP: &str = "/etc/haproxy/flockport-mode.map";
/// The HAProxy admin socket inside the container.
pub const HAPROXY_SOCKET: &str = "/run/haproxy/admin.sock";
/// How long a removed HAProxy backend may drain, in tenths of a second.
pub const DRAIN_TENTHS: u32 = 100;

/// The kind of load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[serde(rename_all = "lowercase")]
pub enum LbKind {
    /// HAProxy.
    Haproxy,
    /// Nginx.
    Nginx,
}

impl LbKind {
    /// Parses `haproxy` or `nginx`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "haproxy" => Ok(LbKind::Haproxy),
            "nginx" => Ok(LbKind::Nginx),
            _ => Err(Error::invalid("load balancer type", s, "use haproxy or nginx")),
        }
    }
    /// The modes this kind accepts.
    pub fn modes(self) -> &'static [&'static str] {
        match self {
            LbKind::Haproxy => &["roundrobin", "leastconn", "source"],
            LbKind::Nginx => &["default", "ip_hash", "least_conn"],
        }
    }
    /// The default mode.
    pub fn default_mode(self) -> &'static str {
        self.modes()[0]
    }
    /// Packages of its image.
    pub fn packages(self) -> Vec<String> {
        match self {
            LbKind::Haproxy => vec!["haproxy".into(), "socat".into()],
            LbKind::Nginx => vec!["nginx".into()],
        }
    }
    /// Prefix of generated names (`ha1`, `nginxlb-1`).
    pub fn name_prefix(self) -> &'static str {
        match self {
            LbKind::Haproxy => "ha",
            LbKind::Nginx => "nginxlb-",
        }
    }
    /// The systemd unit inside the container.
    pub fn service(self) -> &'static str {
        match self {
            LbKind::Haproxy => "haproxy",
            LbKind::Nginx => "nginx",
        }
    }
    /// Checks a mode for this kind.
    pub fn check_mode(self, mode: &str) -> Result<()> {
        if self.modes().contains(&mode) {
            Ok(())
        } else {
            Err(Error::invalid(
                "mode",
                mode,
                format!("{} load balancers take one of: {}", self.service(), self.modes().join(", ")),
            ))
        }
    }
}

impl std::fmt::Display for LbKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.service())
    }
}

/// A backend: HAProxy's `name:ip:port` or Nginx's `ip:port` / `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[record(str = "spec")]
#[record(computed(
    name = "spec",
    ty = "String",
    with = "ToString::to_string",
    doc = "As the CLI writes it (`name:ip:port` or `host:port`)."
))]
#[record(computed(
    name = "key",
    ty = "String",
    with = "Backend::key",
    doc = "What identifies it in its LB: the name (HAProxy) or host:port (Nginx).",
    py_method = "key"
))]
pub struct Backend {
    /// The HAProxy server name (none for Nginx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// IP address or DNS name.
    pub host: String,
    /// Port.
    pub port: u16,
}

fn parse_port(whole: &str, p: &str) -> Result<u16> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Error::invalid("backend", whole, format!("port {p:?} is not a number from 1 to 65535"))),
    }
}

fn check_dns_name(whole: &str, h: &str) -> Result<()> {
    if names::is_dns_name(h) {
        Ok(())
    } else {
        Err(Error::invalid("backend", whole, format!("{h:?} is neither an IPv4 address nor a DNS name")))
    }
}

impl Backend {
    /// Parses a backend for `kind`.
    pub fn parse(kind: LbKind, s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split(':').collect();
        match (kind, parts.as_slice()) {
            (LbKind::Haproxy, [name, ip, port]) => {
                names::check_name("backend name", name)?;
                let host: Ipv4Addr = ip.parse().map_err(|_| {
                    Error::invalid(
                        "backend",
                        s,
                        format!("{ip:?} is not an IPv4 address; HAProxy backends are name:ip:port"),
                    )
                })?;
                Ok(Backend { name: Some(name.to_string()), host: host.to_string(), port: parse_port(s, port)? })
            }
            (LbKind::Haproxy, _) => {
                Err(Error::invalid("backend", s, "HAProxy backends need a name: name:ip:port, e.g. web1:10.0.4.20:80"))
            }
            (LbKind::Nginx, [host, port]) => {
                if host.parse::<Ipv4Addr>().is_err() {
                    if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
                        return Err(Error::invalid("backend", s, format!("{host:?} is not a valid IPv4 address")));
                    }
                    check_dns_name(s, host)?;
                }
                Ok(Backend { name: None, host: host.to_string(), port: parse_port(s, port)? })
            }
            (LbKind::Nginx, _) => Err(Error::invalid(
                "backend",
                s,
                "Nginx backends are ip:port or host:port, e.g. 10.0.4.20:80 or wordpress.consul:80",
            )),
        }
    }

    /// What identifies it in its LB: the name (HAProxy) or host:port (Nginx).
    pub fn key(&self) -> String {
        self.name.clone().unwrap_or_else(|| format!("{}:{}", self.host, self.port))
    }

    /// Whether `s` (a name, `host:port`, or `name:host:port`) designates this backend.
    pub fn matches(&self, s: &str) -> bool {
        let hp = format!("{}:{}", self.host, self.port);
        match &self.name {
            Some(n) => s == n || s == format!("{n}:{hp}"),
            None => s == hp,
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n}:{}:{}", self.host, self.port),
            None => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

/// A load balancer as recorded in state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[record(repr(name, kind, server, address, mode, url, backends, published))]
pub struct LbRecord {
    /// Its service container: name, server, address, image, published ports
    /// (flattened into the record's JSON).
    #[serde(flatten)]
    pub container: ServiceContainer,
    /// HAProxy or Nginx.
    pub kind: LbKind,
    /// Balancing mode.
    pub mode: String,
    /// The served name (required for Nginx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Backends.
    #[serde(default)]
    pub backends: Vec<Backend>,
    /// Fingerprint of the installed certificate, when TLS is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<String>,
    /// Worker processes (Nginx) or threads (HAProxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// DNS resolvers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolvers: Vec<Ipv4Addr>,
}

impl LbRecord {
    /// Its name (its container's).
    pub fn name(&self) -> &str {
        &self.container.name
    }
    /// The server it runs on.
    pub fn server(&self) -> &str {
        &self.container.server
    }
}

/// A backend's health as the LB sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct BackendHealth {
    /// The backend.
    pub backend: String,
    /// UP, DOWN, MAINT, DRAIN, ... or `unknown`.
    pub health: String,
}

/// A load balancer as `listlbs` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct LbInfo {
    /// The record.
    #[serde(flatten)]
    #[record(nested)]
    pub record: LbRecord,
    /// Health per backend.
    pub health: Vec<BackendHealth>,
    /// Why its health could not be read (its server unreachable, its
    /// container stopped, ...); `None` when it was.
    pub error: Option<String>,
}

/// What `addlb` takes.
#[derive(Debug, Clone, Default)]
pub struct LbSpec {
    /// `haproxy` or `nginx`.
    pub kind: String,
    /// Server.
    pub server: String,
    /// Name (generated when absent).
    pub name: Option<String>,
    /// URL (required for Nginx).
    pub url: Option<String>,
    /// Backends.
    pub backends: Vec<String>,
    /// Certificate file (PEM).
    pub cert: Option<PathBuf>,
    /// Key file (PEM).
    pub key: Option<PathBuf>,
}

/// What `setlb` changes.
#[derive(Debug, Clone)]
pub enum LbSetting {
    /// The balancing mode.
    Mode(String),
    /// The served name.
    Url(String),
    /// TLS certificate and key files.
    Ssl {
        /// Certificate (PEM).
        cert: PathBuf,
        /// Key (PEM).
        key: PathBuf,
    },
    /// Workers (Nginx processes, HAProxy threads).
    Workers(u32),
    /// DNS resolvers.
    Resolvers(Vec<String>),
}

impl LbSetting {
    /// Parses `setlb LB KEY VALUE...`.
    pub fn parse(key: &str, values: &[String]) -> Result<Self> {
        let one = |what: &str| -> Result<String> {
            match values {
                [v] => Ok(v.clone()),
                _ => Err(Error::invalid("setlb value", values.join(" "), format!("{key} takes one value: {what}"))),
            }
        };
        match key {
            "mode" => Ok(LbSetting::Mode(one("a mode")?)),
            "url" => Ok(LbSetting::Url(one("a host name")?)),
            "ssl" => match values {
                [c, k] => Ok(LbSetting::Ssl { cert: c.into(), key: k.into() }),
                _ => Err(Error::invalid("setlb value", values.join(" "), "ssl takes two values: CERT KEY")),
            },
            "workers" => {
                let v = one("a number")?;
                match v.parse::<u32>() {
                    Ok(n) if (1..=64).contains(&n) => Ok(LbSetting::Workers(n)),
                    _ => Err(Error::invalid("workers", v, "give a number from 1 to 64")),
                }
            }
            "resolvers" if !values.is_empty() => Ok(LbSetting::Resolvers(values.to_vec())),
            "resolvers" => Err(Error::invalid("setlb value", "", "resolvers takes one or more IPv4 addresses")),
            other => Err(Error::invalid("setlb setting", other, "use one of: mode, url, ssl, workers, resolvers")),
        }
    }
}

// ---- steps inside the LB container --------------------------------------

/// The resolv.conf of an Nginx LB with resolvers.
pub fn resolv_conf(rec: &LbRecord) -> String {
    let mut out =
        format!("# Managed by flockport: the resolvers of load balancer {} (setlb resolvers).\n", rec.container.name);
    for r in &rec.resolvers {
        out.push_str(&format!("nameserver {r}\n"));
    }
    out
}

/// Runtime API commands (`$2`...) on socket `$1`, one by one; each output must
/// be empty or a success message, else the script stops with it.
pub const HAPROXY_API: &str = r#"sock=$1; shift
for cmd in "$@"; do
  out=$(printf '%s\n' "$cmd" | socat -t 5 stdio "unix-connect:$sock") || { echo "cannot reach the HAProxy runtime API at $sock" >&2; exit 2; }
  case "$out" in ""|"New server registered."*|"Server deleted."*) ;; *) printf '%s: %s\n' "$cmd" "$out" >&2; exit 1;; esac
done"#;

/// Drains servers `$2`... of every backend in `$BES` together (at most `$1`
/// tenths of a second for their sessions to end: one wait however many are
/// removed), then deletes them. A server already gone counts as deleted (a
/// retry after a partial failure completes); one that cannot be deleted does
/// not stop the others, and fails the step at the end.
pub const HAPROXY_DRAIN_DEL: &str = r#"api() { printf '%s\n' "$1" | socat -t 5 stdio "unix-connect:$SOCK"; }
t=$1; shift
for s in "$@"; do for be in $BES; do api "set server $be/$s state drain" >/dev/null; done; done
i=0
while [ "$i" -lt "$t" ]; do
  cur=$(api "show stat" | awk -F, -v ss=" $* " -v bes=" $BES " 'index(bes, " " $1 " ") && index(ss, " " $2 " ") {n+=$5} END {print n+0}')
  [ "$cur" = 0 ] && break
  sleep 0.1; i=$((i+1))
done
rc=0
for s in "$@"; do for be in $BES; do
  api "set server $be/$s state maint" >/dev/null
  api "shutdown sessions server $be/$s" >/dev/null
  i=0
  while :; do
    out=$(api "del server $be/$s")
    case "$out" in "Server deleted."*|*"No such server"*) break;; esac
    i=$((i+1)); [ "$i" -ge 50 ] && { printf '%s\n' "$out" >&2; rc=1; break; }
    sleep 0.1
  done
done; done
exit $rc"#;

fn haproxy_api(server: &ServerConfig, lb: &str, description: String, commands: Vec<String>) -> Step {
    let mut argv = vec!["sh", "-c", HAPROXY_API, "sh", HAPROXY_SOCKET];
    argv.extend(commands.iter().map(String::as_str));
    attach(server, lb, description, &argv)
}

/// One attach that adds every backend in `bs` to each mode's backend through
/// the runtime API (one round trip however many backends are added).
fn haproxy_add_servers_step(server: &ServerConfig, lb: &str, bs: &[Backend]) -> Step {
    let mut cmds = Vec::new();
    for b in bs {
        let n = b.key();
        for mode in LbKind::Haproxy.modes() {
            let be = haproxy_backend(mode);
            cmds.push(format!("add server {be}/{n} {}:{} check inter 2s", b.host, b.port));
            cmds.push(format!("enable health {be}/{n}"));
            cmds.push(format!("enable server {be}/{n}"));
        }
    }
    let what: Vec<String> = bs.iter().map(|b| b.to_string()).collect();
    haproxy_api(server, lb, format!("runtime API: add {} (no reload)", what.join(", ")), cmds)
}

/// One attach that drains every backend in `bs` at once, then deletes them.
fn haproxy_drain_del_step(server: &ServerConfig, lb: &str, bs: &[Backend]) -> Step {
    let bes: Vec<String> = LbKind::Haproxy.modes().iter().map(|m| haproxy_backend(m)).collect();
    let script = format!("SOCK={HAPROXY_SOCKET}; BES='{}'\n{HAPROXY_DRAIN_DEL}", bes.join(" "));
    let keys: Vec<String> = bs.iter().map(Backend::key).collect();
    let mut argv = vec!["sh".to_string(), "-c".into(), script, "sh".into(), DRAIN_TENTHS.to_string()];
    argv.extend(keys.iter().cloned());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    attach(server, lb, format!("runtime API: drain and remove backends {} (no reload)", keys.join(", ")), &argv)
}

fn haproxy_mode_step(server: &ServerConfig, lb: &str, mode: &str) -> Step {
    let cmd = format!("set map {HAPROXY_MODE_MAP} mode {}", haproxy_backend(mode));
    haproxy_api(server, lb, format!("runtime API: switch to mode {mode} (no reload)"), vec![cmd])
}

/// The steps of a backend change that leaves `next`: HAProxy applies it
/// through the runtime API (`runtime`) and only rewrites its checked config;
/// Nginx renders, checks and reloads.
fn backend_change_steps(
    server: &ServerConfig,
    next: &LbRecord,
    runtime: impl FnOnce() -> Vec<Step>,
) -> Result<Vec<Step>> {
    Ok(match next.kind {
        LbKind::Haproxy => {
            let mut steps = runtime();
            steps.extend(config_steps(server, next, None, Activate::WriteOnly)?);
            steps
        }
        LbKind::Nginx => config_steps(server, next, None, Activate::Reload)?,
    })
}

/// Paths of the TLS material inside the container for a fingerprint.
pub fn tls_paths(kind: LbKind, fp: &str) -> (String, String) {
    match kind {
        LbKind::Haproxy => (format!("/etc/haproxy/certs/{fp}.pem"), String::new()),
        LbKind::Nginx => (format!("/etc/nginx/ssl/{fp}.crt"), format!("/etc/nginx/ssl/{fp}.key")),
    }
}

/// Steps that install `rec`'s config in its container: new TLS material (if
/// given), the staged config, the service's check, the swap, the activation.
pub fn config_steps(
    server: &ServerConfig,
    rec: &LbRecord,
    tls: Option<&TlsFiles>,
    activate: Activate,
) -> Result<Vec<Step>> {
    let lb = rec.container.name.as_str();
    let mut tls_steps = Vec::new();
    if let Some(t) = tls {
        match rec.kind {
            LbKind::Haproxy => {
                let (pem, _) = tls_paths(rec.kind, &t.fingerprint);
                let mut bundle = t.cert_pem.clone().into_bytes();
                bundle.extend_from_slice(t.key_pem());
                tls_steps.push(push(server, lb, &pem, 0o600, Content::secret(bundle)));
            }
            LbKind::Nginx => {
                let (crt, key) = tls_paths(rec.kind, &t.fingerprint);
                tls_steps.extend(service::container::tls_pair_steps(server, lb, &crt, &key, t, None));
            }
        }
    }
    let service = rec.kind.service();
    let (stage, check, swap, pidfile) = match rec.kind {
        LbKind::Haproxy => {
            let staged = "/etc/haproxy/haproxy.cfg.next";
            let map = format!("mode {}\n", haproxy_backend(&rec.mode));
            let stage = vec![
                push(server, lb, HAPROXY_MODE_MAP, 0o644, Content::text(map)),
                push(server, lb, staged, 0o644, Content::text(render_haproxy(rec)?)),
            ];
            let check =
                attach(server, lb, "check the new HAProxy config".into(), &["haproxy", "-c", "-q", "-f", staged])
                    .checks_config("haproxy");
            let swap = vec![attach(
                server,
                lb,
                "install the checked config".into(),
                &["mv", "-f", staged, "/etc/haproxy/haproxy.cfg"],
            )];
            (stage, check, swap, "/run/haproxy.pid")
        }
        LbKind::Nginx => {
            let staged = "/etc/nginx/flockport-next";
            let (main, site) = render_nginx(rec, staged)?;
            let mut stage = vec![
                push(server, lb, &format!("{staged}/nginx.conf"), 0o644, Content::text(main)),
                push(server, lb, &format!("{staged}/lb.conf"), 0o644, Content::text(site)),
            ];
            let staged_conf = format!("{staged}/nginx.conf");
            let check = if rec.resolvers.is_empty() {
                attach(server, lb, "check the new Nginx config".into(), &["nginx", "-t", "-q", "-c", &staged_conf])
                    .checks_config("nginx")
            } else {
                let resolv = format!("{staged}/resolv.conf");
                stage.push(push(server, lb, &resolv, 0o644, Content::text(resolv_conf(rec))));
                attach(
                    server,
                    lb,
                    "check the new Nginx config, upstream names resolved through the LB's resolvers".into(),
                    &["sh", "-c", NGINX_CHECK_WITH_RESOLVERS, "sh", &resolv, &staged_conf],
                )
                .checks_config("nginx")
            };
            let (main, site) = render_nginx(rec, "/etc/nginx/flockport")?;
            let swap = vec![
                push(server, lb, "/etc/nginx/flockport/lb.conf", 0o644, Content::text(site)),
                push(server, lb, "/etc/nginx/nginx.conf", 0o644, Content::text(main)),
            ];
            (stage, check, swap, "/run/nginx.pid")
        }
    };
    // Once the new config is live, the old TLS material goes.
    let tls_keep = tls.map(|t| {
        let (path, _) = tls_paths(rec.kind, &t.fingerprint);
        let dir = path.rsplit_once('/').map_or("/", |(d, _)| d).to_string();
        (dir, vec![t.fingerprint.clone()])
    });
    Ok(ConfigChange {
        server,
        container: lb,
        tls: tls_steps,
        stage,
        check,
        swap,
        // Nginx reloads gracefully on SIGHUP to its master; HAProxy through its unit.
        unit: (service, pidfile, if rec.kind == LbKind::Nginx { "HUP" } else { "" }),
        activate,
        after: Vec::new(),
        tls_keep,
    }
    .steps())
}

// ---- the Cluster operations ---------------------------------------------

fn find_lb<'a>(state: &'a State, name: &str) -> Result<&'a LbRecord> {
    crate::state::find(&state.lbs, "load balancer", name, "flockport addlb")
}

impl Cluster {
    /// `addlb`: a load-balancer container from an image on a server, configured and running.
    pub async fn add_lb(&self, spec: LbSpec, opts: ApplyOptions, progress: &dyn Progress) -> Result<Applied<LbRecord>> {
        // Everything the user gave is checked before anything is contacted.
        let kind = LbKind::parse(&spec.kind)?;
        let server = self.server(&spec.server)?.clone();
        if let Some(n) = &spec.name {
            names::check_name("load balancer name", n)?;
        }
        let backends = spec.backends.iter().map(|b| Backend::parse(kind, b)).collect::<Result<Vec<_>>>()?;
        check_unique_backends(&backends)?;
        if let Some(u) = &spec.url {
            check_url(u)?;
        }
        if kind == LbKind::Nginx {
            if spec.url.is_none() {
                return Err(Error::invalid("url", "", "an Nginx load balancer needs -u URL (the host name it serves)"));
            }
            if backends.is_empty() {
                return Err(Error::invalid("backend", "", "an Nginx load balancer needs at least one -b BACKEND"));
            }
        }
        let tls = match (&spec.cert, &spec.key) {
            (Some(c), Some(k)) => Some(TlsFiles::load(c, k)?),
            (None, None) => None,
            (Some(_), None) => return Err(Error::invalid("key", "", "-c CERT needs -k KEY")),
            (None, Some(_)) => return Err(Error::invalid("cert", "", "-k KEY needs -c CERT")),
        };
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        if let Some(n) = &spec.name {
            if state.name_taken(n) {
                return Err(Error::exists("load balancer", n, "pick another -n NAME"));
            }
        }
        let facts = self.probe_for(&[&server.name]).await?;
        let role = format!("{kind}-lb");
        let pspec = ProvisionSpec {
            family: Family::Lb,
            kind: "load balancer",
            server: &server,
            name: spec.name.as_deref(),
            prefix: kind.name_prefix(),
            packages: kind.packages(),
            role,
        };
        let (mut plan, container, st) = self.plan_service_container(&pspec, &state, &facts)?;
        let name = container.name.clone();
        plan.operation = format!("addlb {kind} {} -n {name}", server.name);
        let rec = LbRecord {
            container,
            kind,
            mode: kind.default_mode().to_string(),
            url: spec.url.clone(),
            backends,
            tls: tls.as_ref().map(|t| t.fingerprint.clone()),
            workers: None,
            resolvers: Vec::new(),
        };
        plan.steps.extend(config_steps(&server, &rec, tls.as_ref(), Activate::Restart)?);
        plan.state_changes
            .push(format!("add load balancer {name} ({kind} at {} on {})", rec.container.address, server.name));
        let counters = st.counters.clone();
        let record = rec.clone();
        self.finish(plan, txn, rec, opts, progress, |st| {
            st.counters = counters;
            st.lbs.insert(name, record);
            Ok(())
        })
        .await
    }

    /// `listlbs`: every load balancer with live backend health (servers in parallel).
    pub async fn lbs(&self) -> Result<Vec<LbInfo>> {
        let state = self.store().load().await?;
        let futs = state.lbs.values().map(|rec| async move {
            let (health, error) = match self.lb_health(rec).await {
                Ok(h) => (h, None),
                Err(e) => {
                    tracing::debug!(lb = %rec.container.name, error = %e, "health unknown");
                    let unknown = rec
                        .backends
                        .iter()
                        .map(|b| BackendHealth { backend: b.to_string(), health: "unknown".into() })
                        .collect();
                    (unknown, Some(e.to_string()))
                }
            };
            LbInfo { record: rec.clone(), health, error }
        });
        Ok(futures::future::join_all(futs).await)
    }

    async fn lb_health(&self, rec: &LbRecord) -> Result<Vec<BackendHealth>> {
        let server = self.server(&rec.container.server)?.clone();
        let t = self.transport(&server)?;
        let t: &dyn Transport = t.as_ref();
        match rec.kind {
            LbKind::Haproxy => {
                let script = format!("printf 'show stat\\n' | socat -t 5 stdio unix-connect:{HAPROXY_SOCKET}");
                let out =
                    lxc::exec(t, &server, &rec.container.name, &["sh".into(), "-c".into(), script.clone()]).await?;
                let out = out.check(&server.name, &[script])?;
                let text = out.stdout_str();
                let active = haproxy_backend(&rec.mode);
                Ok(rec
                    .backends
                    .iter()
                    .map(|b| {
                        let health = text
                            .lines()
                            .map(|l| l.split(',').collect::<Vec<_>>())
                            .find(|f| f.len() > 17 && f[0] == active && f[1] == b.key())
                            .map(|f| f[17].to_string())
                            .unwrap_or_else(|| "absent".into());
                        BackendHealth { backend: b.to_string(), health }
                    })
                    .collect())
            }
            LbKind::Nginx => {
                let targets: Vec<String> = rec.backends.iter().map(|b| format!("{}:{}", b.host, b.port)).collect();
                let argv = tcp_health_argv(targets.iter().map(String::as_str));
                let out = lxc::exec(t, &server, &rec.container.name, &argv).await?.check(&server.name, &argv)?;
                let text = out.stdout_str();
                Ok(rec
                    .backends
                    .iter()
                    .map(|b| BackendHealth {
                        backend: b.to_string(),
                        health: tcp_health_of(&text, &format!("{}:{}", b.host, b.port)),
                    })
                    .collect())
            }
        }
    }

    /// `addbackends`: HAProxy through the runtime API (no reload), Nginx by reload.
    pub async fn add_backends(&self, lb: &str, backends: Vec<String>, opts: ApplyOptions) -> Result<Applied<LbRecord>> {
        names::check_name("load balancer name", lb)?;
        if backends.is_empty() {
            return Err(Error::invalid("backend", "", "give at least one backend"));
        }
        let txn = self.store().begin().await?;
        let rec = find_lb(txn.state(), lb)?.clone();
        let new = backends.iter().map(|b| Backend::parse(rec.kind, b)).collect::<Result<Vec<_>>>()?;
        for b in &new {
            if let Some(old) = rec.backends.iter().find(|o| o.key() == b.key()) {
                return Err(Error::exists("backend", b.to_string(), format!("{lb} already has {old}")));
            }
        }
        let mut next = rec.clone();
        next.backends.extend(new.iter().cloned());
        check_unique_backends(&next.backends)?;
        let server = self.server(&rec.container.server)?.clone();
        let mut plan = Plan::new(format!("addbackends {lb} {}", backends.join(" ")));
        plan.steps = backend_change_steps(&server, &next, || vec![haproxy_add_servers_step(&server, lb, &new)])?;
        if rec.kind == LbKind::Haproxy {
            // A later step failing (the config check) leaves no runtime-added server behind.
            plan.rollback = vec![haproxy_drain_del_step(&server, lb, &new)];
        }
        plan.state_changes
            .push(format!("{lb}: add {}", new.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(", ")));
        self.finish_lb_change(plan, txn, next, opts).await
    }

    /// `delbackends`: HAProxy drains then deletes through the runtime API, Nginx reloads.
    pub async fn del_backends(&self, lb: &str, backends: Vec<String>, opts: ApplyOptions) -> Result<Applied<LbRecord>> {
        names::check_name("load balancer name", lb)?;
        if backends.is_empty() {
            return Err(Error::invalid("backend", "", "give at least one backend"));
        }
        let txn = self.store().begin().await?;
        let rec = find_lb(txn.state(), lb)?.clone();
        let mut gone = Vec::new();
        for s in &backends {
            let b = rec.backends.iter().find(|b| b.matches(s)).ok_or_else(|| {
                let have: Vec<String> = rec.backends.iter().map(|b| b.to_string()).collect();
                Error::not_found(
                    "backend",
                    s,
                    format!("{lb} has: {}", if have.is_empty() { "none".into() } else { have.join(", ") }),
                )
            })?;
            // Named twice (e.g. by name and by spec): removed once.
            if !gone.contains(b) {
                gone.push(b.clone());
            }
        }
        let mut next = rec.clone();
        next.backends.retain(|b| !gone.contains(b));
        let server = self.server(&rec.container.server)?.clone();
        let mut plan = Plan::new(format!("delbackends {lb} {}", backends.join(" ")));
        plan.steps = backend_change_steps(&server, &next, || vec![haproxy_drain_del_step(&server, lb, &gone)])?;
        plan.state_changes
            .push(format!("{lb}: remove {}", gone.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(", ")));
        self.finish_lb_change(plan, txn, next, opts).await
    }

    /// `setlb`: mode, url, ssl, workers or resolvers; checked, then a graceful reload.
    pub async fn set_lb(&self, lb: &str, setting: LbSetting, opts: ApplyOptions) -> Result<Applied<LbRecord>> {
        names::check_name("load balancer name", lb)?;
        let tls = match &setting {
            LbSetting::Ssl { cert, key } => Some(TlsFiles::load(cert, key)?),
            _ => None,
        };
        let txn = self.store().begin().await?;
        let rec = find_lb(txn.state(), lb)?.clone();
        let mut next = rec.clone();
        let what = match &setting {
            LbSetting::Mode(m) => {
                rec.kind.check_mode(m)?;
                next.mode = m.clone();
                format!("mode {m}")
            }
            LbSetting::Url(u) => {
                check_url(u)?;
                next.url = Some(u.clone());
                format!("url {u}")
            }
            LbSetting::Ssl { .. } => {
                next.tls = tls.as_ref().map(|t| t.fingerprint.clone());
                "ssl".to_string()
            }
            LbSetting::Workers(n) => {
                next.workers = Some(*n);
                format!("workers {n}")
            }
            LbSetting::Resolvers(rs) => {
                next.resolvers = rs.iter().map(|r| names::parse_ipv4("resolver", r)).collect::<Result<Vec<_>>>()?;
                format!("resolvers {}", rs.join(" "))
            }
        };
        let server = self.server(&rec.container.server)?.clone();
        let mut plan = Plan::new(format!("setlb {lb} {what}"));
        let activate = match (&setting, rec.kind) {
            (LbSetting::Mode(m), LbKind::Haproxy) => {
                plan.steps.push(haproxy_mode_step(&server, lb, m));
                Activate::WriteOnly
            }
            _ => Activate::Reload,
        };
        plan.steps.extend(config_steps(&server, &next, tls.as_ref(), activate)?);
        plan.state_changes.push(format!("{lb}: {what}"));
        self.finish_lb_change(plan, txn, next, opts).await
    }

    /// `dellb`: removes the forwards, the container and the state.
    pub async fn del_lb(&self, lb: &str, opts: ApplyOptions) -> Result<Applied<LbRecord>> {
        names::check_name("load balancer name", lb)?;
        let txn = self.store().begin().await?;
        let rec = find_lb(txn.state(), lb)?.clone();
        let server = self.server(rec.server())?.clone();
        let mut plan = Plan::new(format!("dellb {lb}"));
        plan.steps = service::container::removal_steps(&server, &rec.container);
        plan.state_changes.push(format!("remove load balancer {lb} and its container"));
        self.finish(plan, txn, rec, opts, &NoProgress, |st| {
            st.lbs.remove(lb);
            Ok(())
        })
        .await
    }

    async fn finish_lb_change(
        &self,
        plan: Plan,
        txn: Box<dyn crate::state::StateTxn>,
        next: LbRecord,
        opts: ApplyOptions,
    ) -> Result<Applied<LbRecord>> {
        let rec = next.clone();
        self.finish(plan, txn, next, opts, &NoProgress, |st| {
            st.lbs.insert(rec.container.name.clone(), rec);
            Ok(())
        })
        .await
    }
}

fn check_unique_backends(backends: &[Backend]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for b in backends {
        if !seen.insert(b.key()) {
            return Err(Error::exists("backend", b.to_string(), "each backend may appear once"));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
pub(crate) mod verb_tests;
