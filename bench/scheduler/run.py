#!/usr/bin/env python3
"""bench/scheduler, part 1: the placement engine on simulated clusters, and its packing against
the exact optimum.

1. Speed: `flockport-bench-scheduler stream SERVERS INSTANCES SEED` (release build) on clusters of
   100, 1,000 and 5,000 servers taking a stream of addjob requests (1-20 instances of a few sizes,
   some on a rarer network, in groups, with replicas) until 5,000, 30,000 and 100,000 instances
   are placed (or 1,000 requests were refused: the small cluster fills up): placements per
   second, time per addjob (p50, p99, max), and the hard-rule violations of the end state.
   Target: at least 100,000 placements per second at 5,000 servers; no violation.
2. Quality: `flockport-bench-scheduler pack SERVERS JOBS SEED` places jobs (1-5 instances of a
   size) online, in order, as addjob would; the same instances are then packed by an ILP (PuLP
   with its bundled CBC, from PyPI, in bench/work/scheduler-venv) that minimises the largest
   server load (a server's load: its largest share used of memory, CPU with the 4x overcommit,
   and disk), exactly, on instances of at most 50 servers and 500 instances. Reported: ours over
   the optimum. Target: within 1.05x. The ILP knows every instance in advance; the engine places
   each request as it comes, as flockport must.

Part 2 (addjob c1 12 on the lab against the floor) is bench/scheduler/lab.py.
Writes bench/results/scheduler.md and bench/results/scheduler.json.
Usage: bench/scheduler/run.py [--time-limit 120]
"""
import argparse, json, subprocess, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import ROOT, logger, run  # noqa: E402

log = logger("scheduler")
VENV = ROOT / "bench/work/scheduler-venv"
STREAMS = [(100, 5_000), (1_000, 30_000), (5_000, 100_000)]
PACKS = [(5, 12), (10, 30), (20, 60), (50, 150)]

ILP = r'''
import json, sys, time, pulp
d = json.load(sys.stdin); limit = float(sys.argv[1])
S, I = d["servers"], d["items"]
res = ("memory", "cpu", "disk")
p = pulp.LpProblem("pack", pulp.LpMinimize)
L = pulp.LpVariable("L", 0, 1)
x = {(i, s): pulp.LpVariable(f"x_{i}_{s}", cat="Binary") for i in range(len(I)) for s in range(len(S))}
p += L
for i in range(len(I)):
    p += pulp.lpSum(x[i, s] for s in range(len(S))) == 1
for s in range(len(S)):
    for r in res:
        p += pulp.lpSum(I[i][r] * x[i, s] for i in range(len(I))) <= L * S[s][r]
t = time.time()
status = p.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=limit))
print(json.dumps({"status": pulp.LpStatus[status], "optimal": pulp.LpStatus[status] == "Optimal" and p.sol_status == 1,
                  "L": pulp.value(L), "secs": time.time() - t}))
'''


