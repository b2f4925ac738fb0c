#!/usr/bin/env python3
"""bench/state: what keeping the state in Consul KV costs a change, against the file store.

Setup: a copy of the lab inventory in bench/work/state/ (its own state), three Consul endpoints
made for the run (`flockport addep`: 10.0.4.10 on s1, 10.0.5.10 on s2, 10.0.7.10 on s3), then
`flockport state migrate --to consul`. Measured by `flockport-bench-state INVENTORY ROUNDS` (the
library, in one process, like one run of the CLI), interleaved in blocks of 10:
1. a no-op change, one after another: lock (a Consul session + KV acquire), read, check-and-set
   write of the same state, unlock (the session destroyed), over a warm SSH tunnel to one
   endpoint; against the file store (flock, read, atomic write with fsync, unlock) holding the
   same state in bench/work/state/. The target: the Consul store's median under 50 ms.
2. the same change cold (5 samples): a store with SSH connections of its own, as a CLI run pays
   on its first contact.
3. 20 concurrent writers, each its own store (as 20 CLI runs are), each adding one to a counter:
   wall time, commits per second, and that none was lost (the counter went up by 20).
Teardown, also on failure: `state migrate --to file`, the endpoints deleted (the last with
--force).

Writes bench/results/state.md and bench/results/state.json.
Usage (as root, lab up, consul on PATH or built by tests/consul/build-consul.sh):
  bench/state/run.py [--rounds 50]
"""
import argparse, json, os, shutil, statistics, subprocess, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import ROOT, lab_copy, logger, pct, require_lab, run  # noqa: E402

log = logger("state")
WORK = ROOT / "bench/work/state"
EPS = [("s1", "10.0.4.10"), ("s2", "10.0.5.10"), ("s3", "10.0.7.10")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=50)
    a = ap.parse_args()
    require_lab()
    if not shutil.which("consul"):
        built = run([str(ROOT / "tests/consul/build-consul.sh")]).stdout.strip().splitlines()[-1]
        os.environ["PATH"] = f"{Path(built).parent}:{os.environ['PATH']}"
    log("building the CLI and the measuring binary")
    run(["cargo", "build", "-q", "-p", "flockport-cli", "-p", "flockport-bench-state"], cwd=ROOT)
    flockport = ROOT / "target/debug/flockport"
    measure = ROOT / "target/debug/flockport-bench-state"
    inv = WORK / "flockport.toml"
    fp = lambda *args, check=True: run([str(flockport), "--config", str(inv), *args], check=check)

    def teardown():
        if not inv.exists():
            return
        fp("state", "migrate", "--to", "file", check=False)
        sf = WORK / "flockport-state.json"
        for n in json.loads(sf.read_text()).get("eps", {}) if sf.exists() else []:
            r = fp("delep", n, "--force", check=False)
            log(f"delep {n}: rc {r.returncode}")

    teardown()  # what a killed earlier run left
    lab_copy(WORK)
    results = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "rounds": a.rounds,
               "load_before": os.getloadavg()}
    try:
        for server, ip in EPS:
            t = time.time()
            fp("addep", server, ip)
            log(f"endpoint on {server} at {ip} in {time.time() - t:.1f} s")
        fp("state", "migrate", "--to", "consul")
        log("state moved to Consul; measuring")
        r = run([str(measure), str(inv), str(a.rounds)])
        results.update(json.loads(r.stdout))
    finally:
        teardown()
    results["load_after"] = os.getloadavg()
    c, f = results["consul_noop_s"], results["file_noop_s"]
    cc, fc = results["consul_concurrent"], results["file_concurrent"]
    med_c, med_f = statistics.median(c), statistics.median(f)
    summary = {
        "consul_noop_median_ms": round(med_c * 1000, 2), "consul_noop_p90_ms": round(pct(c, 90) * 1000, 2),
        "file_noop_median_ms": round(med_f * 1000, 2), "file_noop_p90_ms": round(pct(f, 90) * 1000, 2),
        "ratio_consul_over_file": round(med_c / med_f, 1),
        "consul_cold_median_ms": round(statistics.median(results["consul_cold_noop_s"]) * 1000, 1),
        "consul_commits_per_s": round(cc["committed"] / cc["wall_s"], 1),
        "file_commits_per_s": round(fc["committed"] / fc["wall_s"], 1),
        "target_under_50ms_met": med_c < 0.050,
        "none_lost": cc["committed"] == results["writers"] and fc["committed"] == results["writers"],
    }
    results["summary"] = summary
    out = ROOT / "bench/results"
    (out / "state.json").write_text(json.dumps(results, indent=1) + "\n")
    s = summary
    md = f"""# bench/state: a change's state overhead, Consul KV against the file store

Run {results['started']} on the lab (three Consul 1.14 endpoints, one per server; this machine's
2 CPUs shared with the lab; load {results['load_before'][0]:.2f} before, {results['load_after'][0]:.2f} after).
Debug builds. Method: `bench/state/run.py` (docstring); every sample in `state.json`.

| measure | Consul store | file store | ratio |
|---|---|---|---|
| no-op change (lock, read, CAS write, unlock), median of {a.rounds} | {s['consul_noop_median_ms']} ms | {s['file_noop_median_ms']} ms | {s['ratio_consul_over_file']}x |
| the same, p90 | {s['consul_noop_p90_ms']} ms | {s['file_noop_p90_ms']} ms | |
| the same cold (own SSH connection and tunnel, as a CLI run's first contact), median of 5 | {s['consul_cold_median_ms']} ms | | |
| 20 concurrent writers: wall time | {cc['wall_s']:.2f} s | {fc['wall_s']:.3f} s | |
| 20 concurrent writers: commits per second | {s['consul_commits_per_s']} | {s['file_commits_per_s']} | |
| 20 concurrent writers: committed (of 20) | {cc['committed']} | {fc['committed']} | |

Target: a change's state overhead under 50 ms with Consul on the lab: **{'met' if s['target_under_50ms_met'] else 'NOT met'}**
({s['consul_noop_median_ms']} ms median). No update lost: **{'yes' if s['none_lost'] else 'NO'}**.

What the Consul store's change is: 5 HTTP requests through one SSH local forward to one endpoint
(session create, KV acquire, KV read, KV CAS write, session destroy, which releases the lock), each a raft
write on the leader but the read. The 20 writers serialise on the lock: a waiter sleeps in a
blocking query on the lock key and wakes when it is released; the file store's waiters poll
their flock every 100 ms (so that an interrupt is seen), which is why 20 of them take longer
than 20 single changes.
"""
    (out / "state.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
