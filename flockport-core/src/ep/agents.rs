//! The Consul client agent of each server: what containers' services
//! (`addservice`) register with.
//!
//! Why an agent per server (ARCHITECTURE.md, "Container services"): a
//! service registered with one endpoint's agent lives and dies with that
//! agent, so registering containers with endpoints makes an endpoint a
//! single point of failure for every service it holds. A client agent on
//! the container's own server fails only with that server, when its
//! containers are gone too; it talks to whichever endpoints answer, its
//! node's failure takes its services out of DNS answers at once (Consul's
//! `serfHealth`), and when it returns its own state is what it syncs, so no
//! ghost stays. It is also where LXC's hooks are: a hook registers a service
//! by writing a file into the agent's config directory and reloading it
//! (SIGHUP), with no flockport process and no token in the hook.
//!
//! The agent runs on the server itself (not in a container: the hooks and
//! the checks of containers' addresses are the server's), as the systemd
//! unit `flockport-consul` where the server runs systemd, else as a daemon
//! with its pid file (see [`crate::service::DETECT_INIT`]). Its token may
//! write nodes and services only (policy [`POLICY`]); it is created through
//! an endpoint's local HTTP API from a file, never in argv.

use super::EpRecord;
use crate::inventory::ServerConfig;
use crate::plan::{Content, Step};
use crate::secrets::Secret;

/// The agent's directory on a server.
pub const DIR: &str = "/var/lib/flockport/consul";
/// The agent's binary.
pub const BINARY: &str = "/var/lib/flockport/consul/consul";
/// Its config (gossip key and token inside: 0600).
pub const CONFIG: &str = "/var/lib/flockport/consul/agent.hcl";
/// Its token, for Consul's CLI on the server (0600).
pub const TOKEN_FILE: &str = "/var/lib/flockport/consul/agent.token";
/// The registrations of running containers (one `NAME.json` each): the
/// agent's config directory.
pub const SERVICES_DIR: &str = "/var/lib/flockport/consul/services.d";
/// The definitions of every container's services (one `NAME.json` each),
/// copied into [`SERVICES_DIR`] while the container runs.
pub const DEFS_DIR: &str = "/var/lib/flockport/consul/defs";
/// The hook that keeps [`SERVICES_DIR`] what runs: `start`/`stop` from
/// LXC's hooks, `sync NAME LXCPATH` and `all LXCPATH` from flockport.
pub const SERVICES_HOOK: &str = "/var/lib/flockport/hooks/services";
/// The ACL policy of the agents' token.
pub const POLICY: &str = "flockport-agents";
/// The policy's rules: write this cluster's nodes and services, nothing else.
pub const POLICY_RULES: &str =
    "node_prefix \"\" {\n  policy = \"write\"\n}\nservice_prefix \"\" {\n  policy = \"write\"\n}\n";
/// Where an endpoint keeps the agents' policy rules and token while it
/// creates the token (0600).
const EP_RULES: &str = "/etc/consul.d/flockport-agents.hcl";
const EP_TOKEN: &str = "/etc/consul.d/flockport-agent.token";

