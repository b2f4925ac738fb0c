#!/usr/bin/env python3
"""bench/scheduler part 2, on the lab: `flockport addjob c1 12` end to end against the floor.

The floor is the same work done by hand, with nothing of flockport: on s1 a snapshot of the
running c1 (tar of its init's root into a stopped template container), that template copied to
s2 and s3 by `ssh s1 tar | ssh sN tar` (both at once), then on each server at once its four
instances: `lxc-copy -s -B overlayfs`, the static network lines, `lxc-start`, `lxc-wait RUNNING`.
flockport does the same (placement, probes, one compressed stream through this machine, the state) and
returns when every instance runs. Each round times one then the other and removes both; the
median round is reported as a ratio (target: within 1.3x of the floor).

Usage (as root, lab up, `cargo build --release -p flockport-cli` done): bench/scheduler/lab.py [--rounds N]
Writes bench/results/scheduler-lab.md and bench/results/scheduler-lab.json.
"""
import argparse, json, statistics, subprocess, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import ROOT, lab_copy, logger, run  # noqa: E402

log = logger("scheduler-lab")
OUT = ROOT / "tests/lab/out"
HOSTS = {"s1": "192.168.122.11", "s2": "192.168.122.12", "s3": "192.168.122.13"}
NETS = {"s1": "10.0.4", "s2": "10.0.5", "s3": "10.0.7"}
SSH = ["ssh", "-F", "/dev/null", "-i", str(OUT / "id_ed25519"), "-o", f"UserKnownHostsFile={OUT / 'known_hosts'}",
       "-o", "BatchMode=yes"]


def ssh(server, script, check=True):
    return run(SSH + [f"root@{HOSTS[server]}", script], check=check, stdin=subprocess.DEVNULL)


SNAP = "fp-floor-snap"
SNAPSHOT = f"""set -e
d=/var/lib/lxc/{SNAP}; rm -rf $d; mkdir -p $d/rootfs
pid=$(lxc-info -n c1 -pH)
tar -C /proc/$pid/root --one-file-system --numeric-owner -cf - . 2>/dev/null | tar -C $d/rootfs --numeric-owner -xpf -
grep -v -e '^lxc.rootfs.path' -e '^lxc.net' -e '^lxc.uts.name' /var/lib/lxc/c1/config > $d/config
printf 'lxc.rootfs.path = dir:%s/rootfs\\nlxc.uts.name = {SNAP}\\n' $d >> $d/config
"""


def instances_script(server, names):
    lines = ["set -e"]
    for k, n in enumerate(names):
        ip = f"{NETS[server]}.{200 + k}"
        mac = "00:16:3e:%02x:%02x:%02x" % tuple(int(x) for x in ip.split(".")[1:])
        lines += [
            f"lxc-copy -n {SNAP} -N {n} -s -B overlayfs",
            f"printf 'lxc.net.0.type = veth\\nlxc.net.0.link = lxcbr0\\nlxc.net.0.flags = up\\nlxc.net.0.name = eth0\\n"
            f"lxc.net.0.hwaddr = {mac}\\nlxc.net.0.ipv4.address = {ip}/24\\nlxc.net.0.ipv4.gateway = {NETS[server]}.1\\n'"
            f" >> /var/lib/lxc/{n}/config",
            f"lxc-start -n {n}",
            f"lxc-wait -n {n} -s RUNNING -t 30",
        ]
    return "\n".join(lines)


def floor_round(zstd=False):
    """One floor run; with `zstd`, the transfer pipe compresses (`zstd -1 -T0`), as flockport's does."""
    names = {s: [f"fl-{s}-{k}" for k in range(4)] for s in HOSTS}
    comp, decomp = ("| zstd -1 -T0 -q", "zstd -dc |") if zstd else ("", "")
    t0 = time.monotonic()
    ssh("s1", SNAPSHOT)
    t_snap = time.monotonic() - t0
    procs = []
    for s in ("s2", "s3"):
        cmd = (f"{' '.join(SSH)} root@{HOSTS['s1']} 'tar -C /var/lib/lxc/{SNAP} --numeric-owner -cf - . {comp}' </dev/null"
               f" | {' '.join(SSH)} root@{HOSTS[s]} 'rm -rf /var/lib/lxc/{SNAP}; mkdir -p /var/lib/lxc/{SNAP}"
               f" && {decomp} tar -C /var/lib/lxc/{SNAP} --numeric-owner -xpf -'")
        procs.append(subprocess.Popen(["bash", "-o", "pipefail", "-c", cmd]))
    for p in procs:
        if p.wait() != 0:
            raise SystemExit("floor transfer failed")
    t_copy = time.monotonic() - t0 - t_snap
    procs = [subprocess.Popen(SSH + [f"root@{HOSTS[s]}", instances_script(s, names[s])], stdin=subprocess.DEVNULL)
             for s in HOSTS]
    for p in procs:
        if p.wait() != 0:
            raise SystemExit("floor instances failed")
    total = time.monotonic() - t0
    for s in HOSTS:
        ssh(s, "; ".join(f"lxc-destroy -f -n {n} >/dev/null 2>&1" for n in names[s]) + f"; rm -rf /var/lib/lxc/{SNAP}",
            check=False)
    return {"total": total, "snapshot": t_snap, "transfer": t_copy, "instances": total - t_snap - t_copy}


