//! Inside a service container: what every family does the same way.
//!
//! - Provisioning ([`Cluster::plan_service_container`]): a name (given, or
//!   generated and unique across the cluster), a container cloned from the
//!   family's image with a static address in its server's subnet, started,
//!   a checkpoint, then waiting for its systemd to finish booting.
//! - Commands in it ([`attach`], [`push`]: atomic writes).
//! - A config change ([`ConfigChange`]): TLS material first (named by
//!   fingerprint, so nothing the running config points at changes), the
//!   staged files, the service's own checker (a step marked
//!   `checks_config`, so a refusal is `ConfigRejected` and nothing after it
//!   runs), the swap, the activation ([`Activate`]: a graceful reload that
//!   returns once new workers serve, or a restart), then removal of TLS
//!   material no longer used.
//! - Health of upstreams seen from the container ([`TCP_HEALTH`]).

use crate::cluster::{Cluster, ContainerSpec};
use crate::error::Result;
use crate::inventory::ServerConfig;
use crate::lxc::{self, ServerFacts};
use crate::plan::{Content, Plan, Step};
use crate::service::{check_name_free, Family, ServiceContainer, TlsFiles};
use crate::state::State;
use std::collections::BTreeMap;

/// A command in container `name` on `server`.
pub fn attach(server: &ServerConfig, name: &str, description: String, argv: &[&str]) -> Step {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    Step::run(&server.name, description, lxc::attach_argv(server, name, &argv))
}

/// Writes `path` in container `name` atomically (temp file + rename).
pub fn push(server: &ServerConfig, name: &str, path: &str, mode: u32, content: Content) -> Step {
    let description = format!("write {path} in {name}");
    Step::run_with_stdin(&server.name, description, lxc::push_argv(server, name, path, mode), content)
}

/// Writes a certificate (0644) and its key (0600, a secret step input: never
/// shown) at `crt` and `key` in container `name`.
///
/// The key belongs to root unless `key_owner` is given: a service whose
/// workers load certificates at the handshake (Nginx with a certificate
/// named by a variable) needs its key owned by the workers' user, still 0600.
pub fn tls_pair_steps(
    server: &ServerConfig,
    name: &str,
    crt: &str,
    key: &str,
    tls: &TlsFiles,
    key_owner: Option<&str>,
) -> Vec<Step> {
    let mut steps = vec![
        push(server, name, crt, 0o644, Content::text(tls.cert_pem.clone())),
        push(server, name, key, 0o600, Content::secret(tls.key_pem().to_vec())),
    ];
    if let Some(owner) = key_owner {
        steps.push(attach(server, name, format!("give {key} to {owner}"), &["chown", &format!("{owner}:"), key]));
    }
    steps
}

/// Waits for systemd in a fresh container to finish booting.
pub const WAIT_BOOT: &str = r#"i=0; while [ "$i" -lt 300 ]; do s=$(systemctl is-system-running 2>/dev/null); case "$s" in running|degraded) exit 0;; esac; sleep 0.1; i=$((i+1)); done; echo "systemd did not finish booting (state: $s)" >&2; exit 1"#;

/// Graceful reload of unit `$1` whose master's pid is in `$2`: signal `$3`
/// sent to the master when given (Nginx: `HUP`), else `systemctl reload`;
/// returns once the master runs new workers and the old ones have stopped
/// (or, when old ones still drain requests after 10 s, once new ones run),
/// so the next request sees the new config. The children are found with
/// shell builtins only (no process per poll: the reload competes for the
/// CPU with the traffic it serves).
pub const RELOAD_AND_WAIT: &str = r#"kids() { read -r m 2>/dev/null <"$1" || return 0; for d in /proc/[0-9]*; do read -r s 2>/dev/null <"$d/stat" || continue; s=${s##*) }; s=${s#* }; [ "${s%% *}" = "$m" ] && printf '%s ' "${d#/proc/}"; done; }
old=" $(kids "$2")"
if [ -n "$3" ]; then read -r m 2>/dev/null <"$2" && kill -s "$3" "$m" || exit 1; else systemctl reload "$1" || exit 1; fi
i=0; fresh=no
while [ "$i" -lt 1000 ]; do
  stale=no
  for p in $(kids "$2"); do case "$old" in *" $p "*) stale=yes;; *) fresh=yes;; esac; done
  [ "$fresh" = yes ] && [ "$stale" = no ] && exit 0
  sleep 0.01; i=$((i+1))