/// [`SERVICES_HOOK`]. Events: `start NAME` (LXC's start-host hook:
/// `LXC_PID` is the init of a run that has the post-stop hook too, kept in
/// `hooked/NAME`), `stop NAME` (post-stop), `sync NAME LXCPATH` (flockport,
/// after a change: registered when running, else not; a run that began
/// before the container had the post-stop hook gets a waiter that
/// deregisters at its stop), `all LXCPATH` (every container, at the agent's
/// start). The agent re-reads its config (SIGHUP) when a registration
/// changed; when no agent runs yet, the files wait for it. Never fails a
/// container's start or stop.
pub const SERVICES_HOOK_SCRIPT: &str = r#"#!/bin/sh
# Managed by flockport: register container NAME's services with this
# server's Consul agent while it runs (defs/NAME.json -> services.d/NAME.json).
PATH=${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
D=/var/lib/flockport/consul
ev=$1; n=$2; P=$3
if [ -z "$P" ] && [ -n "$LXC_CONFIG_FILE" ]; then P=$(dirname "$(dirname "$LXC_CONFIG_FILE")"); fi
[ -n "$P" ] || P=/var/lib/lxc
mkdir -p "$D/services.d" "$D/defs" "$D/hooked" "$D/waiters" || exit 0
changed=
up() {
  if [ -f "$D/defs/$1.json" ]; then
    cmp -s "$D/defs/$1.json" "$D/services.d/$1.json" && return 0
    cp "$D/defs/$1.json" "$D/services.d/.$1.json" && mv -f "$D/services.d/.$1.json" "$D/services.d/$1.json" && changed=1
  else
    down "$1"
  fi
}
down() {
  [ -e "$D/services.d/$1.json" ] || return 0
  rm -f "$D/services.d/$1.json" && changed=1
}
@DAEMON_ALIVE@
sync_one() {
  if [ "$(lxc-info -P "$P" -n "$1" -sH 2>/dev/null)" = RUNNING ]; then
    up "$1"
    [ -f "$D/defs/$1.json" ] || return 0
    # This run has the post-stop hook when its start-host hook recorded its init.
    [ "$(lxc-info -P "$P" -n "$1" -pH 2>/dev/null)" = "$(cat "$D/hooked/$1" 2>/dev/null)" ] && return 0
    w=$(cat "$D/waiters/$1" 2>/dev/null)
    daemon_alive "$w" sh && case "$(tr '\0' ' ' < "/proc/$w/cmdline")" in *"lxc-wait"*" $1 ") return 0;; esac
    ( setsid sh -c 'lxc-wait -P "$1" -n "$2" -s STOPPED; exec "$0" stop "$2" "$1"' "$0" "$P" "$1" </dev/null >/dev/null 2>&1 & echo $! > "$D/waiters/$1" )
  else
    down "$1"
  fi
}
case $ev in
  start) [ -n "$LXC_PID" ] && echo "$LXC_PID" > "$D/hooked/$n"; up "$n" ;;
  stop) rm -f "$D/hooked/$n"; down "$n" ;;
  sync) sync_one "$n" ;;
  all)
    P=${2:-$P}
    for f in "$D"/defs/*.json "$D"/services.d/*.json; do
      [ -e "$f" ] || continue
      b=${f##*/}; sync_one "${b%.json}"
    done ;;
  *) echo "usage: $0 start|stop|sync NAME [LXCPATH] | all LXCPATH" >&2; exit 2 ;;
esac
[ -n "$changed" ] || exit 0
@DETECT_INIT@
if [ "$INIT" = systemd ]; then
  systemctl -q is-active flockport-consul && systemctl reload flockport-consul
else
  p=$(cat "$D/consul.pid" 2>/dev/null)
  daemon_alive "$p" consul && kill -HUP "$p"
fi
exit 0
"#;

/// The hook with the init detection in place.
pub fn services_hook() -> String {
    SERVICES_HOOK_SCRIPT
        .replace("@DETECT_INIT@", crate::service::DETECT_INIT)
        .replace("@DAEMON_ALIVE@", crate::service::DAEMON_ALIVE)
}

/// The agent's systemd unit (used when the server runs systemd).
const UNIT: &str = "# Managed by flockport: this server's Consul client agent.\n\
[Unit]\n\
Description=flockport: Consul client agent (containers' services)\n\
Wants=network-online.target\n\
After=network-online.target lxc-net.service\n\n\
[Service]\n\
Type=exec\n\
ExecStartPre=/var/lib/flockport/hooks/services all /var/lib/lxc\n\
ExecStart=/var/lib/flockport/consul/consul agent -config-file=/var/lib/flockport/consul/agent.hcl -config-dir=/var/lib/flockport/consul/services.d\n\
ExecReload=/bin/kill -HUP $MAINPID\n\
KillSignal=SIGINT\n\
Restart=on-failure\n\
RestartSec=2\n\n\
[Install]\n\
WantedBy=multi-user.target\n";

