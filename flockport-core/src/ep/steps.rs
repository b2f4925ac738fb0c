//! Pure builders of an endpoint's files and steps (no I/O): Consul's config
//! (rendered; it holds the gossip key and the management token, so it is a
//! secret file), its systemd unit, the wait for a leader with this endpoint
//! voting, the anonymous read-only policy, the `listep` probe, `consul leave`.

use super::EpRecord;
use crate::error::Result;
use crate::inventory::ServerConfig;
use crate::plan::{Content, Step};
use crate::secrets::Secret;
use crate::service::container::{attach, push};
use crate::service::render::render;
use tera::Context;

/// Consul's config file in the container (mode 0600: secrets inside).
pub const CONFIG: &str = "/etc/consul.d/consul.hcl";
/// The management token for Consul's CLI in the container (0600).
pub const TOKEN_FILE: &str = "/etc/consul.d/flockport.token";
/// The rules of the anonymous token's policy.
pub const ANONYMOUS_RULES_FILE: &str = "/etc/consul.d/anonymous.hcl";
/// Where the binary goes.
pub const BINARY: &str = "/usr/local/bin/consul";
/// The ad-hoc services file the agent reads (written by [`SYNC_SCRIPT`]).
pub const SERVICES_FILE: &str = "/etc/consul.d/flockport-services.json";
/// The script `consul watch` runs when the ad-hoc services in KV change.
pub const SYNC_BINARY: &str = "/usr/local/bin/flockport-consul-sync";
/// A copy of the KV document the agent last applied.
pub const APPLIED_FILE: &str = "/var/lib/flockport-consul/applied";
/// Where a change's document is staged before it goes into KV.
pub const STAGED_FILE: &str = "/var/lib/flockport-consul/services.next";

/// Applies the ad-hoc services in KV to this agent: run by `consul watch`
/// (unit `flockport-consul-sync`) at its start and at every change of the
/// key, with the key's JSON (`null` when absent) on standard input. The
/// document's token placeholder becomes the management token from its
/// 0600 file (the agent registers config-file services with the token in
/// their definition; the KV document itself holds no secret); the file is
/// swapped in and the agent reloaded; a config the agent refuses is swapped
/// back. [`APPLIED_FILE`] then holds the document applied.
pub const SYNC_SCRIPT: &str = r#"#!/bin/sh
# Managed by flockport: applies the ad-hoc services kept in Consul's KV store
# (flockport/services) to this endpoint's agent. Run by `consul watch`.
export CONSUL_HTTP_TOKEN_FILE=/etc/consul.d/flockport.token CONSUL_HTTP_ADDR=http://127.0.0.1:8500
umask 077
f=/etc/consul.d/flockport-services.json
d=/var/lib/flockport-consul
mkdir -p "$d" && t=$(mktemp "$d/sync.XXXXXX") || exit 1
trap 'rm -f "$t" "$f.new"' EXIT
# The key's JSON on stdin carries the document (base64); `consul kv get` is
# the fallback. Either way the file is the document and a newline.
in=$(cat)
v=$(printf '%s' "$in" | tr -d ' \n' | sed -n 's/.*"Value":"\([A-Za-z0-9+/=]*\)".*/\1/p')
if [ "$in" = null ]; then
  printf '{"services": []}\n' > "$t"
elif [ -n "$v" ] && printf '%s' "$v" | base64 -d > "$t" 2>/dev/null; then
  echo >> "$t"
else
  consul kv get flockport/services > "$t" || exit 1
fi
if ! cmp -s "$t" "$d/applied"; then
  tok=$(cat /etc/consul.d/flockport.token) || exit 1
  sed "s/@flockport-token@/$tok/g" "$t" > "$f.new" || exit 1
  cp -p "$f" "$d/prev.json" 2>/dev/null
  mv -f "$f.new" "$f" || exit 1
  if ! consul reload >/dev/null; then
    echo "flockport: the agent refused the ad-hoc services; keeping the previous ones" >&2
    cp "$d/prev.json" "$f" && consul reload >/dev/null
    exit 1
  fi
fi
mv -f "$t" "$d/applied"
"#;

/// What anonymous requests may do: read services and nodes (DNS, catalog
/// reads), nothing else.
pub const ANONYMOUS_RULES: &str =
    "service_prefix \"\" {\n  policy = \"read\"\n}\nnode_prefix \"\" {\n  policy = \"read\"\n}\n";

/// Consul's CLI in the container with the management token from its file
/// (never in argv): `$@` after the prefix.
const CLI_ENV: &str =
    "export CONSUL_HTTP_TOKEN_FILE=/etc/consul.d/flockport.token CONSUL_HTTP_ADDR=http://127.0.0.1:8500";