def ours_round(bin_, inv):
    t0 = time.monotonic()
    r = run([bin_, "--config", inv, "addjob", "c1", "12"])
    total = time.monotonic() - t0
    placed = {}
    for line in r.stdout.rsplit("(", 1)[-1].rstrip(")\n").split(";"):
        if ":" in line:
            s, ns = line.split(":", 1)
            placed[s.strip()] = len(ns.split())
    notes = [l for l in r.stderr.splitlines() if " MiB (" in l]
    run([bin_, "--config", inv, "deljob", "c1"])
    return {"total": total, "placed": placed, "stream": notes[0].split("] ", 1)[-1] if notes else ""}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    bin_ = ROOT / "target/release/flockport"
    if not bin_.exists():
        raise SystemExit("build it first: cargo build --release -p flockport-cli")
    inv = lab_copy(ROOT / "bench/work/scheduler-lab")
    rounds = []
    for k in range(a.rounds):
        # Each arm starts after the previous arm's containers booted and went: 30 s apart.
        o = ours_round(bin_, inv)
        time.sleep(30)
        f = floor_round()
        time.sleep(30)
        fz = floor_round(zstd=True)
        time.sleep(30)
        log(f"round {k + 1}: flockport {o['total']:.2f} s {o['placed']}, floor {f['total']:.2f} s "
            f"(snapshot {f['snapshot']:.2f}, transfer {f['transfer']:.2f}, instances {f['instances']:.2f}), "
            f"floor with zstd {fz['total']:.2f} s")
        rounds.append({"flockport": o, "floor": f, "floor_zstd": fz, "ratio": o["total"] / f["total"],
                       "ratio_zstd": o["total"] / fz["total"]})
    med = statistics.median(r["ratio"] for r in rounds)
    medz = statistics.median(r["ratio_zstd"] for r in rounds)
    res = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "rounds": rounds, "median_ratio": round(med, 3),
           "median_ratio_zstd_floor": round(medz, 3), "target_met": med <= 1.3}
    out = ROOT / "bench/results"
    (out / "scheduler-lab.json").write_text(json.dumps(res, indent=1) + "\n")
    rows = "\n".join(
        f"| {k + 1} | {r['flockport']['total']:.2f} | {r['floor']['total']:.2f} | {r['floor']['snapshot']:.2f} / "
        f"{r['floor']['transfer']:.2f} / {r['floor']['instances']:.2f} | {r['ratio']:.2f}x | "
        f"{r['floor_zstd']['total']:.2f} | {r['ratio_zstd']:.2f}x |"
        for k, r in enumerate(rounds))
    (out / "scheduler-lab.md").write_text(f"""# Job scheduler on the lab: `addjob c1 12` against the floor

Run {res['started']} by `bench/scheduler/lab.py` (release build), lab of three servers on this machine.
The floor is the same work by hand (snapshot of the running c1 on s1, `ssh s1 tar | ssh sN tar` to s2
and s3 at once, then per server at once four `lxc-copy -s -B overlayfs` + network lines + `lxc-start` +
`lxc-wait`); flockport adds its probes, placement, the state, and sends the snapshot as one stream
through this machine, compressed once (zstd when every server has it, else gzip) and written to both.
Placement: {rounds[0]['flockport']['placed']}. Its stream: {rounds[0]['flockport']['stream']}.

| round | flockport s | floor s | floor: snapshot / transfer / instances s | ratio | floor with zstd s | ratio |
|---|---|---|---|---|---|---|
{rows}

Median ratio: **{med:.2f}x** (target within 1.3x: {'met' if med <= 1.3 else 'NOT met'}). Against a
stronger floor whose pipe also compresses (`tar | zstd -1 -T0 | ssh | zstd -d | tar`): **{medz:.2f}x**.
The compressing floor compresses once per transfer (two zstd on s1's two cores at once), flockport
once for both. flockport still reads the whole stream into memory before writing it to both servers
(no overlap of the read and the writes): the next gain, and a memory cost of the compressed size.
""")
    log(f"median ratio {med:.2f}x; written bench/results/scheduler-lab.md")


if __name__ == "__main__":
    main()