/// Starts the agent when it does not run (after reconciling the
/// registrations with what runs: `$1` is the lxcpath), else makes it
/// re-read its config.
const ENSURE: &str = r#"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
D=/var/lib/flockport/consul
mkdir -p "$D/data" "$D/services.d" "$D/defs" || exit 1
if [ "$INIT" = systemd ]; then
  ln -sf "$D/flockport-consul.service" /etc/systemd/system/flockport-consul.service
  systemctl daemon-reload && systemctl enable -q flockport-consul || exit 1
  if systemctl -q is-active flockport-consul; then exec systemctl reload flockport-consul; fi
  systemctl start flockport-consul && exit 0
  journalctl -u flockport-consul -n 10 --no-pager >&2; exit 1
fi
p=$(cat "$D/consul.pid" 2>/dev/null)
if daemon_alive "$p" consul; then exec kill -HUP "$p"; fi
/var/lib/flockport/hooks/services all "$1"
( umask 077; setsid "$D/consul" agent -config-file="$D/agent.hcl" -config-dir="$D/services.d" -pid-file="$D/consul.pid" </dev/null >>"$D/consul.log" 2>&1 & )
i=0; while [ "$i" -lt 100 ]; do
  p=$(cat "$D/consul.pid" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && exit 0
  sleep 0.1; i=$((i+1))
done
echo "this server's Consul agent did not start; the end of $D/consul.log:" >&2; tail -n 10 "$D/consul.log" >&2; exit 1
"#;

/// Stops the agent (it leaves the cluster: SIGINT) and removes it; the
/// containers' definitions and registrations stay for the next cluster.
const REMOVE: &str = r#"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
D=/var/lib/flockport/consul
if [ "$INIT" = systemd ]; then
  systemctl disable -q --now flockport-consul 2>/dev/null
  rm -f /etc/systemd/system/flockport-consul.service; systemctl daemon-reload
else
  p=$(cat "$D/consul.pid" 2>/dev/null)
  if daemon_alive "$p" consul; then
    kill -INT "$p"
    i=0; while kill -0 "$p" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
    kill -KILL "$p" 2>/dev/null
  fi
fi
rm -rf "$D/data" "$D/consul" "$D/agent.hcl" "$D/agent.token" "$D/consul.pid" "$D/consul.log" "$D/flockport-consul.service"
"#;

/// Consul's config of `server`'s client agent.
pub fn render_config(server: &ServerConfig, eps: &[&EpRecord], gossip: &Secret, token: &Secret) -> String {
    let join: Vec<String> = eps.iter().map(|e| format!("\"{}\"", e.container.address)).collect();
    format!(
        r#"# Managed by flockport: the Consul client agent of server {name}. Changes here are overwritten.
datacenter = "dc1"
node_name = "{name}"
server = false
data_dir = "{DIR}/data"
bind_addr = "{gw}"
advertise_addr = "{gw}"
client_addr = "127.0.0.1"
retry_join = [{join}]
rejoin_after_leave = true
disable_update_check = true
encrypt = "{gossip}"
ports {{
  dns = -1
  grpc = -1
}}
{GOSSIP}
acl {{
  enabled = true
  default_policy = "deny"
  down_policy = "extend-cache"
  tokens {{
    agent = "{token}"
    default = "{token}"
  }}
}}
"#,
        name = server.name,
        gw = server.gateway(),
        join = join.join(", "),
        gossip = gossip.expose(),
        token = token.expose(),
    )
}

/// Failure detection of every agent (endpoints' and servers'): a lost
/// server's node, and so its containers' services, leaves the answers within
/// a few seconds (Consul's defaults take up to about ten).
pub const GOSSIP: &str =
    "gossip_lan {\n  probe_interval = \"500ms\"\n  probe_timeout = \"300ms\"\n  suspicion_mult = 2\n}";

fn sh(script: String, args: &[&str]) -> Vec<String> {
    let mut v = vec!["sh".to_string(), "-c".into(), script, "sh".into()];
    v.extend(args.iter().map(|a| a.to_string()));
    v
}

/// The hooks every server with container services has: the start-host and
/// post-stop hooks call [`SERVICES_HOOK`].
pub fn hook_steps(server: &ServerConfig) -> Vec<Step> {
    let mut steps = crate::service::hook_steps(server);
    steps.push(Step::write_file(
        &server.name,
        "install flockport's services hook (registers containers' services while they run)",
        SERVICES_HOOK,
        0o755,
        Content::text(services_hook()),
    ));
    steps
}

/// The steps that install and start `server`'s agent (binary, config,
/// token, unit, hooks), joining `eps`.
pub fn install_steps(
    server: &ServerConfig,
    eps: &[&EpRecord],
    binary: &[u8],
    gossip: &Secret,
    token: &Secret,
) -> Vec<Step> {
    let mut steps = hook_steps(server);
    steps.extend([
        Step::write_file(
            &server.name,
            "install Consul for this server's client agent",
            BINARY,
            0o755,
            Content::binary(binary.to_vec()),
        ),
        config_step(server, eps, gossip, token),
        Step::write_file(
            &server.name,
            "write the agent's token",
            TOKEN_FILE,
            0o600,
            Content::secret(token.expose().as_bytes().to_vec()),
        ),
        Step::write_file(
            &server.name,
            "write the agent's systemd unit",
            format!("{DIR}/flockport-consul.service"),
            0o644,
            Content::text(UNIT),
        ),
    ]);
    steps.push(start_step(server, eps.len()));
    steps.push(wait_joined_step(server));
    steps
}

/// `server`'s agent config (a secret file).
pub fn config_step(server: &ServerConfig, eps: &[&EpRecord], gossip: &Secret, token: &Secret) -> Step {
    Step::write_file(
        &server.name,
        format!("write the Consul client agent's config (joins {} endpoint(s))", eps.len()),
        CONFIG,
        0o600,
        Content::secret(render_config(server, eps, gossip, token).into_bytes()),
    )
}

fn start_step(server: &ServerConfig, eps: usize) -> Step {
    Step::run(
        &server.name,
        format!("start {}'s Consul client agent (joins {eps} endpoint(s))", server.name),
        sh(format!("{}\n{}\n{ENSURE}", crate::service::DETECT_INIT, crate::service::DAEMON_ALIVE), &[&server.lxcpath]),
    )
}

/// Waits (60 s at most) until the agent's node is in the catalog: it joined
/// and its token works, so what it registers is answered.
fn wait_joined_step(server: &ServerConfig) -> Step {
    let script = format!(
        r#"export CONSUL_HTTP_TOKEN_FILE={TOKEN_FILE} CONSUL_HTTP_ADDR=http://127.0.0.1:8500
i=0; while [ "$i" -lt 600 ]; do
  {BINARY} catalog nodes 2>/dev/null | awk -v n="$1" '$1 == n {{ f = 1 }} END {{ exit !f }}' && exit 0
  sleep 0.1; i=$((i+1))
done
echo "the Consul agent of server $1 is not in the catalog after 60 s; the end of {DIR}/consul.log:" >&2; tail -n 10 {DIR}/consul.log >&2; exit 1"#
    );
    Step::run(
        &server.name,
        format!("wait until {}'s agent is in the catalog", server.name),
        sh(script, &[&server.name]),
    )
}

/// Waits (30 s at most) until the catalog shows, from `server`'s node,
/// every service of `present` tagged with `container` and none of `absent`
/// (a change on a running container, applied by its agent at once).
pub fn wait_catalog_step(server: &ServerConfig, container: &str, present: &[String], absent: &[String]) -> Step {
    let script = format!(
        r#"export CONSUL_HTTP_TOKEN_FILE={TOKEN_FILE} CONSUL_HTTP_ADDR=http://127.0.0.1:8500
node=$1; c=$2; shift 2
i=0; while [ "$i" -lt 1500 ]; do
  have=$({BINARY} catalog services -node "$node" -tags 2>/dev/null) && ok=1 || ok=0
  for w in "$@"; do
    t=$(printf '%s\n' "$have" | awk -v n="${{w#?}}" '$1 == n {{ print "," $2 "," }}')
    case $w in
      +*) case $t in *",$c,"*) ;; *) ok=0 ;; esac ;;
      -*) case $t in *",$c,"*) ok=0 ;; esac ;;
    esac
  done
  [ "$ok" = 1 ] && exit 0
  sleep 0.02; i=$((i+1))
