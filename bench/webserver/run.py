#!/usr/bin/env python3
"""bench/webserver: how fast a published app is served, and what app changes cost traffic.

Two arms, side by side in one run on the lab's server s3:
  flockport - `flockport pubapp` / `delapp` on an Nginx webserver (`addws s3 -n wsbench`):
              one file per app, staged, `nginx -t`, swapped, graceful reload of the
              back Nginx (the apps); the front Nginx holding the client connections
              is not reloaded.
  caddy     - Caddy 2 (Debian's) as a plain process in s3's network namespace,
              listening on 192.168.122.13:8088, routes added with a POST to its
              admin API (127.0.0.1:20190 inside s3) and removed with DELETE /id/ID.
Both proxy to the same lab app containers (c1 10.0.4.20, c3 10.0.5.20, ...).
Measured:
  1. time from the change returning to the first request served by the new app
     (a fresh connection with the app's Host header, until 200 with the app's
     body), and the change's own time (pubapp/delapp; POST/DELETE), at 1 app
     and at N apps (default 500) already on the webserver;
  2. wrk's p99 of an untouched app during 100 changes (50 pubapp + 50 delapp,
     alternating), with keep-alive and with `Connection: close`, both arms with
     the same wrk settings and the same duration; non-2xx and socket errors.
Writes bench/results/webserver.md and bench/results/webserver.json.
Usage (as root, lab up): bench/webserver/run.py [--apps 500] [--fill-budget 420]
  [--lab-dir tests/lab]   (the lab whose out/flockport.toml to use; its `lab status` must pass)
"""
import argparse, fcntl, json, os, platform, re, shutil, signal, statistics, subprocess, sys, threading, time
import http.client

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FP = os.environ.get("FLOCKPORT_BIN", os.path.join(ROOT, "target/release/flockport"))
WORK = os.path.join(ROOT, "bench/work/webserver")
WS = "wsbench"
WS1 = "wsbench1"   # a second webserver that keeps 1 app, measured interleaved with WS at N apps
WS_SERVER = "s3"
CADDY_NS = "s3"
CADDY_LISTEN = ("192.168.122.13", 8088)
CADDY_ADMIN = "127.0.0.1:20190"
DOMAIN = "wsbench.test"
STEADY = f"steady.{DOMAIN}"
NEW_UPSTREAM, NEW_BODY = "10.0.5.20:80", "c3"      # what a newly published app serves
STEADY_UPSTREAM, STEADY_BODY = "10.0.4.20:80", "c1"
FILL_UPSTREAMS = ["10.0.4.20:80", "10.0.4.21:80", "10.0.5.20:9000", "10.0.5.21:80", "10.0.7.20:9000"]
WRK = ["wrk", "-t2", "-c16", "--timeout", "10s", "--latency"]


def log(msg):
    print(f"[wsbench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    return r


class Fp:
    def __init__(self, inv):
        self.inv = inv

    def __call__(self, *args, check=True):
        return run([FP, "--config", self.inv, *args], check=check).stdout

    def timed(self, *args):
        t0 = time.perf_counter()
        self(*args)
        return (time.perf_counter() - t0) * 1000


def server_lock(server):
    """The lab tests' per-server lock (tests/src/lib.rs server_lock), held while provisioning."""
    f = open(f"/tmp/flockport-lab-{server}.lock", "a")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def get(host, port, hostname, timeout=2.0):
    """(status, body) of GET / with Host: hostname on a fresh connection; (0, reason) on failure."""
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request("GET", "/", headers={"Host": hostname, "Connection": "close"})
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace").strip()
    except Exception as e:
        return 0, str(e)
    finally:
        c.close()


def first_served(host, port, hostname, body, limit=15.0):
    """ms from now until GET with that Host answers 200 + body (bounded in time); nan if never."""
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < limit and n < 100000:
        n += 1
        if get(host, port, hostname) == (200, body):
            return (time.perf_counter() - t0) * 1000
    return float("nan")


# ------------------------------------------------------------------ caddy

def caddy_route(rid, hostname, upstream):
    return {"@id": rid, "match": [{"host": [hostname]}],
            "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": upstream}]}], "terminal": True}


def caddy_config():
    return {
        "admin": {"listen": CADDY_ADMIN, "config": {"persist": False}},
        "logging": {"logs": {"default": {"level": "WARN"}}},
        "apps": {"http": {"servers": {"bench": {
            "listen": [f"{CADDY_LISTEN[0]}:{CADDY_LISTEN[1]}"],
            "automatic_https": {"disable": True},
            "routes": [caddy_route("steady", STEADY, STEADY_UPSTREAM)],
        }}}},
    }


