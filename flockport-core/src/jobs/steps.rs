//! The job scheduler's steps on servers, all pure: the version snapshot of a
//! base container (running or not), its transfer to another server (read
//! on one, written on the other), instances (a snapshot clone of the
//! server's copy, its static address, its cgroup limits, started), the wait
//! until an instance answers, and the removal of instances and snapshots.

use crate::inventory::ServerConfig;
use crate::lxc;
use crate::plan::Step;
use std::net::Ipv4Addr;

use super::spec::JobRecord;

fn s(v: &str) -> String {
    v.to_string()
}

/// Makes snapshot `$3` (a stopped template container in lxcpath `$1`) of
/// container `$2`'s root filesystem. A running container is read through
/// its init's root (`/proc/PID/root`, one filesystem: no /proc, /sys, /dev
/// or tmpfs contents); a stopped one from its rootfs (a directory, or an
/// overlay mounted read-only in a private mount namespace). The config is
/// the base's without network, hooks, autostart and limits. Built beside
/// its place and renamed into it with the completion marker inside, so a
/// cut-short build is never cloned; an existing complete one is kept.
pub const SNAPSHOT_SCRIPT: &str = r#"set -eu
P=$1 b=$2 snap=$3
d="$P/$snap" t="$P/.$snap.part"
[ -f "$d/flockport-image-complete" ] && { echo "snapshot $snap exists"; exit 0; }
[ -f "$P/$b/config" ] || { echo "container $b has no config in $P" >&2; exit 3; }
rm -rf "$t" "$d"
mkdir -p "$t/rootfs"
copy() { # $1: the directory to read
  { rc=0; tar -C "$1" --one-file-system --numeric-owner --xattrs -cf - . 2>"$t/tar.err" || rc=$?; echo "$rc" >"$t/tar.rc"; } \
    | tar -C "$t/rootfs" --numeric-owner --xattrs -xpf -
  rc=$(cat "$t/tar.rc")
  # 1: a file changed while it was read (a running base); anything else is a failure.
  [ "$rc" -le 1 ] || { cat "$t/tar.err" >&2; exit 4; }
  rm -f "$t/tar.rc" "$t/tar.err"
}
st=$(lxc-info -P "$P" -n "$b" -sH)
if [ "$st" = RUNNING ]; then
  pid=$(lxc-info -P "$P" -n "$b" -pH)
  copy "/proc/$pid/root"
