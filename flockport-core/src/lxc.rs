//! The LXC container runtime over a [`Transport`]: probe a server, and build
//! the steps that clone, address, start, stop and destroy containers, run a
//! command inside one and push a file into one.
//!
//! Step builders are pure (they return [`Step`]s); only [`probe`], [`exec`]
//! and [`push`] talk to a server.

use crate::error::{Error, Result};
use crate::inventory::ServerConfig;
use crate::plan::{Content, Step};
use crate::transport::{Output, Transport, TransportExt};
use serde::Serialize;
use std::net::Ipv4Addr;

/// Prefix of image (template) container names.
pub const IMAGE_PREFIX: &str = "fp-img-";

/// The file in an image's container directory that marks its build as
/// finished; an image without it is half-built and never cloned.
pub const IMAGE_COMPLETE: &str = "flockport-image-complete";

/// The PATH given to commands run inside containers.
pub const CONTAINER_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A container's run state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    /// Running.
    Running,
    /// Stopped.
    Stopped,
    /// Anything else LXC reports (FROZEN, STARTING, ...).
    Other(String),
}

impl std::fmt::Display for ContainerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContainerState::Running => f.write_str("running"),
            ContainerState::Stopped => f.write_str("stopped"),
            ContainerState::Other(s) => f.write_str(&s.to_lowercase()),
        }
    }
}

/// A container as seen on a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
#[record(repr(name, server, state, address))]
#[record(computed(
    name = "address",
    ty = "Option<Ipv4Addr>",
    with = "ContainerInfo::address",
    doc = "The address to show: the live one, else the configured one."
))]
#[record(computed(
    name = "is_image",
    ty = "bool",
    with = "ContainerInfo::is_image",
    doc = "Whether this is an image template rather than a service container."
))]
pub struct ContainerInfo {
    /// Its name.
    pub name: String,
    /// The server it lives on.
    pub server: String,
    /// Run state: `running`, `stopped`, or what LXC said, lowercased.
    #[record(display)]
    pub state: ContainerState,
    /// Live IPv4 addresses (when running).
    pub ipv4: Vec<Ipv4Addr>,
    /// The static address in its config, if any.
    pub configured_ipv4: Option<Ipv4Addr>,
    /// For an image: whether its build finished ([`IMAGE_COMPLETE`] exists).
    #[serde(skip)]
    pub image_complete: bool,
}

impl ContainerInfo {
    /// Whether this is an image template rather than a service container.
    pub fn is_image(&self) -> bool {
        self.name.starts_with(IMAGE_PREFIX)
    }
    /// The address to show: the live one, else the configured one.
    pub fn address(&self) -> Option<Ipv4Addr> {
        self.ipv4.first().copied().or(self.configured_ipv4)
    }
}

/// What one round trip tells about a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct ServerFacts {
    /// `lxc-ls --version`.
    pub lxc_version: String,
    /// Whether overlayfs snapshot clones are possible.
    pub overlay: bool,
    /// Every container in the server's lxcpath, images included.
    pub containers: Vec<ContainerInfo>,
    /// What the server has for the scheduler to place against (absent when
    /// the probe's answer did not say).
    pub host: Option<HostCapacity>,
}

/// A server's size as its probe reads it: what the job scheduler places
/// against (`jobs::placement::Capacity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct HostCapacity {
    /// CPUs (`nproc`).
    pub cpus: u32,
    /// Memory, MiB (`MemTotal`).
    pub memory_mib: u64,
    /// Size of the filesystem holding the lxcpath, MiB.
    pub disk_mib: u64,
    /// `v1` when the memory and CPU controllers are cgroup v1 ones, else `v2`.
    pub cgroup: String,
    /// Bridges containers can join, with the server's address on each.
    pub networks: Vec<Bridge>,
    /// Whether `zstd` is there (snapshots then travel zstd-compressed,
    /// about 5x faster than gzip here; else gzip).
    pub zstd: bool,
}

/// A bridge on a server and the server's IPv4 address and prefix on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct Bridge {
    /// The bridge's name.
    pub name: String,
    /// The server's address on it (the containers' gateway), `ADDR/PREFIX`.
    pub address: String,
}

