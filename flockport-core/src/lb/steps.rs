//! Pure builders of the steps inside a load balancer's container (no I/O):
//! HAProxy's runtime API (add, drain and delete servers, the mode map), the
//! config change of either kind (TLS material, staged config, the kind's own
//! checker, swap, graceful reload), Nginx's resolvers.

use super::render::{render_haproxy, render_nginx};
use super::spec::*;
use crate::error::Result;
use crate::inventory::ServerConfig;
use crate::plan::{Content, Step};
use crate::service::container::{attach, push, Activate, ConfigChange, NGINX_CHECK_WITH_RESOLVERS};
use crate::service::{self, TlsFiles};

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

pub(super) fn haproxy_api(server: &ServerConfig, lb: &str, description: String, commands: Vec<String>) -> Step {
    let mut argv = vec!["sh", "-c", HAPROXY_API, "sh", HAPROXY_SOCKET];
    argv.extend(commands.iter().map(String::as_str));
    attach(server, lb, description, &argv)
}

/// One attach that adds every backend in `bs` to each mode's backend through
/// the runtime API (one round trip however many backends are added).
pub(super) fn haproxy_add_servers_step(server: &ServerConfig, lb: &str, bs: &[Backend]) -> Step {
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
pub(super) fn haproxy_drain_del_step(server: &ServerConfig, lb: &str, bs: &[Backend]) -> Step {
    let bes: Vec<String> = LbKind::Haproxy.modes().iter().map(|m| haproxy_backend(m)).collect();
    let script = format!("SOCK={HAPROXY_SOCKET}; BES='{}'\n{HAPROXY_DRAIN_DEL}", bes.join(" "));
    let keys: Vec<String> = bs.iter().map(Backend::key).collect();
    let mut argv = vec!["sh".to_string(), "-c".into(), script, "sh".into(), DRAIN_TENTHS.to_string()];
    argv.extend(keys.iter().cloned());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    attach(server, lb, format!("runtime API: drain and remove backends {} (no reload)", keys.join(", ")), &argv)
}

pub(super) fn haproxy_mode_step(server: &ServerConfig, lb: &str, mode: &str) -> Step {
    let cmd = format!("set map {HAPROXY_MODE_MAP} mode {}", haproxy_backend(mode));
    haproxy_api(server, lb, format!("runtime API: switch to mode {mode} (no reload)"), vec![cmd])
}

/// The steps of a backend change that leaves `next`: HAProxy applies it
/// through the runtime API (`runtime`) and only rewrites its checked config;
/// Nginx renders, checks and reloads.
pub(super) fn backend_change_steps(
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
            let (main, site) = render_nginx(rec, staged, server.gateway())?;
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
            let (main, site) = render_nginx(rec, "/etc/nginx/flockport", server.gateway())?;
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