def caddy_api(method, path, body=None):
    """One admin API call through `ip netns exec s3 curl`; ms."""
    argv = ["ip", "netns", "exec", CADDY_NS, "curl", "-sS", "--fail-with-body", "--max-time", "30",
            "-X", method, f"http://{CADDY_ADMIN}{path}"]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    t0 = time.perf_counter()
    r = subprocess.run(argv, input=json.dumps(body) if body is not None else None, capture_output=True, text=True)
    dt = (time.perf_counter() - t0) * 1000
    if r.returncode != 0:
        raise RuntimeError(f"caddy admin {method} {path}: {r.stdout} {r.stderr}")
    return dt


class Caddy:
    def __init__(self):
        self.pid = None
        self.pidfile = os.path.join(WORK, "caddy.pid")
        self.cfg = os.path.join(WORK, "caddy.json")

    def kill_stale(self):
        """A caddy a killed earlier run left: its recorded pid, only if it runs our config file."""
        try:
            pid = int(open(self.pidfile).read())
            cmd = open(f"/proc/{pid}/cmdline").read().replace("\0", " ")
        except (OSError, ValueError):
            return
        if "caddy" in cmd and self.cfg in cmd:
            log(f"stopping the caddy (pid {pid}) a previous run left")
            self.pid = pid
            self.stop()

    def start(self):
        with open(self.cfg, "w") as f:
            json.dump(caddy_config(), f)
        env = dict(os.environ, XDG_DATA_HOME=os.path.join(WORK, "caddy-data"),
                   XDG_CONFIG_HOME=os.path.join(WORK, "caddy-config"), HOME=WORK)
        out = open(os.path.join(WORK, "caddy.log"), "w")
        p = subprocess.Popen(["ip", "netns", "exec", CADDY_NS, "caddy", "run", "--config", self.cfg],
                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                             start_new_session=True)
        # `ip netns exec` execs the command: p.pid is caddy's own pid.
        self.pid = p.pid
        self.proc = p
        with open(self.pidfile, "w") as f:
            f.write(str(self.pid))
        for _ in range(100):
            if get(*CADDY_LISTEN, STEADY) == (200, STEADY_BODY):
                return
            if p.poll() is not None:
                raise RuntimeError(f"caddy exited ({p.returncode}); see {WORK}/caddy.log")
            time.sleep(0.1)
        raise RuntimeError("caddy did not serve the steady app within 10 s")

    def stop(self):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
            for _ in range(50):
                if not os.path.exists(f"/proc/{self.pid}") or \
                        open(f"/proc/{self.pid}/stat").read().split(")")[1].split()[0] == "Z":
                    break
                time.sleep(0.1)
            else:
                os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, OSError):
            pass
        if getattr(self, "proc", None):
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.pid = None
        try:
            os.unlink(self.pidfile)
        except OSError:
            pass

    def version(self):
        return run(["caddy", "version"], check=False).stdout.strip()


# ------------------------------------------------------------------ wrk