impl ServerFacts {
    /// Addresses in use on the server (live or configured).
    pub fn used_addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.containers.iter().flat_map(|c| c.ipv4.iter().copied().chain(c.configured_ipv4))
    }
    /// The container called `name`, if present.
    pub fn container(&self, name: &str) -> Option<&ContainerInfo> {
        self.containers.iter().find(|c| c.name == name)
    }
    /// Whether image `name` exists and its build finished.
    pub fn image_ready(&self, name: &str) -> bool {
        self.container(name).is_some_and(|c| c.image_complete)
    }
}

/// The probe: LXC version, overlay support and every container with its
/// state, live and configured addresses, in one command. `$1` is the lxcpath.
pub const PROBE_SCRIPT: &str = r#"P="$1"
command -v lxc-ls >/dev/null 2>&1 || { echo "LXC is not installed (no lxc-ls on PATH)" >&2; exit 127; }
printf 'version\t%s\n' "$(lxc-ls --version)"
if grep -qw overlay /proc/filesystems 2>/dev/null || [ -d /sys/module/overlay ]; then printf 'overlay\tyes\n'; else printf 'overlay\tno\n'; fi
for d in "$P"/*/; do
  [ -f "${d}config" ] || continue
  n=$(basename "$d")
  s=$(lxc-info -P "$P" -n "$n" -sH 2>/dev/null) || s=UNKNOWN
  i=$(lxc-info -P "$P" -n "$n" -iH 2>/dev/null | tr '\n' ',')
  a=$(sed -n 's/^[[:space:]]*lxc\.net\.0\.ipv4\.address[[:space:]]*=[[:space:]]*//p' "${d}config" | head -n 1)
  if [ -f "${d}flockport-image-complete" ]; then k=complete; else k=-; fi
  printf 'c\t%s\t%s\t%s\t%s\t%s\n' "$n" "$s" "$i" "$a" "$k"