done
[ "$fresh" = yes ] && exit 0
echo "$1 did not start new workers within 10 s of the reload" >&2; exit 1"#;

/// The graceful reload of `unit` (its pid file, its reload signal) in
/// container `name`, returning when new workers serve ([`RELOAD_AND_WAIT`]).
pub fn reload_step(server: &ServerConfig, name: &str, (unit, pidfile, signal): (&str, &str, &str)) -> Step {
    attach(
        server,
        name,
        format!("graceful reload of {unit}"),
        &["sh", "-c", RELOAD_AND_WAIT, "sh", unit, pidfile, signal],
    )
}

/// The steps that remove service container `sc`: its forwards (where it has
/// any), then the container (idempotent). Every family's delete verb.
pub fn removal_steps(server: &ServerConfig, sc: &ServiceContainer) -> Vec<Step> {
    let mut steps = Vec::new();
    if !sc.published.is_empty() {
        steps.extend(crate::service::remove_forwards_steps(server, sc, &sc.published));
    }
    steps.extend(lxc::destroy_steps(server, &sc.name));
    steps
}

/// Removes every file in directory `$1` but those named `$2.*`, `$3.*`, ...
/// (the fingerprints of certificates in use): old keys do not stay behind in
/// the container. Best effort: the new config is live by then, so a file
/// that cannot be removed is reported, not a failure of the change.
pub const REMOVE_OLD_TLS: &str = r#"cd "$1" || exit 0; shift; for f in *; do [ "$f" = '*' ] && continue; keep=no; for fp in "$@"; do case "$f" in "$fp".*) keep=yes;; esac; done; [ "$keep" = yes ] || rm -f -- "$f" || echo "could not remove $f" >&2; done; exit 0"#;

/// Checks a staged Nginx config with the container's resolvers in
/// `/etc/resolv.conf` (`$1`: the staged resolv.conf, `$2`: the staged
/// nginx.conf). Open-source Nginx resolves upstream host names
/// (`wordpress.consul:80`) when it loads its config, through the system
/// resolver: the resolvers have to be the container's. On a failed check the
/// previous resolv.conf is put back, so the running config and the container
/// are as they were.
pub const NGINX_CHECK_WITH_RESOLVERS: &str = r#"prev=/etc/resolv.conf.flockport-prev
cat /etc/resolv.conf >"$prev" 2>/dev/null || : >"$prev"
cat "$1" >/etc/resolv.conf || exit 1
if nginx -t -q -c "$2"; then rm -f "$prev"; exit 0; fi
cat "$prev" >/etc/resolv.conf; rm -f "$prev"; exit 1"#;

/// Tries a TCP connection (2 s at most) to each `host:port` argument from
/// inside the container; prints `host:port UP` or `host:port DOWN` per line.
pub const TCP_HEALTH: &str = r#"for hp in "$@"; do h=${hp%:*}; p=${hp##*:}; if timeout 2 bash -c ": </dev/tcp/$h/$p" 2>/dev/null; then echo "$hp UP"; else echo "$hp DOWN"; fi; done"#;

/// The argv (inside the container) of [`TCP_HEALTH`] for `targets`.
pub fn tcp_health_argv<'a>(targets: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut argv = vec!["bash".to_string(), "-c".into(), TCP_HEALTH.into(), "bash".into()];
    argv.extend(targets.into_iter().map(str::to_string));
    argv
}

/// Reads [`TCP_HEALTH`]'s answer for `target` (`unknown` when absent).
pub fn tcp_health_of(text: &str, target: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{target} ")).map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// How a new config is put in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activate {
    /// Write it (checked) but do not reload: the running process already
    /// has the change through a runtime API.
    WriteOnly,
    /// Graceful reload.
    Reload,
    /// Restart (first install).
    Restart,
}