class Wrk:
    def __init__(self, url, close, secs):
        argv = WRK + [f"-d{secs}s", "-H", f"Host: {STEADY}"]
        if close:
            argv += ["-H", "Connection: close"]
        self.argv = argv + [url]
        self.p = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.t0 = time.perf_counter()

    def stop(self):
        """SIGINT (wrk prints its results) to the pid we started; the parsed results."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
        out = self.p.communicate(timeout=60)[0]
        secs = time.perf_counter() - self.t0
        return parse_wrk(out, secs)


def parse_wrk(out, secs):
    def lat(p):
        m = re.search(rf"\b{p}%\s+([\d.]+)(us|ms|s)\b", out)
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)] if m else float("nan")
    mx = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\b", out)
    req = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    s = dict(zip(("connect", "read", "write", "timeout"), (int(x) for x in sock.groups()))) if sock else \
        {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    return {"p50_ms": lat(50), "p99_ms": lat(99),
            "max_ms": float(mx.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[mx.group(2)] if mx else float("nan"), "requests": int(req.group(1)) if req else 0,
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket": s,
            "socket_errors": sum(s.values()), "secs": round(secs, 2), "raw": out}


# ------------------------------------------------------------------ arms

class FlockportArm:
    def __init__(self, fp, addr, ws=WS, name="flockport"):
        self.fp, self.addr, self.ws, self.name = fp, addr, ws, name
        self.host, self.port = addr, 80

    def pub(self, hostname, upstream):
        return self.fp.timed("pubapp", self.ws, hostname, upstream)

    def dele(self, hostname):
        return self.fp.timed("delapp", self.ws, hostname)


class CaddyArm:
    name = "caddy"
    host, port = CADDY_LISTEN

    def pub(self, hostname, upstream):
        return caddy_api("POST", "/config/apps/http/servers/bench/routes", caddy_route(rid(hostname), hostname, upstream))

    def dele(self, hostname):
        return caddy_api("DELETE", f"/id/{rid(hostname)}")


def rid(hostname):
    return "r_" + re.sub(r"[^a-z0-9]", "_", hostname)


def first_request_round(arms, tag, n):
    """n publish -> first request -> remove cycles per arm, the arms taking turns."""
    res = {a.name: {"pub_ms": [], "first_ms": [], "del_ms": []} for a in arms}
    for i in range(n):
        for a in arms:
            h = f"new-{tag}-{i}.{DOMAIN}"
            r = res[a.name]
            r["pub_ms"].append(a.pub(h, NEW_UPSTREAM))
            r["first_ms"].append(first_served(a.host, a.port, h, NEW_BODY))
            r["del_ms"].append(a.dele(h))
        log(f"  [{tag}] change {i + 1}/{n}: " + ", ".join(
            f"{a.name} pub {res[a.name]['pub_ms'][-1]:.0f} ms first {res[a.name]['first_ms'][-1]:.1f} ms "
            f"del {res[a.name]['del_ms'][-1]:.0f} ms" for a in arms))
    return res


class Probe(threading.Thread):
    """A sequential prober beside wrk: one GET of the steady app on a fresh connection every
    20 ms, its own latency and failures. wrk corrects its latency histogram for coordinated
    omission (one stalled request becomes many synthetic samples); this one does not, so a
    stall shows as what it was."""

    def __init__(self, host, port):
        super().__init__(daemon=True)
        self.host, self.port, self.lat, self.fail, self.stop_ = host, port, [], [], threading.Event()

    def run(self):
        while not self.stop_.is_set() and len(self.lat) + len(self.fail) < 100000:
            t0 = time.perf_counter()
            st = get(self.host, self.port, STEADY, timeout=10)
            dt = (time.perf_counter() - t0) * 1000
            if st == (200, STEADY_BODY):
                self.lat.append(dt)
            else:
                self.fail.append(str(st)[:200])
            time.sleep(0.02)

    def result(self):
        self.stop_.set()
        self.join(15)
        return {"requests": len(self.lat) + len(self.fail), "failures": len(self.fail), "failed": self.fail[:20],
                "p50_ms": pct(self.lat, 50), "p99_ms": pct(self.lat, 99), "max_ms": max(self.lat, default=float("nan")),
                "over_1s": sum(1 for x in self.lat if x > 1000)}


def wrk_round(arm, close, changes, duration=None, pace=None):
    """wrk on the steady app while `changes` pubapp/delapp alternate. Without `duration`
    wrk is stopped 1 s after the last change; with it, the changes are paced evenly
    over `pace` seconds and wrk is stopped at `duration` seconds."""
    w = Wrk(f"http://{arm.host}:{arm.port}/", close, 600)
    probe = Probe(arm.host, arm.port)
    probe.start()
    time.sleep(1.0)
    t_start = time.perf_counter()
    times = []
    for i in range(changes):
        if pace:
            due = t_start + pace * i / changes
            while time.perf_counter() < due:
                time.sleep(min(0.05, due - time.perf_counter()) if due > time.perf_counter() else 0)
        h = f"churn-{i // 2}.{DOMAIN}"
        times.append(arm.pub(h, NEW_UPSTREAM) if i % 2 == 0 else arm.dele(h))
    changes_secs = time.perf_counter() - t_start
    if duration:
        while time.perf_counter() - w.t0 < duration:
            time.sleep(0.05)
    else:
        time.sleep(1.0)
    r = w.stop()
    r["probe"] = probe.result()
    r["changes"] = changes
    r["changes_secs"] = round(changes_secs, 2)
    r["change_ms"] = times
    return r


# ------------------------------------------------------------------ main

def lab_ok(lab_dir):
    r = subprocess.run([os.path.join(lab_dir, "lab"), "status"], capture_output=True, text=True)
    return r.returncode == 0, r.stdout + r.stderr


def lab_sshd_pids(lab_dir):
    """The lab's recorded sshd pids: if they change during the run, the lab was restarted under it."""
    out = {}
    for sv in ("s1", "s2", "s3"):
        try:
            out[sv] = open(os.path.join(lab_dir, "out", sv, "sshd.pid")).read().strip()
        except OSError:
            out[sv] = None
    return out


def loadavg():
    return open("/proc/loadavg").read().split()[:3]


