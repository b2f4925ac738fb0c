#!/usr/bin/env python3
"""bench/status: `flockport status` against `flockport listservers` on the lab, all families deployed.

`listservers` is one round trip per server (the probe); `status` is the same one round trip per
server, extended with every health command of what runs there (HAProxy's `show stat`, the
webserver's upstream checks, the database's probe, the Consul endpoint's raft peers and members,
the floating IP probe), plus one read of Consul's catalog. Target: status at most 1.5x listservers.

Setup (bench/work/status/, a copy of the lab inventory with its own state): a container (s1), an
HAProxy load balancer on s1 over c1 and c3 with a published port, a webserver on s2 with an app on
c4, a PostgreSQL instance on s3, a floating IP between s1 and s2, a Consul endpoint on s3 and a
service with a TCP check on c5. Measured: the release CLI, `status --json` and `listservers --json`
alternated, ROUNDS each after 3 warm-up runs each (SSH masters persist between runs for both, as
for an operator's consecutive commands). Also a screenshot of `flockport ui` in headless Chromium
(bench/results/status-ui.png). Teardown, also on failure: everything deleted.

Writes bench/results/status.md and bench/results/status.json.
Usage (as root, lab up, consul on PATH or built by tests/consul/build-consul.sh):
  bench/status/run.py [--rounds 30]
"""
import argparse, json, os, shutil, statistics, subprocess, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import ROOT, lab_copy, logger, pct, require_lab, run  # noqa: E402

WORK = ROOT / "bench/work/status"
VIP = "192.168.122.123"
log = logger("status")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    a = ap.parse_args()
    require_lab()
    if not shutil.which("consul"):
        built = run([ROOT / "tests/consul/build-consul.sh"]).stdout.strip().splitlines()[-1]
        os.environ["PATH"] = f"{Path(built).parent}:{os.environ['PATH']}"
    log("building the release CLI")
    run(["cargo", "build", "-q", "--release", "-p", "flockport-cli"], cwd=ROOT)
    flockport = ROOT / "target/release/flockport"
    inv = WORK / "flockport.toml"
    fp = lambda *args, check=True: run([flockport, "--config", inv, *args], check=check)

    def teardown():
        if not inv.exists():
            return
        for args in (["delservice", "c5"], ["delvip", "bs-vip"], ["deldb", "bs-pg", "--yes"], ["delws", "bs-ws"],
                     ["dellb", "bs-ha"], ["delcontainer", "bs-app"]):
            fp(*args, check=False)
        sf = WORK / "flockport-state.json"
        for n in json.loads(sf.read_text()).get("eps", {}) if sf.exists() else []:
            fp("delep", n, "--force", check=False)

    teardown()  # what a killed earlier run left
    lab_copy(WORK)
    results = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "rounds": a.rounds, "load_before": os.getloadavg()}
    try:
        log("deploying one of each family")
        fp("addcontainer", "s1", "bs-app")
        fp("addlb", "haproxy", "s1", "-n", "bs-ha", "-b", "w1:10.0.4.20:80", "-b", "w3:10.0.5.20:80")
        fp("pub", "bs-ha", "8091")
        fp("addws", "s2", "-n", "bs-ws")
        fp("pubapp", "bs-ws", "bench.example", "c4.app:80")
        fp("adddb", "postgresql", "s3", "bsu", "bsd", "-n", "bs-pg")
        fp("addvip", "s1", "s2", VIP, "-n", "bs-vip")
        fp("addep", "s3", "10.0.7.10")
        fp("addservice", "c5", "bsweb", "80")
        fp("addcheck", "c5", "bscheck", "tcp", "80")
        deadline = time.time() + 30
        while fp("status", check=False).returncode != 0:
            if time.time() > deadline:
                raise SystemExit("not everything came up: " + fp("status", check=False).stdout[-2000:])
            time.sleep(1)
        st = json.loads(fp("status", "--json").stdout)
        results["items"] = len(st["items"])
        log(f"{len(st['items'])} items, healthy; measuring")
        times = {"status": [], "listservers": []}
        for i in range(a.rounds + 3):
            for verb in ("listservers", "status"):
                t = time.perf_counter()
                r = fp(verb, "--json", check=False)
                dt = time.perf_counter() - t
                if r.returncode != 0:
                    raise SystemExit(f"{verb} exited {r.returncode}: {r.stderr[-500:]}")
                if i >= 3:
                    times[verb].append(dt)
        results["samples_s"] = times
        # The page, as an operator sees it.
        browser = shutil.which("chromium")
        if browser:
            ui = subprocess.Popen([flockport, "--config", inv, "ui", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
            try:
                url = ui.stdout.readline().strip().split(": ", 1)[1]
                shot = ROOT / "bench/results/status-ui.png"
                run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=6000",
                     "--window-size=1400,1500", f"--screenshot={shot}", url])
                results["screenshot"] = str(shot.relative_to(ROOT))
            finally:
                ui.kill()
                ui.wait()
    finally:
        teardown()
    results["load_after"] = os.getloadavg()
    s, l = results["samples_s"]["status"], results["samples_s"]["listservers"]
    summary = {
        "status_median_ms": round(statistics.median(s) * 1000, 1), "status_p90_ms": round(pct(s, 90) * 1000, 1),
        "listservers_median_ms": round(statistics.median(l) * 1000, 1), "listservers_p90_ms": round(pct(l, 90) * 1000, 1),
    }
    summary["ratio"] = round(summary["status_median_ms"] / summary["listservers_median_ms"], 2)
    summary["target_met"] = summary["ratio"] <= 1.5
    results["summary"] = summary
    out = ROOT / "bench/results"
    (out / "status.json").write_text(json.dumps(results, indent=1) + "\n")
    m = summary
    md = f"""# bench/status: `flockport status` against `flockport listservers`

Run {results['started']} on the lab (three servers; this machine's 2 CPUs shared with them; load
{results['load_before'][0]:.2f} before, {results['load_after'][0]:.2f} after), release build, {results['items']}
items deployed (a container, an HAProxy LB, a webserver with an app, PostgreSQL, a floating IP, a
Consul endpoint and its services). Method: `bench/status/run.py` (docstring); every sample in `status.json`.

| command (whole CLI run) | median | p90 |
|---|---|---|
| `flockport listservers --json` (one round trip per server: the probe) | {m['listservers_median_ms']} ms | {m['listservers_p90_ms']} ms |
| `flockport status --json` (the same round trip, extended; Consul's catalog beside it) | {m['status_median_ms']} ms | {m['status_p90_ms']} ms |
| ratio status / listservers | **{m['ratio']}x** | |

Target: status at most 1.5x listservers: **{'met' if m['target_met'] else 'NOT met'}**.

The page (`flockport ui`, headless Chromium, same lab): `{results.get('screenshot', 'no chromium: no screenshot')}`.
"""
    (out / "status.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