def load(servers, items):
    used = [{r: 0 for r in ("memory", "cpu", "disk")} for _ in servers]
    for it in items:
        for r in used[it["server"]]:
            used[it["server"]][r] += it[r]
    return max(max(u[r] / s[r] for r in u) for u, s in zip(used, servers))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=120)
    a = ap.parse_args()
    log("building the measuring binary (release)")
    run(["cargo", "build", "-q", "--release", "-p", "flockport-bench-scheduler"], cwd=ROOT)
    binary = ROOT / "target/release/flockport-bench-scheduler"
    if not (VENV / "bin/python").exists():
        log("a venv with PuLP (and its bundled CBC)")
        run([sys.executable, "-m", "venv", VENV])
        run([VENV / "bin/pip", "install", "-q", "pulp"])
    pulp_version = run([VENV / "bin/python", "-c", "import pulp; print(pulp.__version__)"]).stdout.strip()
    results = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "pulp": pulp_version, "streams": [], "packs": []}
    for servers, instances in STREAMS:
        r = json.loads(run([binary, "stream", servers, instances, 1]).stdout)
        log(f"{servers} servers: {r['instances']} placed, {r['placements_per_s']:.0f}/s, p99 {r['addjob_us_p99']:.1f} us")
        results["streams"].append(r)
    for servers, jobs in PACKS:
        d = json.loads(run([binary, "pack", servers, jobs, 7]).stdout)
        ours = load(d["servers"], d["items"])
        ilp = json.loads(run([VENV / "bin/python", "-c", ILP, str(a.time_limit)], input=json.dumps(d)).stdout)
        ratio = ours / ilp["L"] if ilp["L"] else float("nan")
        log(f"{servers} servers, {len(d['items'])} instances: ours {ours:.3f}, ILP {ilp['L']:.3f} ({ilp['status']}, {ilp['secs']:.1f} s): {ratio:.3f}x")
        results["packs"].append({"servers": servers, "instances": len(d["items"]), "ours": ours, "ilp": ilp, "ratio": ratio})
    big = results["streams"][-1]
    worst = max(p["ratio"] for p in results["packs"])
    results["summary"] = {
        "placements_per_s_5000": round(big["placements_per_s"]), "throughput_target_met": big["placements_per_s"] >= 100_000,
        "violations": sum(s["violations"] for s in results["streams"]), "worst_quality_ratio": round(worst, 3),
        "quality_target_met": worst <= 1.05, "all_ilp_optimal": all(p["ilp"]["optimal"] for p in results["packs"]),
    }
    out = ROOT / "bench/results"
    (out / "scheduler.json").write_text(json.dumps(results, indent=1) + "\n")
    rows = "\n".join(
        f"| {s['servers']:,} | {s['instances']:,} | {s['requests']:,} ({s['refused']} refused) | {s['placements_per_s']:,.0f} | "
        f"{s['addjob_us_p50']:.1f} / {s['addjob_us_p99']:.1f} / {s['addjob_us_max']:.0f} | {s['violations']} |" for s in results["streams"])
    packs = "\n".join(
        f"| {p['servers']} | {p['instances']} | {p['ours']:.3f} | {p['ilp']['L']:.3f} ({'optimal' if p['ilp']['optimal'] else 'best found, not proven optimal'}, {p['ilp']['secs']:.1f} s) | **{p['ratio']:.3f}x** |"
        for p in results["packs"])
    m = results["summary"]
    md = f"""# bench/scheduler: the placement engine

Run {results['started']}, release build, one core of this machine; PuLP {pulp_version} with its
bundled CBC. Method: `bench/scheduler/run.py` (docstring); every number in `scheduler.json`.

## Speed (a stream of addjob requests through one engine)

| servers | instances placed | requests | placements per second | per addjob p50 / p99 / max (us) | violations |
|---|---|---|---|---|---|
{rows}

Target: at least 100,000 placements per second at 5,000 servers: **{'met' if m['throughput_target_met'] else 'NOT met'}**
({m['placements_per_s_5000']:,}); violations: {m['violations']}.

## Quality (the largest server load, online engine over the exact offline optimum)

| servers | instances | ours | optimum (ILP) | ratio |
|---|---|---|---|---|
{packs}

Target: within 1.05x of the optimum: **{'met' if m['quality_target_met'] else 'NOT met'}** (worst {m['worst_quality_ratio']}x).
A server's load is its largest share used of memory, CPU (4x overcommit) and disk. The engine
places each request when it comes ("the freest server that holds it"); the ILP sees all
instances at once and may put them anywhere, so it is a lower bound no online placement can
always reach. Where CBC did not prove its answer optimal within the time limit, the ratio is
against the best packing it found, which is at least the optimum: the true ratio may be higher.

Part 2 (`addjob c1 12` end to end on the lab against the floor): `bench/scheduler/lab.py`,
results in `scheduler-lab.md`.
"""
    (out / "scheduler.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