done
m=$(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\).*/\1/p' /proc/meminfo)
d=$(df -Pk "$P" 2>/dev/null | awk 'NR==2 {print $2}')
if [ -d /sys/fs/cgroup/memory ]; then g=v1; else g=v2; fi
if command -v zstd >/dev/null 2>&1; then z=zstd; else z=-; fi
printf 'host\t%s\t%s\t%s\t%s\t%s\n' "$(nproc)" "${m:-0}" "${d:-0}" "$g" "$z"
for b in /sys/class/net/*/bridge; do
  [ -d "$b" ] || continue
  n=$(basename "$(dirname "$b")")
  printf 'bridge\t%s\t%s\n' "$n" "$(ip -4 -o addr show dev "$n" 2>/dev/null | awk '{print $4; exit}')"
done
"#;

/// Runs [`PROBE_SCRIPT`] on a server and parses it.
pub async fn probe(t: &dyn Transport, server: &ServerConfig) -> Result<ServerFacts> {
    let out = t.run_script(PROBE_SCRIPT, &[&server.lxcpath]).await?;
    parse_probe(&server.name, &out.stdout_str())
}

/// Parses the probe's output.
pub fn parse_probe(server: &str, text: &str) -> Result<ServerFacts> {
    let bad = |reason: String| Error::Parse { server: server.into(), command: "probe".into(), reason };
    let mut facts = ServerFacts { lxc_version: String::new(), overlay: false, containers: Vec::new(), host: None };
    let mut bridges = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["version", v] => facts.lxc_version = v.trim().to_string(),
            ["overlay", v] => facts.overlay = *v == "yes",
            ["c", name, state, ips, cfg, rest @ ..] => {
                let state = match state.trim() {
                    "RUNNING" => ContainerState::Running,
                    "STOPPED" => ContainerState::Stopped,
                    other => ContainerState::Other(other.to_string()),
                };
                let ipv4 = ips.split(',').filter_map(|s| s.trim().parse::<Ipv4Addr>().ok()).collect();
                let configured_ipv4 = cfg.split('/').next().and_then(|s| s.trim().parse().ok());
                facts.containers.push(ContainerInfo {
                    name: name.to_string(),
                    server: server.to_string(),
                    state,
                    ipv4,
                    configured_ipv4,
                    image_complete: rest.first() == Some(&"complete"),
                });
            }
            ["host", cpus, mem_kib, disk_kib, cgroup, tools @ ..] => {
                let num = |what: &str, v: &str| {
                    v.trim().parse::<u64>().map_err(|_| bad(format!("{what} {v:?} is not a number")))
                };
                facts.host = Some(HostCapacity {
                    cpus: u32::try_from(num("CPUs", cpus)?).unwrap_or(u32::MAX),
                    memory_mib: num("memory", mem_kib)? / 1024,
                    disk_mib: num("disk", disk_kib)? / 1024,
                    cgroup: cgroup.trim().to_string(),
                    networks: Vec::new(),
                    zstd: tools.first().is_some_and(|t| t.trim() == "zstd"),
                });
            }
            ["bridge", name, address] => {
                bridges.push(Bridge { name: name.to_string(), address: address.trim().to_string() })
            }
            _ => return Err(bad(format!("unexpected line {line:?}"))),
        }
    }
    if let Some(h) = facts.host.as_mut() {
        h.networks = bridges;
    }
    if facts.lxc_version.is_empty() {
        return Err(bad("no LXC version line".into()));
    }
    Ok(facts)
}

fn s(v: &str) -> String {
    v.to_string()
}

/// The path of a container's config file.
pub fn config_path(server: &ServerConfig, name: &str) -> String {
    format!("{}/{}/config", server.lxcpath, name)
}

/// Steps that clone `name` from the image `base`: an overlayfs snapshot when
/// `snapshot`, a full copy otherwise; then its static network config.
pub fn clone_steps(server: &ServerConfig, base: &str, name: &str, address: Ipv4Addr, snapshot: bool) -> Vec<Step> {
    let p = &server.lxcpath;
    let mut argv = vec![s("lxc-copy"), s("-P"), p.clone(), s("-n"), s(base), s("-N"), s(name)];
    let how = if snapshot {
        argv.extend([s("-s"), s("-B"), s("overlayfs")]);
        "snapshot clone (overlayfs)"
    } else {
        "full copy"
    };
    let mut steps = crate::service::hook_steps(server);
    steps.push(Step::run(&server.name, format!("create container {name} from {base} by {how}"), argv));
    steps.extend(static_address_steps(server, name, address));
    steps
}

/// The MAC address of the container holding `address`: LXC's prefix
/// 00:16:3e and the address's last three octets. Fixed per address, so a
/// container that is restarted, or a new one that reuses a deleted one's
/// address, keeps the MAC that neighbours have cached (a random one would
/// leave them sending to a stale MAC until their ARP entry expires).
pub fn mac_for(address: Ipv4Addr) -> String {
    let [_, b, c, d] = address.octets();
    format!("00:16:3e:{b:02x}:{c:02x}:{d:02x}")
}

/// Steps that give container `name` a static address on the server's
/// bridge, start it when the server boots (`lxc.start.auto`), and run
/// flockport's start hook ([`crate::service::START_HOOK`]: puts back its port
/// forwards) whenever it starts.
pub fn static_address_steps(server: &ServerConfig, name: &str, address: Ipv4Addr) -> Vec<Step> {
    static_address_on(server, name, address, &server.bridge, server.subnet.prefix_len(), server.gateway())
}

/// [`static_address_steps`] on bridge `link` of the server, whose subnet has
/// `prefix` and whose address there (the gateway) is `gateway`.
pub fn static_address_on(
    server: &ServerConfig,
    name: &str,
    address: Ipv4Addr,
    link: &str,
    prefix: u8,
    gateway: Ipv4Addr,
) -> Vec<Step> {
    let cfg = config_path(server, name);
    let net = format!(
        "lxc.net.0.type = veth\nlxc.net.0.link = {}\nlxc.net.0.flags = up\nlxc.net.0.name = eth0\nlxc.net.0.hwaddr = {}\nlxc.net.0.ipv4.address = {}/{}\nlxc.net.0.ipv4.gateway = {}\nlxc.start.auto = 1\nlxc.hook.start-host = {}\nlxc.hook.post-stop = {}\n",
        link,
        mac_for(address),
        address,
        prefix,
        gateway,
        crate::service::START_HOOK,
        crate::service::STOP_HOOK,
    );
    vec![
        Step::run(
            &server.name,
            format!("clear the network, autostart and hook config of {name}"),
            vec![
                s("sed"),
                s("-i"),
                s("-e"),
                s(r"/^[[:space:]]*lxc\.net\./d"),
                s("-e"),
                s(r"/^[[:space:]]*lxc\.start\.auto/d"),
                s("-e"),
                s(r"/^[[:space:]]*lxc\.hook\.start-host/d"),
                s("-e"),
                s(r"/^[[:space:]]*lxc\.hook\.post-stop/d"),
                cfg.clone(),
            ],
        ),
        Step::run_with_stdin(
            &server.name,
            format!("set static address {address} on {link}, autostart and start hook for {name}"),
            vec![s("sh"), s("-c"), s(r#"cat >> "$1""#), s("sh"), cfg],
            Content::text(net),
        ),
    ]
}

/// A step that makes container `name` start at boot and run flockport's
/// start and stop hooks (for a container made before flockport set these,
/// e.g. a load balancer from state schema 1); idempotent.
pub fn autostart_hook_step(server: &ServerConfig, name: &str) -> Step {
    hook_lines_step(server, name, true)
}

/// A step that gives container `name` flockport's start and stop hooks
/// (its services follow its life), nothing else; idempotent. LXC reads them
/// at the container's next start.
pub fn hooks_step(server: &ServerConfig, name: &str) -> Step {
    hook_lines_step(server, name, false)
}

/// The config lines of flockport's hooks (and with `autostart`, of
/// `lxc.start.auto = 1`) in place of any earlier ones.
fn hook_lines_step(server: &ServerConfig, name: &str, autostart: bool) -> Step {
    let (auto_del, auto_line, what) = if autostart {
        (
            r"-e '/^[[:space:]]*lxc\.start\.auto/d' ",
            r"lxc.start.auto = 1\n",
            format!("start {name} at boot, with flockport's start and stop hooks"),
        )
    } else {
        ("", "", format!("give {name} flockport's start and stop hooks"))
    };
    let script = format!(
        r#"c=$1; sed -i {auto_del}-e '/^[[:space:]]*lxc\.hook\.start-host/d' -e '/^[[:space:]]*lxc\.hook\.post-stop/d' "$c" && printf '{auto_line}lxc.hook.start-host = %s\nlxc.hook.post-stop = %s\n' "$2" "$3" >> "$c""#
    );
    Step::run(
        &server.name,
        what,
        vec![
            s("sh"),
            s("-c"),
            script,
            s("sh"),
            config_path(server, name),
            s(crate::service::START_HOOK),
            s(crate::service::STOP_HOOK),
        ],
    )
}

/// Steps that start a container and wait until it runs.
pub fn start_steps(server: &ServerConfig, name: &str) -> Vec<Step> {
    let p = &server.lxcpath;
    vec![
        Step::run(&server.name, format!("start {name}"), vec![s("lxc-start"), s("-P"), p.clone(), s("-n"), s(name)]),
        Step::run(
            &server.name,
            format!("wait for {name} to run"),
            vec![s("lxc-wait"), s("-P"), p.clone(), s("-n"), s(name), s("-s"), s("RUNNING"), s("-t"), s("30")],
        ),
    ]
}

/// Steps that stop a container (clean shutdown, killed after 15 s).
pub fn stop_steps(server: &ServerConfig, name: &str) -> Vec<Step> {
    vec![Step::run(
        &server.name,
        format!("stop {name}"),
        vec![s("lxc-stop"), s("-P"), server.lxcpath.clone(), s("-n"), s(name), s("-t"), s("15")],
    )]
}

/// Destroys container `$2` of lxcpath `$1` (stopping it first if it runs);
/// one that is already gone counts as destroyed, so a retry, a rollback of
/// a clone that never happened, or removing a service whose container was
/// lost all succeed.
pub const DESTROY_SCRIPT: &str = r#"[ -e "$1/$2/config" ] || exit 0; exec lxc-destroy -P "$1" -n "$2" -f"#;

/// Steps that destroy a container (stopping it first if it runs; nothing to
/// do when it is gone).
pub fn destroy_steps(server: &ServerConfig, name: &str) -> Vec<Step> {
    vec![Step::run(
        &server.name,
        format!("destroy {name}"),
        vec![s("sh"), s("-c"), s(DESTROY_SCRIPT), s("sh"), server.lxcpath.clone(), s(name)],
    )]
}

/// The argv that runs `argv` inside container `name`.
pub fn attach_argv(server: &ServerConfig, name: &str, argv: &[String]) -> Vec<String> {
    let mut v = vec![
        s("lxc-attach"),
        s("-P"),
        server.lxcpath.clone(),
        s("-n"),
        s(name),
        s("--clear-env"),
        s("-v"),
        s(CONTAINER_PATH),
        s("--"),
    ];
    v.extend(argv.iter().cloned());
    v
}

/// The argv that writes stdin to `path` inside container `name` with `mode`,
/// atomically (a temp file beside it, renamed over it): a reader never sees
/// half a file, and a failed write leaves the old one.
pub fn push_argv(server: &ServerConfig, name: &str, path: &str, mode: u32) -> Vec<String> {
    attach_argv(
        server,
        name,
        &[
            s("sh"),
            s("-c"),
            s(
                r#"umask 077; mkdir -p "$(dirname "$1")" && t=$(mktemp "$1.XXXXXX") && cat > "$t" && chmod "$2" "$t" && mv -f "$t" "$1""#,
            ),
            s("sh"),
            s(path),
            format!("{mode:04o}"),
        ],
    )
}

/// Runs `argv` inside container `name`; returns its output whatever the exit status.
pub async fn exec(t: &dyn Transport, server: &ServerConfig, name: &str, argv: &[String]) -> Result<Output> {
    t.exec(attach_argv(server, name, argv), None).await
}

/// Writes `contents` to `path` inside container `name` with `mode`.
pub async fn push(
    t: &dyn Transport,
    server: &ServerConfig,
    name: &str,
    path: &str,
    contents: &[u8],
    mode: u32,
) -> Result<()> {
    let argv = push_argv(server, name, path, mode);
    t.exec(argv.clone(), Some(contents.to_vec())).await?.check(t.server(), &argv)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_probe_output() {
        let text = "version\t5.0.2\noverlay\tyes\nc\tc1\tRUNNING\t10.0.4.20,\t10.0.4.20/24\t-\nc\tfp-img-base-1\tSTOPPED\t\t\tcomplete\nc\tx\tFROZEN\t10.0.4.9,10.0.3.2,\t\t-\nc\tfp-img-half-2\tSTOPPED\t\t\t-\n";
        let f = parse_probe("s1", text).unwrap();
        assert_eq!(f.lxc_version, "5.0.2");
        assert!(f.overlay);
        assert_eq!(f.containers.len(), 4);
        assert!(f.image_ready("fp-img-base-1"));
        assert!(!f.image_ready("fp-img-half-2"), "an image without the marker is half-built");
        assert!(!f.image_ready("nope"));
        assert_eq!(f.containers[0].state, ContainerState::Running);
        assert_eq!(f.containers[0].configured_ipv4, Some(Ipv4Addr::new(10, 0, 4, 20)));
        assert!(f.containers[1].is_image());
        assert_eq!(f.containers[2].ipv4.len(), 2);
        assert_eq!(f.containers[2].state.to_string(), "frozen");
        assert_eq!(f.used_addresses().count(), 4);
        assert!(parse_probe("s1", "garbage\n").is_err());
        assert!(parse_probe("s1", "overlay\tno\n").is_err());
    }
}