def med(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def pct(xs, p):
    xs = sorted(x for x in xs if x == x)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--apps", type=int, default=500, help="apps on the webserver for the 'many' measurements")
    ap.add_argument("--fill-budget", type=float, default=420, help="stop publishing fill apps after this many s")
    ap.add_argument("--changes", type=int, default=10, help="publish->first-request cycles per arm and app count")
    ap.add_argument("--wrk-changes", type=int, default=100, help="changes during each wrk run")
    ap.add_argument("--lab-dir", default=os.path.join(ROOT, "tests/lab"), help="the lab (its lab script and out/)")
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    lab_dir = os.path.abspath(a.lab_dir)
    ok, status = lab_ok(lab_dir)
    if not ok:
        print(status)
        print(f"SKIP: the lab is not up ({lab_dir}/lab status failed): run tests/lab/lab up")
        return 0
    for tool in ("wrk", "caddy", "curl"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install -y {tool}")
    if not a.no_build:
        log("cargo build --release -p flockport-cli")
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "flockport-cli"], cwd=ROOT, check=True)
    os.makedirs(WORK, exist_ok=True)
    inv = os.path.join(WORK, "flockport.toml")
    with open(os.path.join(lab_dir, "out/flockport.toml")) as f, open(inv, "w") as g:
        g.writelines(l for l in f if not l.startswith("state"))
    fp = Fp(inv)
    caddy = Caddy()
    caddy.kill_stale()
    # A webserver a killed earlier run left (its state is in WORK).
    listed = fp("listws", "--json", check=False)
    for name in (WS, WS1):
        if f'"{name}"' in listed:
            log(f"removing the webserver {name} a previous run left")
            with server_lock(WS_SERVER):
                fp("delws", name, check=False)
    t_run = time.perf_counter()
    res = {"load_start": loadavg(), "lab_sshd_start": lab_sshd_pids(lab_dir)}
    created = []
    try:
        log(f"addws {WS_SERVER} -n {WS}")
        with server_lock(WS_SERVER):
            t0 = time.perf_counter()
            rec = json.loads(fp("addws", WS_SERVER, "-n", WS, "--json"))["record"]
            created.append(WS)
            res["addws_s"] = time.perf_counter() - t0
            rec1 = json.loads(fp("addws", WS_SERVER, "-n", WS1, "--json"))["record"]
            created.append(WS1)
        addr, addr1 = rec["address"], rec1["address"]
        log(f"webservers {WS} at {addr}, {WS1} at {addr1} ({res['addws_s']:.1f} s)")
        for w_, a_ in ((WS, addr), (WS1, addr1)):
            fp("pubapp", w_, STEADY, STEADY_UPSTREAM)
            first_served(a_, 80, STEADY, STEADY_BODY, 20)
            if get(a_, 80, STEADY) != (200, STEADY_BODY):
                raise RuntimeError(f"the steady app is not served by {w_}: {get(a_, 80, STEADY)}")
        log(f"caddy in {CADDY_NS} on {CADDY_LISTEN[0]}:{CADDY_LISTEN[1]}, admin {CADDY_ADMIN}")
        caddy.start()
        log(f"caddy pid {caddy.pid}")
        arms = [FlockportArm(fp, addr), CaddyArm()]

        # 1. at 1 app
        log(f"publish -> first request at 1 app, {a.changes} cycles per arm")
        res["one"] = first_request_round(arms, "one", a.changes)

        # 2. wrk during changes, keep-alive and Connection: close
        res["wrk"] = {}
        for mode, close in (("keepalive", False), ("close", True)):
            log(f"wrk ({mode}) baseline, 10 s per arm")
            base = {}
            for arm in arms:
                w = Wrk(f"http://{arm.host}:{arm.port}/", close, 600)
                time.sleep(10)
                base[arm.name] = w.stop()
            log(f"wrk ({mode}) during {a.wrk_changes} flockport changes")
            r_fp = wrk_round(arms[0], close, a.wrk_changes)
            log(f"  flockport: {r_fp['changes_secs']} s of changes, p99 {r_fp['p99_ms']} ms, "
                f"non2xx {r_fp['non2xx']}, socket {r_fp['socket']}")
            log(f"wrk ({mode}) during {a.wrk_changes} caddy changes paced over the same {r_fp['changes_secs']} s")
            r_c = wrk_round(arms[1], close, a.wrk_changes, duration=r_fp["secs"], pace=r_fp["changes_secs"])
            log(f"  caddy: p99 {r_c['p99_ms']} ms, non2xx {r_c['non2xx']}, socket {r_c['socket']}")
            res["wrk"][mode] = {"baseline": base, "flockport": r_fp, "caddy": r_c}

        # 3. fill to N apps
        log(f"filling {WS} to {a.apps} apps (budget {a.fill_budget:.0f} s)")
        fill_ms = []
        t0 = time.perf_counter()
        for i in range(a.apps - 1):  # the steady app is one of them
            fill_ms.append(fp.timed("pubapp", WS, f"app{i}.{DOMAIN}", FILL_UPSTREAMS[i % len(FILL_UPSTREAMS)]))
            if (i + 1) % 25 == 0:
                el = time.perf_counter() - t0
                log(f"  {i + 2} apps, {el:.0f} s, last 25 pubapp median {med(fill_ms[-25:]):.0f} ms")
            if time.perf_counter() - t0 > a.fill_budget:
                log(f"  fill budget of {a.fill_budget:.0f} s spent at {i + 2} apps: using {i + 2} apps")
                break
        n_apps = len(fill_ms) + 1
        res["fill"] = {"target": a.apps, "reached": n_apps, "secs": time.perf_counter() - t0, "pubapp_ms": fill_ms}
        t0 = time.perf_counter()
        routes = [caddy_route(rid(f"app{i}.{DOMAIN}"), f"app{i}.{DOMAIN}", FILL_UPSTREAMS[i % len(FILL_UPSTREAMS)])
                  for i in range(n_apps - 1)]
        caddy_api("POST", "/config/apps/http/servers/bench/routes/...", routes)
        res["fill"]["caddy_load_ms"] = (time.perf_counter() - t0) * 1000
        # spot checks: the last fill app is served by both
        last = f"app{n_apps - 2}.{DOMAIN}"
        body = {"10.0.4.20": "c1", "10.0.4.21": "c2", "10.0.5.20": "c3", "10.0.5.21": "c4", "10.0.7.20": "c5"}[
            FILL_UPSTREAMS[(n_apps - 2) % len(FILL_UPSTREAMS)].split(":")[0]]
        for arm in arms:
            st = get(arm.host, arm.port, last)
            if st != (200, body):
                raise RuntimeError(f"{arm.name}: fill app {last} answers {st}, expected {body}")
        log(f"{n_apps} apps on both ({res['fill']['secs']:.0f} s of pubapp; caddy one POST "
            f"{res['fill']['caddy_load_ms']:.0f} ms)")

        # 4. at N apps
        log(f"publish -> first request at {n_apps} apps, {a.changes} cycles per arm")
        arm1 = FlockportArm(fp, addr1, WS1, "flockport_1app")
        res["many"] = first_request_round([arms[0], arm1, arms[1]], "many", a.changes)
        res["n_apps"] = n_apps
    finally:
        log("teardown: caddy, delws")
        caddy.stop()
        for name in created:
            with server_lock(WS_SERVER):
                t0 = time.perf_counter()
                r = run([FP, "--config", inv, "delws", name], check=False)
                res["delws_s"] = time.perf_counter() - t0
                if r.returncode != 0:
                    log(f"delws {name} failed: {r.stderr.strip()}")
    res["load_end"] = loadavg()
    res["lab_sshd_end"] = lab_sshd_pids(lab_dir)
    res["lab_restarted"] = res["lab_sshd_end"] != res["lab_sshd_start"]
    if res["lab_restarted"]:
        log(f"WARNING: the lab's sshds changed during the run ({res['lab_sshd_start']} -> {res['lab_sshd_end']}): "
            "someone restarted the lab; the numbers may be contaminated")
    res["run_secs"] = time.perf_counter() - t_run
    write_results(a, res, caddy.version() if shutil.which("caddy") else "")
    return 0