/// Waits (60 s at most) until the raft configuration has a leader and
/// endpoint `$1` votes.
pub fn wait_voting_script() -> String {
    format!(
        r#"{CLI_ENV}
i=0; while [ "$i" -lt 600 ]; do
  out=$(consul operator raft list-peers 2>/dev/null) && printf '%s\n' "$out" | awk -v n="$1" '$1 == n && $5 == "true" {{ f = 1 }} $4 == "leader" {{ l = 1 }} END {{ exit !(f && l) }}' && exit 0
  sleep 0.1; i=$((i+1))
done
echo "endpoint $1 is not a voting member of a cluster with a leader after 60 s:" >&2; consul operator raft list-peers >&2; exit 1"#
    )
}

/// Waits (30 s at most) until endpoint `rec`'s node is in the catalog: its
/// agent has synced (on a new cluster the first sync waits for the ACL
/// bootstrap), so what it registers next is answered by DNS at once.
pub fn wait_in_catalog_step(server: &ServerConfig, rec: &EpRecord) -> Step {
    let name = rec.container.name.as_str();
    let script = format!(
        r#"{CLI_ENV}
i=0; while [ "$i" -lt 300 ]; do
  consul catalog nodes 2>/dev/null | awk -v n="$1" '$1 == n {{ f = 1 }} END {{ exit !f }}' && exit 0
  sleep 0.1; i=$((i+1))
done
echo "endpoint $1 is not in Consul's catalog after 30 s" >&2; exit 1"#
    );
    attach(server, name, format!("wait until {name} is in the catalog"), &["sh", "-c", &script, "sh", name])
}

/// Makes the anonymous token read-only for services and nodes (idempotent).
pub fn anonymous_policy_script() -> String {
    format!(
        r#"{CLI_ENV}
consul acl policy read -name flockport-anonymous-read >/dev/null 2>&1 || consul acl policy create -name flockport-anonymous-read -description "flockport: anonymous requests may read services and nodes" -rules @/etc/consul.d/anonymous.hcl >/dev/null || exit 1
consul acl token update -id 00000000-0000-0000-0000-000000000002 -policy-name flockport-anonymous-read -description "Anonymous Token (flockport: read services and nodes)" >/dev/null"#
    )
}

/// The `listep` probe of one endpoint: its raft peers and gossip members,
/// each line prefixed (`peer `, `member `).
pub fn probe_argv() -> Vec<String> {
    vec!["sh".into(), "-c".into(), format!("{CLI_ENV}\n{PROBE}")]
}

const PROBE: &str = "consul operator raft list-peers -stale | sed 's/^/peer /' && consul members | sed 's/^/member /'";

/// Consul's config of endpoint `rec`: the first one of a cluster bootstraps
/// it; every endpoint lists all the others to join (so a restart rejoins).
pub fn render_config(
    rec: &EpRecord,
    bootstrap: bool,
    join: &[String],
    gossip: &Secret,
    token: &Secret,
) -> Result<String> {
    let mut c = Context::new();
    c.insert("name", &rec.container.name);
    c.insert("address", &rec.container.address.to_string());
    c.insert("bootstrap", &bootstrap);
    c.insert("join", join);
    c.insert("gossip_key", gossip.expose());
    c.insert("token", token.expose());
    render("consul.hcl", &c)
}

/// The config step of `rec` (a secret file).
pub fn config_step(server: &ServerConfig, rec: &EpRecord, text: String) -> Step {
    push(server, &rec.container.name, CONFIG, 0o600, Content::secret(text.into_bytes()))
}

/// The steps that install and start Consul in a fresh endpoint container.
pub fn install_steps(
    server: &ServerConfig,
    rec: &EpRecord,
    binary: Vec<u8>,
    config: String,
    token: &Secret,
) -> Result<Vec<Step>> {
    let name = rec.container.name.as_str();
    let mut c = Context::new();
    c.insert("name", name);
    let unit = render("consul.service", &c)?;
    c.insert("key", super::catalog::KV_KEY);
    let sync_unit = render("consul-sync.service", &c)?;
    Ok(vec![
        push(server, name, BINARY, 0o755, Content::binary(binary)),
        config_step(server, rec, config),
        push(server, name, TOKEN_FILE, 0o600, Content::secret(token.expose().as_bytes().to_vec())),
        push(server, name, ANONYMOUS_RULES_FILE, 0o644, Content::text(ANONYMOUS_RULES)),
        push(server, name, SERVICES_FILE, 0o644, Content::text("{\"services\": []}\n")),
        // Names in checks (`http://minio.service.consul/`) resolve through the
        // server's forwarder, which sends other names to the server's resolvers.
        push(
            server,
            name,
            "/etc/resolv.conf",
            0o644,
            Content::text(format!(
                "# Managed by flockport: the forwarder of server {}.\nnameserver {}\n",
                server.name,
                server.gateway()
            )),
        ),
        push(server, name, SYNC_BINARY, 0o755, Content::text(SYNC_SCRIPT)),
        push(server, name, "/etc/systemd/system/consul.service", 0o644, Content::text(unit)),
        push(server, name, "/etc/systemd/system/flockport-consul-sync.service", 0o644, Content::text(sync_unit)),
        attach(
            server,
            name,
            format!("start Consul and its ad-hoc services' watcher in {name}"),
            &["sh", "-c", "systemctl daemon-reload && systemctl enable --now consul flockport-consul-sync"],
        ),
        attach(
            server,
            name,
            format!("wait until {name} votes in a cluster with a leader"),
            &["sh", "-c", &wait_voting_script(), "sh", name],
        ),
    ])
}

