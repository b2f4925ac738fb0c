#!/usr/bin/env python3
"""bench/lb: how fast a backend change takes effect, and what it costs traffic.

Two arms on the lab's server s1, one HAProxy container each run:
  runtime  - `flockport addbackends` / `delbackends`: HAProxy's runtime API
             (add/del server, no reload), config rewritten for restarts.
  reload   - the render-and-reload way of consul-template and config
             management: write the whole haproxy.cfg with the change, then
             `systemctl reload haproxy` (hitless master-worker reload).
Measured:
  1. the time from the change command returning to the first request served
     by the new backend (median, p90 of R changes), and the command's own time;
  2. wrk's latency p99 and errors over a run with 100 changes, and without;
  3. round trips: `flockport addbackends` / `delbackends` (the whole CLI
     command) against the floor: the same commands (taken from the verb's own
     --dry-run --json plan) sent by hand in one `ssh` round trip over an
     already open multiplexed master.
Writes bench/results/lb.md and bench/results/lb.json.
Usage (as root, lab up): bench/lb/run.py [--changes 10] [--wrk-changes 100]
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_INV = os.path.join(ROOT, "tests/lab/out/flockport.toml")
FP = os.path.join(ROOT, "target/release/flockport")


def lab_up():
    if not os.path.exists(LAB_INV):
        return False
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    if not all(any(l.split()[:1] == [s] for l in ns.splitlines()) for s in ("s1", "s2", "s3")):
        return False
    r = subprocess.run(["ip", "route", "get", "10.0.4.20"], capture_output=True, text=True).stdout
    return "dev lab0" in r


def fp(inv, *args, check=True):
    r = subprocess.run([FP, "--config", inv, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"flockport {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.read().decode().strip()
    except Exception:
        return ""


def first_served(url, body, limit=10.0):
    """Seconds until a request through the LB is answered by `body`."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        if get(url) == body:
            return time.perf_counter() - t0
    return float("nan")


def with_server(cfg, line):
    """cfg with a server line added to the backend of the LB's mode (roundrobin)."""
    out, in_rr, done = [], False, False
    for l in cfg.splitlines(keepends=True):
        out.append(l)
        if l.startswith("backend "):
            in_rr = l.split()[1] == "be_roundrobin"
        elif in_rr and not done and l.strip().startswith("hash-type"):
            out.append(line)
            done = True
    if not done:
        sys.exit("bench/lb: no `backend be_roundrobin` with a hash-type line in the LB's haproxy.cfg")
    return "".join(out)


def pct(xs, p):
    xs = sorted(x for x in xs if x == x)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))
    return xs[k]


def wrk_start(url, secs):
    return subprocess.Popen(["wrk", "-t2", "-c16", "--timeout", "10s", f"-d{secs}s", "--latency", url], stdout=subprocess.PIPE, text=True)


def wrk_parse(p):
    out = p.communicate()[0]
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)] if m else float("nan")
    req = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "p99_ms": p99,
        "requests": int(req.group(1)) if req else 0,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(x) for x in sock.groups()) if sock else 0,
    }


def floor_script(plan):
    """The plan's steps as one shell script, each command quoted, input fed
    on its stdin (what a person would send in one ssh round trip)."""
    import shlex
    lines = ["set -e"]
    for st in plan["steps"]:
        if st["kind"] == "run":
            cmd = " ".join(shlex.quote(a) for a in st["argv"])
            if "stdin" in st:
                cmd = f"printf %s {shlex.quote(st['stdin'])} | {cmd}"
            lines.append(cmd)
        else:
            p, m = shlex.quote(st["path"]), st["mode"]
            lines.append(f"printf %s {shlex.quote(st['content'])} > {p}.tmp && chmod {m} {p}.tmp && mv -f {p}.tmp {p}")
    return "\n".join(lines) + "\n"