def write_results(a, res, caddy_ver):
    n = res["n_apps"]
    S = {}
    for tag in ("one", "many"):
        for arm in res[tag]:
            r = res[tag][arm]
            S[f"{tag}_{arm}"] = {k: {"median": med(v), "p90": pct(v, 90), "min": min(v), "max": max(v)}
                                 for k, v in r.items()}
    fm = lambda tag, arm, k, s="median": S[f"{tag}_{arm}"][k][s]
    ratio_first = fm("many", "flockport", "first_ms") / fm("one", "flockport", "first_ms")
    # what the target is about: from the start of pubapp to the first request served
    tot = lambda tag, arm: med([p + f for p, f in zip(res[tag][arm]["pub_ms"], res[tag][arm]["first_ms"])])
    ratio_total = tot("many", "flockport") / tot("one", "flockport")
    ratio_pub = fm("many", "flockport", "pub_ms") / fm("one", "flockport", "pub_ms")
    ratio_del = fm("many", "flockport", "del_ms") / fm("one", "flockport", "del_ms")
    # the same, against the 1-app webserver measured interleaved (same moment, same load)
    ri = {k: fm("many", "flockport", k) / fm("many", "flockport_1app", k) for k in ("first_ms", "pub_ms", "del_ms")}
    ri["total"] = tot("many", "flockport") / tot("many", "flockport_1app")
    w = res["wrk"]
    p99r = {m: w[m]["flockport"]["p99_ms"] / w[m]["caddy"]["p99_ms"] for m in w}
    probe_r = {m: w[m]["flockport"]["probe"]["p99_ms"] / w[m]["caddy"]["probe"]["p99_ms"] for m in w}
    errs = {m: {arm: w[m][arm]["non2xx"] + w[m][arm]["socket_errors"] for arm in ("flockport", "caddy")} for m in w}
    fill = res["fill"]
    fms = fill["pubapp_ms"]
    fill_curve = [(i + 2, med(fms[max(0, i - 24):i + 1])) for i in range(24, len(fms), 25)]
    yes = lambda b: "**met**" if b else "**not met**"
    commit = run(["git", "-C", ROOT, "rev-parse", "HEAD"], check=False).stdout.strip()
    date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    machine = {"host": platform.node(), "cpus": os.cpu_count(), "kernel": platform.release(),
               "load_start": res["load_start"], "load_end": res["load_end"]}
    nginx_ver = ""
    out = {"date": date, "commit": commit, "machine": machine, "caddy": caddy_ver, "wrk": " ".join(WRK),
           "apps_target": a.apps, "apps": n, "changes": a.changes, "wrk_changes": a.wrk_changes,
           "summary": S,
           "ratios": {"flockport_first_many_over_one": ratio_first, "flockport_pub_plus_first_many_over_one": ratio_total,
                      "flockport_pubapp_many_over_one": ratio_pub, "flockport_delapp_many_over_one": ratio_del,
                      "p99_flockport_over_caddy": p99r, "probe_p99_flockport_over_caddy": probe_r,
                      "flockport_many_over_1app_interleaved": ri},
           "errors": errs,
           "targets": {"first_many_within_1_5x_of_one": ratio_first <= 1.5,
                       "first_many_within_1_5x_of_one_interleaved": ri["first_ms"] <= 1.5,
                       "p99_within_1_2x_of_caddy": {m: p99r[m] <= 1.2 for m in p99r},
                       "zero_errors": {m: all(v == 0 for v in errs[m].values()) for m in errs}},
           "raw": {k: v for k, v in res.items()}}
    for m in w:
        for arm in w[m]:
            if arm == "baseline":
                for b in w[m][arm].values():
                    b.pop("raw", None)
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench/results/webserver.json"), "w") as f:
        json.dump(out, f, indent=1)

    def wrow(m, arm):
        r = w[m][arm]
        s = r["socket"]
        pr = r["probe"]
        return (f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['requests']} | {r['non2xx']} | "
                f"{r['socket_errors']} (c {s['connect']}, r {s['read']}, w {s['write']}, t {s['timeout']}) | "
                f"{r['max_ms']:.0f} | {pr['p99_ms']:.1f} / {pr['max_ms']:.0f}, {pr['over_1s']}, {pr['failures']} of {pr['requests']}")

    def brow(m, arm):
        r = w[m]["baseline"][arm]
        return f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['requests']} | {r['non2xx']} | {r['socket_errors']}"

    md = f"""# Webserver app changes: flockport (Nginx, pubapp/delapp) against Caddy 2 (admin API)

Generated by `bench/webserver/run.py` on {date} (commit `{commit[:10]}`) on the lab, one run, both
arms side by side. Machine: {machine['cpus']} CPUs ({machine['host']}, kernel {machine['kernel']}),
shared with builds and other test suites (load average {' '.join(res['load_start'])} at the start,
{' '.join(res['load_end'])} at the end); absolute numbers are noisy, the arms ran interleaved.
{"**WARNING: the lab was restarted by someone else during this run (its sshd pids changed); numbers may be contaminated.**" if res["lab_restarted"] else "The lab was not restarted during the run (its sshd pids did not change)."}

- **flockport**: `flockport pubapp {WS} URL UPSTREAM` / `delapp` on the webserver `{WS}` (`addws s3`;
  Nginx in an LXC container on s3, reached at its container address, port 80). Every change is the
  whole CLI command: one SSH round trip that stages the app's file, runs `nginx -t`, swaps and
  reloads the back Nginx (the apps) gracefully; the front Nginx that holds the client connections
  passes requests to the back over a unix socket and a keep-alive pool, and is not reloaded.
- **caddy**: {caddy_ver} from Debian, a plain process in s3's network namespace on
  {CADDY_LISTEN[0]}:{CADDY_LISTEN[1]}; a change is one admin API call (`POST
  /config/apps/http/servers/bench/routes` with an `@id`, `DELETE /id/ID`) made with `ip netns exec
  s3 curl` (so its time includes starting curl, as flockport's includes starting the CLI).
- Both proxy to the same lab app containers. "First request served": a new TCP connection per try
  from the host (Python `http.client`, Host header = the app's URL) until 200 *with the new app's
  body* (`c3`): Caddy answers an empty 200 for a name it has no route for, Nginx's default server 404.

## 1. From the change returning to the first request served ({a.changes} changes per arm and count)

Apps already on the webserver: 1 (the steady app) and **{n}**{'' if n == a.apps else f' (target {a.apps}: the fill budget of {a.fill_budget:.0f} s ran out, see below)'}.

"1 app (before)" is `{WS}` measured before it was filled (another moment, other load on the
machine); "1 app (interleaved)" is a second webserver `{WS1}` on s3 that keeps only the steady app,
its cycles taking turns with `{WS}`'s at {n} apps: same moment, same load, the fair comparison.

| metric (median; p90) | flockport, 1 app (before) | flockport, 1 app (interleaved) | flockport, {n} apps | {n} / 1 (interleaved) | {n} / 1 (before) | caddy, 1 app | caddy, {n} apps |
|---|---:|---:|---:|---:|---:|---:|---:|
| change returns -> first request served (ms) | {fm('one','flockport','first_ms'):.1f}; {fm('one','flockport','first_ms','p90'):.1f} | {fm('many','flockport_1app','first_ms'):.1f}; {fm('many','flockport_1app','first_ms','p90'):.1f} | {fm('many','flockport','first_ms'):.1f}; {fm('many','flockport','first_ms','p90'):.1f} | {ri['first_ms']:.2f}x | {ratio_first:.2f}x | {fm('one','caddy','first_ms'):.1f}; {fm('one','caddy','first_ms','p90'):.1f} | {fm('many','caddy','first_ms'):.1f}; {fm('many','caddy','first_ms','p90'):.1f} |
| pubapp / POST route, the change itself (ms) | {fm('one','flockport','pub_ms'):.0f}; {fm('one','flockport','pub_ms','p90'):.0f} | {fm('many','flockport_1app','pub_ms'):.0f}; {fm('many','flockport_1app','pub_ms','p90'):.0f} | {fm('many','flockport','pub_ms'):.0f}; {fm('many','flockport','pub_ms','p90'):.0f} | {ri['pub_ms']:.2f}x | {ratio_pub:.2f}x | {fm('one','caddy','pub_ms'):.0f}; {fm('one','caddy','pub_ms','p90'):.0f} | {fm('many','caddy','pub_ms'):.0f}; {fm('many','caddy','pub_ms','p90'):.0f} |
| delapp / DELETE route (ms) | {fm('one','flockport','del_ms'):.0f}; {fm('one','flockport','del_ms','p90'):.0f} | {fm('many','flockport_1app','del_ms'):.0f}; {fm('many','flockport_1app','del_ms','p90'):.0f} | {fm('many','flockport','del_ms'):.0f}; {fm('many','flockport','del_ms','p90'):.0f} | {ri['del_ms']:.2f}x | {ratio_del:.2f}x | {fm('one','caddy','del_ms'):.0f}; {fm('one','caddy','del_ms','p90'):.0f} | {fm('many','caddy','del_ms'):.0f}; {fm('many','caddy','del_ms','p90'):.0f} |
| change start -> first request served (ms) | {tot('one','flockport'):.0f} | {tot('many','flockport_1app'):.0f} | {tot('many','flockport'):.0f} | {ri['total']:.2f}x | {ratio_total:.2f}x | {tot('one','caddy'):.0f} | {tot('many','caddy'):.0f} |

Target: flockport's time at {n} apps within 1.5x of its time at 1 app (change returns -> first
request): {ri['first_ms']:.2f}x interleaved ({yes(ri['first_ms'] <= 1.5)}), {ratio_first:.2f}x against the earlier
1-app phase ({yes(ratio_first <= 1.5)}). `pubapp` returns only after Nginx has been reloaded, so this
residual is about one request's round trip in both arms; the cost is in the change itself: one
pubapp at {n} apps costs {ri['pub_ms']:.2f}x one at 1 app measured interleaved ({ratio_pub:.2f}x against the
earlier phase); delapp {ri['del_ms']:.2f}x ({ratio_del:.2f}x).

Filling the webserver: {fill['reached'] - 1} `pubapp` in {fill['secs']:.0f} s (median
{med(fms):.0f} ms each); Caddy got the same routes in one POST ({fill['caddy_load_ms']:.0f} ms).
pubapp time as the webserver grows (median of each 25):

| apps | {' | '.join(str(k) for k, _ in fill_curve)} |
|---|{'---:|' * len(fill_curve)}
| pubapp ms | {' | '.join(f'{v:.0f}' for _, v in fill_curve)} |

## 2. wrk on an untouched app during {a.wrk_changes} changes (50 pubapp + 50 delapp, alternating), at 1 app

`{' '.join(WRK)} -H "Host: {STEADY}"` (plus `-H "Connection: close"` in the close runs) on the
steady app (published before everything else, never changed). flockport's run lasts until 1 s
after its last change; Caddy's run lasts exactly as long, with its {a.wrk_changes} changes paced
evenly over the same time as flockport's took, so both see the same number of changes per second.

| run | arm | p50 ms | p99 ms | requests | non-2xx | socket errors (connect, read, write, timeout) | wrk max ms | probe: p99 / max ms, >1 s, failures of N |
|---|---|---:|---:|---:|---:|---|---:|---|
| keep-alive, during changes | flockport | {wrow('keepalive','flockport')} |
| keep-alive, during changes | caddy | {wrow('keepalive','caddy')} |
| `Connection: close`, during changes | flockport | {wrow('close','flockport')} |
| `Connection: close`, during changes | caddy | {wrow('close','caddy')} |

| run | wrk p99 flockport / caddy | target p99 <= 1.2x | probe p99 flockport / caddy | wrk errors flockport / caddy | target zero errors, flockport | zero errors, caddy |
|---|---:|---|---:|---|---|---|
| keep-alive | {p99r['keepalive']:.2f}x | {yes(p99r['keepalive'] <= 1.2)} | {probe_r['keepalive']:.2f}x | {errs['keepalive']['flockport']} / {errs['keepalive']['caddy']} | {yes(errs['keepalive']['flockport'] == 0)} | {'yes' if errs['keepalive']['caddy'] == 0 else 'no'} |
| `Connection: close` | {p99r['close']:.2f}x | {yes(p99r['close'] <= 1.2)} | {probe_r['close']:.2f}x | {errs['close']['flockport']} / {errs['close']['caddy']} | {yes(errs['close']['flockport'] == 0)} | {'yes' if errs['close']['caddy'] == 0 else 'no'} |

How to read the latencies: wrk (not wrk2) "corrects" its histogram for coordinated omission: after
the run, every sample longer than the mean interval between a connection's requests is completed
with synthetic samples down to that interval. One request stalled for seconds (16 connections, a
few ms apart) therefore becomes thousands of samples, and a single multi-second stall anywhere in
the run (the machine is shared; see "wrk max") can move p90/p99 into seconds while p50 stays at
1-2 ms. The probe column is an independent check that is not corrected: one GET of the steady app
every 20 ms on a fresh connection during the same run, its own p99, max, count over 1 s and
failures (status other than 200 with the app's body, or no answer within 10 s).

Baselines without changes (10 s each, same wrk settings):

| run | arm | p50 ms | p99 ms | requests | non-2xx | socket errors |
|---|---|---:|---:|---:|---:|---:|
| keep-alive | flockport | {brow('keepalive','flockport')} |
| keep-alive | caddy | {brow('keepalive','caddy')} |
| `Connection: close` | flockport | {brow('close','flockport')} |
| `Connection: close` | caddy | {brow('close','caddy')} |

Changes during the wrk runs took {w['keepalive']['flockport']['changes_secs']} s / {w['close']['flockport']['changes_secs']} s
for flockport (keep-alive / close runs: median {med(w['keepalive']['flockport']['change_ms']):.0f} /
{med(w['close']['flockport']['change_ms']):.0f} ms each) and median {med(w['keepalive']['caddy']['change_ms']):.0f} /
{med(w['close']['caddy']['change_ms']):.0f} ms each for Caddy.

Errors: a graceful reload of Nginx closes the old workers' *idle* keep-alive connections; a
client that sent its next request on such a connection at that moment gets it closed without an
answer, and wrk does not retry: a read error. flockport's webserver therefore never reloads the
Nginx that holds client connections on a change: that front passes every request to the back
Nginx (the apps, the one reloaded) through a pool of keep-alive connections over a unix socket,
and when the back's old workers close a pooled connection under a request, the front sends the
request again on a fresh one (a cached connection's failure costs no try), so the client never
sees it. Caddy's errors are Caddy's own: its admin API loads a new config and gracefully stops
the old server on every route change, which closes that server's idle keep-alive connections the
same way, and Caddy has nothing in front of it to retry; the zero-errors target is flockport's.

Whole run: {res['run_secs'] / 60:.1f} min (addws {res['addws_s']:.1f} s, delws {res.get('delws_s', float('nan')):.1f} s).
Every sample is in `bench/results/webserver.json`.
"""
    with open(os.path.join(ROOT, "bench/results/webserver.md"), "w") as f:
        f.write(md)
    print(md)


def _sigterm(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _sigterm)
    sys.exit(main())