done
echo "the catalog does not show $c's services as registered by server $node after 30 s (the end of {DIR}/consul.log follows)" >&2; tail -n 5 {DIR}/consul.log >&2; exit 1"#
    );
    let mut args: Vec<String> = vec![server.name.clone(), container.to_string()];
    args.extend(present.iter().map(|p| format!("+{p}")));
    args.extend(absent.iter().map(|a| format!("-{a}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Step::run(
        &server.name,
        format!("wait until the catalog shows {container}'s services from {}", server.name),
        sh(script, &args),
    )
}

/// Stops and removes `server`'s agent (its containers' definitions stay).
pub fn remove_steps(server: &ServerConfig) -> Vec<Step> {
    vec![Step::run(
        &server.name,
        format!("stop and remove {}'s Consul client agent (containers' definitions stay)", server.name),
        sh(format!("{}\n{}\n{REMOVE}", crate::service::DETECT_INIT, crate::service::DAEMON_ALIVE), &[]),
    )]
}

/// Creates the agents' policy and token through endpoint `ep` (idempotent:
/// nothing when the token already works). The token goes in a 0600 file and
/// from there into a request on the endpoint's local HTTP API (bash's
/// `/dev/tcp`: Consul's CLI takes a token's secret only in argv).
pub fn token_steps(server: &ServerConfig, ep: &EpRecord, token: &Secret) -> Vec<Step> {
    use crate::service::container::{attach, push};
    let name = ep.container.name.as_str();
    let script = format!(
        r#"export CONSUL_HTTP_TOKEN_FILE=/etc/consul.d/flockport.token CONSUL_HTTP_ADDR=http://127.0.0.1:8500
req() {{ # METHOD PATH TOKEN BODY: prints the status code
  exec 3<>/dev/tcp/127.0.0.1/8500 || return 1
  printf '%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nX-Consul-Token: %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' "$1" "$2" "$3" "${{#4}}" "$4" >&3
  IFS=' ' read -r _ code _ <&3
  exec 3<&-
  printf '%s' "$code"
}}
agent=$(<{EP_TOKEN}) && mgmt=$(</etc/consul.d/flockport.token) || exit 1
[ "$(req GET /v1/acl/token/self "$agent" '')" = 200 ] && exit 0
consul acl policy read -name {POLICY} >/dev/null 2>&1 || consul acl policy create -name {POLICY} -description "flockport: the servers' client agents write nodes and services" -rules @{EP_RULES} >/dev/null || exit 1
code=$(req PUT /v1/acl/token "$mgmt" "{{\"SecretID\":\"$agent\",\"Description\":\"flockport: the servers' client agents\",\"Policies\":[{{\"Name\":\"{POLICY}\"}}]}}")
[ "$code" = 200 ] || {{ echo "Consul refused the agents' token (HTTP $code)" >&2; exit 1; }}"#
    );
    vec![
        push(server, name, EP_RULES, 0o644, Content::text(POLICY_RULES)),
        push(server, name, EP_TOKEN, 0o600, Content::secret(token.expose().as_bytes().to_vec())),
        attach(
            server,
            name,
            "the servers' client agents get a token that writes nodes and services only".into(),
            &["bash", "-c", &script],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_binds_the_bridge_and_joins_every_endpoint() {
        let s1 = crate::lb::tests::server();
        let ep = EpRecord {
            container: crate::service::ServiceContainer {
                family: crate::service::Family::Ep,
                name: "consul-10".into(),
                server: "s1".into(),
                address: [10, 0, 4, 10].into(),
                image: String::new(),
                published: vec![],
            },
        };
        let c = render_config(&s1, &[&ep], &Secret::new(String::from("G")), &Secret::new(String::from("T")));
        assert!(c.contains("bind_addr = \"10.0.4.1\"\n"), "{c}");
        assert!(c.contains("node_name = \"s1\"\n") && c.contains("server = false\n"), "{c}");
        assert!(c.contains("retry_join = [\"10.0.4.10\"]\n"), "{c}");
        assert!(c.contains("default = \"T\"") && c.contains("encrypt = \"G\""), "{c}");
        let hook = services_hook();
        assert!(hook.contains("INIT=systemd") && hook.contains("daemon_alive() {") && !hook.contains('@'), "{hook}");
    }
}