else
  r=$(sed -n 's/^[[:space:]]*lxc\.rootfs\.path[[:space:]]*=[[:space:]]*//p' "$P/$b/config" | tail -n 1)
  case "$r" in
    overlay:*|overlayfs:*)
      rest=${r#*:}; upper=${rest##*:}; lower=${rest%:*}
      m="$t/mnt"; mkdir -p "$m"
      unshare -m sh -c 'mount -t overlay overlay -o "ro,lowerdir=$1:$2" "$3" && tar -C "$3" --numeric-owner --xattrs -cf - .' sh "$upper" "$lower" "$m" \
        | tar -C "$t/rootfs" --numeric-owner --xattrs -xpf -
      rmdir "$m" ;;
    dir:*) copy "${r#dir:}" ;;
    /*) copy "$r" ;;
    *) echo "rootfs $r of $b: only directory and overlay root filesystems can be snapshotted" >&2; exit 5 ;;
  esac
fi
[ -x "$t/rootfs/sbin/init" ] || [ -e "$t/rootfs/lib/systemd/systemd" ] || { echo "the snapshot of $b has no init" >&2; exit 6; }
grep -v -e '^[[:space:]]*lxc\.rootfs\.path' -e '^[[:space:]]*lxc\.net\.' -e '^[[:space:]]*lxc\.uts\.name' \
  -e '^[[:space:]]*lxc\.hook\.' -e '^[[:space:]]*lxc\.start\.' -e '^[[:space:]]*lxc\.cgroup' "$P/$b/config" >"$t/config" || true
printf 'lxc.rootfs.path = dir:%s/rootfs\nlxc.uts.name = %s\n' "$d" "$snap" >>"$t/config"
date -u +%Y-%m-%dT%H:%M:%SZ >"$t/flockport-image-complete"
mv "$t" "$d"
echo "snapshot $snap of $b made ($st)"
"#;

/// Writes snapshot `$2` into lxcpath `$1` from a compressed tar on stdin
/// (what [`read_snapshot_argv`] printed on another server; `$3` the
/// compressor, `zstd` or `gzip`), its rootfs path made this server's; kept
/// when already complete.
pub const WRITE_SNAPSHOT_SCRIPT: &str = r#"set -eu
P=$1 snap=$2 z=$3
d="$P/$snap" t="$P/.$snap.part"
if [ -f "$d/flockport-image-complete" ]; then cat >/dev/null; echo "snapshot $snap exists"; exit 0; fi
rm -rf "$t" "$d"
mkdir -p "$t"
"$z" -dc | tar -C "$t" --numeric-owner --xattrs -xpf -
[ -f "$t/flockport-image-complete" ] && [ -f "$t/config" ] || { echo "the stream of $snap was incomplete" >&2; exit 4; }
sed -i "s|^lxc\.rootfs\.path = .*|lxc.rootfs.path = dir:$d/rootfs|" "$t/config"
mv "$t" "$d"
echo "snapshot $snap written"
"#;

/// How a snapshot travels: `zstd` when both ends have it, else `gzip`.
pub fn compressor(zstd_both: bool) -> &'static str {
    if zstd_both {
        "zstd"
    } else {
        "gzip"
    }
}

/// The argv that prints snapshot `snap` of `server` as a tar compressed by
/// `z` (`zstd`: level 1 on every core; `gzip`: level 1).
pub fn read_snapshot_argv(server: &ServerConfig, snap: &str, z: &str) -> Vec<String> {
    let script = r#"set -eu; d="$1/$2"; [ -f "$d/flockport-image-complete" ] || { echo "no complete snapshot $2" >&2; exit 3; }; if [ "$3" = zstd ]; then c="zstd -1 -T0 -q"; else c="gzip -1"; fi; tar -C "$d" --numeric-owner --xattrs -cf - config rootfs flockport-image-complete | $c"#;
    vec![s("sh"), s("-c"), s(script), s("sh"), server.lxcpath.clone(), s(snap), s(z)]
}

/// The argv that writes the tar on stdin, compressed by `z`, as snapshot `snap`.
pub fn write_snapshot_argv(server: &ServerConfig, snap: &str, z: &str) -> Vec<String> {
    vec![s("sh"), s("-c"), s(WRITE_SNAPSHOT_SCRIPT), s("sh"), server.lxcpath.clone(), s(snap), s(z)]
}

/// The step that snapshots `base` as `snap` on its server.
pub fn snapshot_step(server: &ServerConfig, base: &str, snap: &str) -> Step {
    let mut st = Step::run(
        &server.name,
        format!("snapshot {base}'s root filesystem as {snap}"),
        vec![s("sh"), s("-c"), s(SNAPSHOT_SCRIPT), s("sh"), server.lxcpath.clone(), s(base), s(snap)],
    );
    st.alone = true;
    st
}

/// Where an instance goes: its server, bridge, address and subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The instance's name.
    pub name: String,
    /// Its address.
    pub address: Ipv4Addr,
    /// The bridge it joins.
    pub bridge: String,
    /// The bridge's prefix length.
    pub prefix: u8,
    /// The server's address on the bridge.
    pub gateway: Ipv4Addr,
}

/// The config lines of an instance's limits for the server's cgroup version.
pub fn limit_lines(job: &JobRecord, cgroup: &str) -> String {
    let mem = job.memory_mib * 1024 * 1024;
    // CPU: a quota of the share per 100 ms period.
    let quota = (job.cpu_milli * 100).max(1000);
    if cgroup == "v1" {
        format!(
            "lxc.cgroup.memory.limit_in_bytes = {mem}\nlxc.cgroup.cpu.cfs_period_us = 100000\nlxc.cgroup.cpu.cfs_quota_us = {quota}\n"
        )
    } else {
        format!("lxc.cgroup2.memory.max = {mem}\nlxc.cgroup2.cpu.max = {quota} 100000\n")
    }
}

/// Steps that make instance `slot` from snapshot `snap` (a snapshot clone),
/// with its limits, and start it.
pub fn instance_steps(server: &ServerConfig, job: &JobRecord, snap: &str, slot: &Slot, cgroup: &str) -> Vec<Step> {
    let p = &server.lxcpath;
    let name = &slot.name;
    let mut steps = vec![Step::run(
        &server.name,
        format!("create instance {name} from {snap} (snapshot clone)"),
        vec![
            s("lxc-copy"),
            s("-P"),
            p.clone(),
            s("-n"),
            s(snap),
            s("-N"),
            name.clone(),
            s("-s"),
            s("-B"),
            s("overlayfs"),
        ],
    )];
    steps.extend(lxc::static_address_on(server, name, slot.address, &slot.bridge, slot.prefix, slot.gateway));
    steps.push(Step::run_with_stdin(
        &server.name,
        format!("limit {name} to {} MiB and {} mCPU", job.memory_mib, job.cpu_milli),
        vec![s("sh"), s("-c"), s(r#"cat >> "$1""#), s("sh"), lxc::config_path(server, name)],
        crate::plan::Content::text(limit_lines(job, cgroup)),
    ));
    steps.extend(lxc::start_steps(server, name));
    steps
}

/// Waits (at most `secs`) until `address:port` takes a TCP connection from
/// the server.
pub const WAIT_TCP_SCRIPT: &str = r#"end=$(( $(date +%s) + $3 ))
while :; do
  if timeout 2 bash -c ": </dev/tcp/$1/$2" 2>/dev/null; then echo "$1:$2 answers"; exit 0; fi
  [ "$(date +%s)" -lt "$end" ] || { echo "$1:$2 did not answer within $3 s" >&2; exit 1; }
  sleep 0.3
done"#;

/// How long a new instance has to answer on its port.
pub const HEALTHY_WITHIN_SECS: u32 = 30;

/// The step that waits until instance `name` at `address` answers on `port`.
pub fn wait_healthy_step(server: &ServerConfig, name: &str, address: Ipv4Addr, port: u16) -> Step {
    Step::run(
        &server.name,
        format!("wait until {name} answers on {address}:{port} (at most {HEALTHY_WITHIN_SECS} s)"),
        vec![
            s("sh"),
            s("-c"),
            s(WAIT_TCP_SCRIPT),
            s("sh"),
            address.to_string(),
            port.to_string(),
            HEALTHY_WITHIN_SECS.to_string(),
        ],
    )
}

/// Steps that remove a snapshot from a server (nothing when it is gone).
pub fn remove_snapshot_steps(server: &ServerConfig, snap: &str) -> Vec<Step> {
    vec![Step::run(
        &server.name,
        format!("remove snapshot {snap}"),
        vec![s("sh"), s("-c"), s(r#"rm -rf "$1/.$2.part" "$1/$2""#), s("sh"), server.lxcpath.clone(), s(snap)],
    )]
}