class Master:
    """An ssh ControlMaster to a lab server, opened once (the floor's channel)."""

    def __init__(self, host, key, known_hosts, tmp):
        self.sock = os.path.join(tmp, "floor.sock")
        self.base = ["ssh", "-i", key, "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
                     "-o", "BatchMode=yes", "-o", f"ControlPath={self.sock}", f"root@{host}"]
        subprocess.run(["ssh", "-M", "-N", "-f", "-o", "ControlPersist=120", *self.base[1:]], check=True)

    def run(self, script):
        t0 = time.perf_counter()
        r = subprocess.run([*self.base, "sh", "-s"], input=script, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            sys.exit(f"floor script failed: {r.stderr}")
        return dt

    def close(self):
        subprocess.run([*self.base[:-1], "-O", "exit", self.base[-1]], capture_output=True)


def haproxy_api(lb, cmds):
    """lxc-attach argv running HAProxy runtime API commands in the LB (for the floor's own set-up)."""
    import shlex
    inner = "; ".join(f"printf '%s\\n' {shlex.quote(c)} | socat -t 5 stdio unix-connect:/run/haproxy/admin.sock >/dev/null" for c in cmds)
    return f"lxc-attach -n {lb} -- sh -c {shlex.quote(inner)}\n"


def round_trips(inv, lb, tmp, n):
    """flockport addbackends/delbackends against the floor, n times each."""
    text = open(inv).read()
    block = text.split("[[server]]")[1]
    val = lambda k: re.search(rf'^{k}\s*=\s*"([^"]*)"', block, re.M).group(1)
    m = Master(val("host"), val("identity"), val("known_hosts"), tmp)
    modes = ["roundrobin", "leastconn", "source"]
    out = {"fp_add": [], "floor_add": [], "fp_del": [], "floor_del": []}
    try:
        for i in range(n):
            # addbackends: the floor sends the verb's own plan for a_i by hand ...
            plan = json.loads(fp(inv, "addbackends", lb, f"a{i}:10.0.5.21:9000", "--dry-run", "--json"))["plan"]
            out["floor_add"].append(m.run(floor_script(plan)) * 1000)
            m.run(haproxy_api(lb, [f"del server be_{md}/a{i}" for md in modes for _ in [0]]
                               if False else [c for md in modes for c in (f"set server be_{md}/a{i} state maint", f"del server be_{md}/a{i}")]))
            # ... and flockport runs the same verb for b_i.
            t0 = time.perf_counter()
            fp(inv, "addbackends", lb, f"b{i}:10.0.5.21:9000")
            out["fp_add"].append((time.perf_counter() - t0) * 1000)
            # delbackends: the floor sends the plan of removing b_i, then b_i is put back by hand ...
            plan = json.loads(fp(inv, "delbackends", lb, f"b{i}", "--dry-run", "--json"))["plan"]
            out["floor_del"].append(m.run(floor_script(plan)) * 1000)
            m.run(haproxy_api(lb, [c for md in modes for c in (f"add server be_{md}/b{i} 10.0.5.21:9000 check inter 2s",
                                                                f"enable health be_{md}/b{i}", f"enable server be_{md}/b{i}")]))
            # ... and flockport removes it.
            t0 = time.perf_counter()
            fp(inv, "delbackends", lb, f"b{i}")
            out["fp_del"].append((time.perf_counter() - t0) * 1000)
    finally:
        m.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--changes", type=int, default=10, help="changes per arm for the time-to-first-request")
    ap.add_argument("--wrk-changes", type=int, default=100, help="changes during each wrk run")
    ap.add_argument("--round-trips", type=int, default=20, help="changes per verb for the round-trip floor")
    a = ap.parse_args()
    if not lab_up():
        print("SKIP: the lab is not up: run tests/lab/lab up")
        return 0
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "flockport-cli"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="fp-bench-lb-")
    inv = os.path.join(tmp, "flockport.toml")
    with open(LAB_INV) as f, open(inv, "w") as g:
        g.writelines(l for l in f if not l.startswith("state"))
    lb = "benchlb"
    fp(inv, "dellb", lb, check=False)
    fp(inv, "addlb", "haproxy", "s1", "-n", lb, "-b", "base:10.0.4.20:80")
    addr = [l for l in json.loads(fp(inv, "listlbs", "--json")) if l["name"] == lb][0]["address"]
    url = f"http://{addr}/"
    for _ in range(50):
        if get(url) == "c1":
            break
        time.sleep(0.2)
    base_cfg = fp(inv, "exec", lb, "--", "cat", "/etc/haproxy/haproxy.cfg")
    cfg_file = os.path.join(tmp, "haproxy.cfg")

    def reload_with(cfg):
        with open(cfg_file, "w") as f:
            f.write(cfg)
        t0 = time.perf_counter()
        fp(inv, "push", lb, cfg_file, "/etc/haproxy/haproxy.cfg")
        fp(inv, "exec", lb, "--", "systemctl", "reload", "haproxy")
        return time.perf_counter() - t0

    res = {"runtime": {"first_ms": [], "cmd_ms": []}, "reload": {"first_ms": [], "cmd_ms": []}}
    for i in range(a.changes):
        # runtime API arm: c3 joins
        t0 = time.perf_counter()
        fp(inv, "addbackends", lb, f"n{i}:10.0.5.20:80")
        res["runtime"]["cmd_ms"].append((time.perf_counter() - t0) * 1000)
        res["runtime"]["first_ms"].append(first_served(url, "c3") * 1000)
        fp(inv, "delbackends", lb, f"n{i}")
        # render-and-reload arm: c5 joins
        cmd = reload_with(with_server(base_cfg, f"    server r{i} 10.0.7.20:80 check inter 2s\n"))
        res["reload"]["cmd_ms"].append(cmd * 1000)
        res["reload"]["first_ms"].append(first_served(url, "c5") * 1000)
        reload_with(base_cfg)
        time.sleep(0.3)

    # wrk during changes
    secs = 25
    w = wrk_start(url, secs)
    time.sleep(1)
    for i in range(a.wrk_changes // 2):
        fp(inv, "addbackends", lb, f"w{i}:10.0.5.20:80")
        fp(inv, "delbackends", lb, f"w{i}")
    res["runtime"]["wrk"] = wrk_parse(w)
    w = wrk_start(url, secs)
    time.sleep(1)
    for i in range(a.wrk_changes // 2):
        reload_with(with_server(base_cfg, f"    server w{i} 10.0.5.20:80 check inter 2s\n"))
        reload_with(base_cfg)
    res["reload"]["wrk"] = wrk_parse(w)
    w = wrk_start(url, 10)
    res["baseline_wrk"] = wrk_parse(w)
    rt = round_trips(inv, lb, tmp, a.round_trips)
    res["round_trips"] = rt
    fp(inv, "dellb", lb)
    shutil.rmtree(tmp, ignore_errors=True)

    def summary(arm):
        r = res[arm]
        return {
            "first_median_ms": statistics.median(r["first_ms"]),
            "first_p90_ms": pct(r["first_ms"], 90),
            "cmd_median_ms": statistics.median(r["cmd_ms"]),
        }

    s = {arm: summary(arm) for arm in ("runtime", "reload")}
    out = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "changes": a.changes,
           "wrk_changes": a.wrk_changes, "raw": res, "summary": s}
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench/results/lb.json"), "w") as f:
        json.dump(out, f, indent=2)
    ratio = lambda x, y: (y / x) if x else float("nan")
    med = statistics.median
    rw, rl, b = res["runtime"]["wrk"], res["reload"]["wrk"], res["baseline_wrk"]
    md = f"""# Load balancer changes: runtime API against render-and-reload

Generated by `bench/lb/run.py` on {out['date']} on the lab (HAProxy 2.6 in an LXC
container on s1, backends c1/c3/c5 are nginx answering with their names). {a.changes} changes per arm;
{a.wrk_changes} changes during each {secs} s wrk run (2 threads, 16 connections).

| metric | runtime API (flockport addbackends) | render + reload | reload / runtime |
|---|---:|---:|---:|
| change command returns -> first request served by the new backend, median (ms) | {s['runtime']['first_median_ms']:.1f} | {s['reload']['first_median_ms']:.1f} | {ratio(s['runtime']['first_median_ms'], s['reload']['first_median_ms']):.2f}x |
| same, p90 (ms) | {s['runtime']['first_p90_ms']:.1f} | {s['reload']['first_p90_ms']:.1f} | {ratio(s['runtime']['first_p90_ms'], s['reload']['first_p90_ms']):.2f}x |
| the change command itself, median (ms) | {s['runtime']['cmd_median_ms']:.1f} | {s['reload']['cmd_median_ms']:.1f} | {ratio(s['runtime']['cmd_median_ms'], s['reload']['cmd_median_ms']):.2f}x |
| wrk p99 during {a.wrk_changes} changes (ms) | {rw['p99_ms']:.1f} | {rl['p99_ms']:.1f} | {ratio(rw['p99_ms'], rl['p99_ms']):.2f}x |
| wrk requests / non-2xx / socket errors | {rw['requests']} / {rw['non2xx']} / {rw['socket_errors']} | {rl['requests']} / {rl['non2xx']} / {rl['socket_errors']} | |

Baseline without changes: wrk p99 {b['p99_ms']:.1f} ms over {b['requests']} requests
({b['non2xx']} non-2xx, {b['socket_errors']} socket errors).

## Round trips: the change command against the floor

The floor is the same commands (the verb's own `--dry-run --json` plan) sent by hand as one
script in one `ssh` round trip over a multiplexed master that is already open; flockport is the
whole CLI command (process start, state lock and read, plan, the persisted master's liveness
check, one round trip, state write). {a.round_trips} changes per verb; target: at most 1.5x.

| verb | flockport, median (ms) | floor, median (ms) | flockport / floor |
|---|---:|---:|---:|
| addbackends | {med(rt['fp_add']):.1f} | {med(rt['floor_add']):.1f} | {med(rt['fp_add']) / med(rt['floor_add']):.2f}x |
| delbackends | {med(rt['fp_del']):.1f} | {med(rt['floor_del']):.1f} | {med(rt['fp_del']) / med(rt['floor_del']):.2f}x |

The reload arm's command time includes two flockport round trips (push, exec);
the runtime arm's includes flockport's plan, the runtime API calls and the
checked config rewrite, in one round trip. Both run on the same 2-core machine as the lab and wrk,
so absolute numbers are noisy; the ratios are the point.
"""
    with open(os.path.join(ROOT, "bench/results/lb.md"), "w") as f:
        f.write(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