/// `consul leave` in the endpoint's container: it leaves the raft
/// configuration and gossip cleanly. With `force`, a failure (the container
/// or agent is down) does not stop the removal.
pub fn leave_step(server: &ServerConfig, rec: &EpRecord, force: bool) -> Step {
    let script = format!("{CLI_ENV}\nconsul leave");
    let description = format!("{} leaves the Consul cluster", rec.container.name);
    let inner: Vec<String> = ["sh", "-c", script.as_str()].iter().map(|s| s.to_string()).collect();
    let attach_argv = crate::lxc::attach_argv(server, &rec.container.name, &inner);
    if !force {
        return Step::run(&server.name, description, attach_argv);
    }
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        r#""$@" || echo "could not leave cleanly; removing it anyway" >&2"#.into(),
        "sh".into(),
    ];
    argv.extend(attach_argv);
    Step::run(&server.name, format!("{description} (forced: a failure is reported, not fatal)"), argv)
}

/// Makes the cluster forget endpoint `gone` through endpoint `via`: out of
/// the raft configuration (an endpoint that could not leave, being down,
/// would still count as a voter: dead endpoints are not cleaned up by
/// autopilot, see consul.hcl) and out of gossip. Either may already be done.
/// With `force` a failure (`via` is down too) is reported, not fatal.
pub fn forget_step(server: &ServerConfig, via: &EpRecord, gone: &EpRecord, force: bool) -> Step {
    let fail = if force { "echo \"$out (forced: going on)\" >&2; exit 0" } else { "echo \"$out\" >&2; exit 1" };
    let script = format!(
        r#"{CLI_ENV}
consul force-leave -prune "$1" >/dev/null 2>&1
out=$(consul operator raft remove-peer -address="$2:8300" 2>&1) && exit 0
case $out in *"not found"*|*"No such"*|*"no such"*|*"not a peer"*) exit 0;; esac
{fail}"#
    );
    let gone_name = gone.container.name.as_str();
    let addr = gone.container.address.to_string();
    attach(
        server,
        &via.container.name,
        format!("the cluster forgets {gone_name} (raft peers, gossip)"),
        &["sh", "-c", &script, "sh", gone_name, &addr],
    )
}

/// Stages the ad-hoc services document `doc` in endpoint `rec`'s
/// container: what [`kv_put_step`] stores and [`wait_applied_step`] awaits.
pub fn stage_step(server: &ServerConfig, rec: &EpRecord, doc: String) -> Step {
    push(server, &rec.container.name, STAGED_FILE, 0o644, Content::text(doc))
}

/// Puts the staged document into Consul's KV store through endpoint `rec`
/// (the management token from its file, the document from a file: neither
/// in argv).
pub fn kv_put_step(server: &ServerConfig, rec: &EpRecord) -> Step {
    let name = rec.container.name.as_str();
    let script = format!("{CLI_ENV}\nconsul kv put {} @{STAGED_FILE} >/dev/null", super::catalog::KV_KEY);
    attach(
        server,
        name,
        format!("store the ad-hoc services in Consul's KV store through {name}"),
        &["sh", "-c", &script],
    )
}

/// Waits (30 s at most) until endpoint `rec`'s agent has applied the staged
/// document (`consul kv get` prints it with a newline after it) and the
/// catalog shows it from this agent: every name of `present` registered by
/// it, none of `absent` (the agent syncs a change at once, except for a few
/// seconds after a new cluster starts).
pub fn wait_applied_step(server: &ServerConfig, rec: &EpRecord, present: &[String], absent: &[String]) -> Step {
    let name = rec.container.name.as_str();
    let script = format!(
        r#"{CLI_ENV}
n=$1; shift
i=0; while [ "$i" -lt 1500 ]; do
  if {{ cat {STAGED_FILE}; echo; }} | cmp -s - {APPLIED_FILE}; then
    have=$(consul catalog services -node "$n" 2>/dev/null) && ok=1 || ok=0
    for w in "$@"; do
      case $w in
        +*) printf '%s\n' "$have" | grep -qxF -- "${{w#+}}" || ok=0 ;;
        -*) printf '%s\n' "$have" | grep -qxF -- "${{w#-}}" && ok=0 ;;
      esac
    done
    [ "$ok" = 1 ] && exit 0
  fi
  sleep 0.02; i=$((i+1))
done
echo "endpoint $n has not applied the ad-hoc services after 30 s (journalctl -u flockport-consul-sync in its container tells why)" >&2; exit 1"#
    );
    let mut argv: Vec<String> = vec!["sh".into(), "-c".into(), script, "sh".into(), name.into()];
    argv.extend(present.iter().map(|p| format!("+{p}")));
    argv.extend(absent.iter().map(|a| format!("-{a}")));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    attach(server, name, format!("wait until {name} runs the ad-hoc services"), &argv)
}