/// A checked config change inside a service container, in the order every
/// family uses: TLS material, staged files, check, swap, activation, removal
/// of TLS material no longer used.
#[derive(Debug)]
pub struct ConfigChange<'a> {
    /// The server.
    pub server: &'a ServerConfig,
    /// The container.
    pub container: &'a str,
    /// Files written before anything else (TLS material, named by fingerprint).
    pub tls: Vec<Step>,
    /// The staged files and anything the check needs.
    pub stage: Vec<Step>,
    /// The service's own checker (marked `checks_config`).
    pub check: Step,
    /// What puts the checked files in place.
    pub swap: Vec<Step>,
    /// The systemd unit, its master's pid file, and the signal that reloads
    /// it gracefully (sent to the master; empty: `systemctl reload`).
    pub unit: (&'a str, &'a str, &'a str),
    /// How it goes live.
    pub activate: Activate,
    /// Steps once it is live (before the removal of old TLS material).
    pub after: Vec<Step>,
    /// When set: the TLS directory and the fingerprints in use; every other
    /// file there is removed once the new config is live.
    pub tls_keep: Option<(String, Vec<String>)>,
}

impl ConfigChange<'_> {
    /// The steps, in order.
    pub fn steps(self) -> Vec<Step> {
        let (server, name) = (self.server, self.container);
        let mut steps = self.tls;
        steps.extend(self.stage);
        steps.push(self.check);
        steps.extend(self.swap);
        let (unit, pidfile, signal) = self.unit;
        match self.activate {
            Activate::WriteOnly => {}
            Activate::Reload => steps.push(reload_step(server, name, (unit, pidfile, signal))),
            Activate::Restart => steps.push(attach(
                server,
                name,
                format!("start {unit} with the new config"),
                &["systemctl", "restart", unit],
            )),
        }
        steps.extend(self.after);
        if let Some((dir, keep)) = self.tls_keep {
            let mut argv = vec!["sh", "-c", REMOVE_OLD_TLS, "sh", dir.as_str()];
            argv.extend(keep.iter().map(String::as_str));
            let what = if keep.len() == 1 {
                format!("{name}'s current certificate")
            } else {
                format!("the {} certificates {name} uses", keep.len())
            };
            steps.push(attach(server, name, format!("remove TLS material other than {what}"), &argv));
        }
        steps
    }
}

/// What a family asks of [`Cluster::plan_service_container`].
#[derive(Debug, Clone)]
pub struct ProvisionSpec<'a> {
    /// The family.
    pub family: Family,
    /// What the user calls it (`load balancer`, `webserver`): in errors.
    pub kind: &'static str,
    /// The server.
    pub server: &'a ServerConfig,
    /// The name given with -n, if any (already checked by `names::check_name`).
    pub name: Option<&'a str>,
    /// The prefix of a generated name (`ha`, `nginx`).
    pub prefix: &'static str,
    /// Packages of its image.
    pub packages: Vec<String>,
    /// The role shown for its container (`haproxy-lb`, `nginx-ws`).
    pub role: String,
    /// A static address the user gave (checked: in the server's subnet,
    /// free); default: the next free one.
    pub address: Option<String>,
}

impl Cluster {
    /// Plans a new service container: its name (given, or the next free
    /// `PREFIX<n>`), the container from the family's image at a free static
    /// address, started, a checkpoint (created and started in one round
    /// trip, configured in the next), then a wait for its systemd to boot.
    /// Returns the plan, its [`ServiceContainer`] (nothing published) and
    /// the state with the name counter advanced (commit its `counters`).
    pub(crate) fn plan_service_container(
        &self,
        spec: &ProvisionSpec<'_>,
        state: &State,
        facts: &BTreeMap<String, ServerFacts>,
    ) -> Result<(Plan, ServiceContainer, State)> {
        let mut st = state.clone();
        let name = match spec.name {
            Some(n) => n.to_string(),
            None => {
                let live = |n: &str| facts.values().any(|f| f.container(n).is_some());
                st.next_name(spec.prefix, |n| state.name_taken(n) || live(n))
            }
        };
        check_name_free(state, facts, spec.kind, &name)?;
        let cspec = ContainerSpec {
            server: spec.server.name.clone(),
            name: name.clone(),
            packages: spec.packages.clone(),
            address: spec.address.clone(),
            role: Some(spec.role.clone()),
            no_start: false,
        };
        let (mut plan, crec) = self.plan_container_with(&cspec, state, facts)?;
        if let Some(last) = plan.steps.last_mut() {
            last.break_after = true;
        }
        plan.steps.push(attach(spec.server, &name, format!("wait for {name} to boot"), &["sh", "-c", WAIT_BOOT]));
        plan.state_changes.clear();
        let sc = ServiceContainer {
            family: spec.family,
            name,
            server: spec.server.name.clone(),
            address: crec.address,
            image: crec.image,
            published: Vec::new(),
        };
        Ok((plan, sc, st))
    }
}
