#!/usr/bin/env python3
"""bench/discovery: how fast flockport's service discovery (Consul endpoints + per-server dnsmasq
forwarders) takes effect, against doing the same with the Consul CLI, and what the forwarder costs.

Three Consul endpoints made for the run (`flockport addep`): bdisc-1 10.0.4.60 (s1), bdisc-2
10.0.5.60 (s2), bdisc-3 10.0.7.60 (s3); removed at the end (delep, the last with --force), also on
failure. All DNS queries are sent by one helper process in s2's namespace (`ip netns exec s2
python3 bench/work/discovery/dnsprobe.py`, hand-made UDP A queries), to s2's forwarder 10.0.5.1:53
unless said otherwise. Times across processes are wall-clock (time.time / `date +%s.%N`): the lab's
servers and containers are namespaces of this one kernel, so they share its clock.

1. publish -> resolvable on another server, arms interleaved (order alternating per round):
   flockport  - `flockport pubservice bdfN 10.0.7.20:9000` run from this machine;
   consul-cli - `consul services register FILE` (service bdcN, same address and port) in bdisc-1
                (s1), over one plain ssh session + lxc-attach; the command timed inside the
                container, and end to end from this machine (ssh start -> resolvable).
   The poller (a query every 5 ms) is started before the command; "return -> resolvable" is the
   first A 10.0.7.20 answer's arrival minus the command's return (negative: it resolved before).
   Each sample's service is removed afterwards (unpubservice / consul services deregister).
   A third arm, consul-cli-mux, sends the same through an already open ssh master to s1 (the
   footing flockport's persisted masters give it).
2. failing check -> out of DNS answers: a listener of the script's own in c5 (`busybox httpd -f -p
   9100`, pid recorded via `echo $!`), the service published at 10.0.7.20:9100 by both arms:
   flockport  - pubservice bdfkN 10.0.7.20:9100 + pubcheck bdfkN-tcp tcp 10.0.7.20:9100 --interval 1
   consul-cli - a service definition bdckN with a tcp check 10.0.7.20:9100 interval 1s (bdisc-1).
   Once both names resolve, both are polled and, after a random 0.2-1.2 s (so that the kill falls
   at a random point of the checks' cycle), the listener is killed by its pid (time taken in c5
   just before the kill); each arm's time is the first answer without 10.0.7.20 minus the kill.
   Both arms share the same kill, so they are measured at the same moment.
3. DNS queries per second: the same client (N sockets, one query in flight each), same
   concurrency, `--qps-secs` s each, through the forwarder 10.0.5.1:53 and directly at the endpoint
   10.0.5.60:8600, interleaved; once with the same name from every socket (bdqps.service.consul)
   and once with a name per socket (bdq0..bdqN-1, so that the forwarder cannot answer identical
   queries together). overhead = 1 - forwarder/direct. The CPU time of the three agents and of s2's
   dnsmasq is read from /proc (read-only) around each sample.
4. container life: c4 (10.0.5.21) on s2 stopped and started, two arms registering it side by side:
   flockport - `flockport addservice c4 bdlife 9000` once at the phase's start (s2's LXC hooks then
               register / withdraw it with s2's Consul client agent), then one warm-up cycle
               (lxc-stop/lxc-start, not measured: the run that was up at addservice is withdrawn by
               a waiter, the next runs by the hooks);
   polling   - "registrator-style" (the issue's definition): a shell loop started on s2 over ssh
               (setsid; its pid recorded and printed, killed by that pid at the end, never by name)
               that every 1 s runs `lxc-ls --running` and, when c4's state changed since its last
               look, runs `consul services register -name=bdpoll -id=bdpoll-c4 -address=10.0.5.21
               -port=9000` (or `services deregister -id=bdpoll-c4`) against s2's agent, the token
               from /var/lib/flockport/consul/agent.token (CONSUL_HTTP_TOKEN_FILE), never in argv.
   Each of --life-rounds rounds is `date +%s.%N; lxc-stop -n c4` then the same with lxc-start, run
   on s2 over ssh (the printed time is t0). Both names are polled from the probe through s1's
   forwarder 10.0.4.1:53 (another server than c4's), from before the event: stop -> the first
   NOERROR/NXDOMAIN answer without 10.0.5.21, start -> the first answer with it; time = its arrival
   minus t0. Both arms see the same event; the next event waits until both settled: every answer
   in the new state for 1 s (the forwarder passes on the first of the three endpoints' answers, and
   for a moment after a change they may disagree), 30 s at most (a timeout is recorded, not fatal);
   it then waits a random 0-1 s, so that it falls at a random point of the polling loop's cycle. Targets: flockport's medians under 2 s for registration and
   removal, and at least 2x faster than the polling loop's. Always, also on failure: the poller
   killed by its pid, c4 started again (lxc-start, "already running" ignored), `flockport
   delservice c4` and the poller's registration removed (errors ignored), then the endpoints.

Writes bench/results/discovery.md and bench/results/discovery.json.
Usage (as root, lab up): bench/discovery/run.py [--rounds 12] [--check-rounds N] [--qps-rounds 6]
  [--qps-secs 4] [--concurrency 16] [--life-rounds 8] [--deadline HH:MM (UTC; stop measuring then,
  clean up, write what there is)] [--notes-file F]; bench/discovery/run.py --only life
  [--life-rounds 8] runs setup, phase 4 and teardown only and merges its results into the existing
  .json (the other phases' kept, phase 4's replaced), rewriting the .md from the merged data;
  bench/discovery/run.py --report-only [--notes-file F] rewrites the .md from the .json. Scratch
  files (inventory copy, state, probe) go to bench/work/discovery/.
"""
import argparse, calendar, json, os, random, shutil, statistics, subprocess, sys, threading, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FP = os.environ.get("FLOCKPORT_BIN", os.path.join(ROOT, "target/debug/flockport"))
LAB_OUT = os.path.join(ROOT, "tests/lab/out")
WORK = os.path.join(ROOT, "bench/work/discovery")
CONSUL_DIR = "/var/cache/flockport/consul/v1.14.8-go1.26.8-95b9b3119fb36c1e"
EPS = [("bdisc-1", "s1", "10.0.4.60"), ("bdisc-2", "s2", "10.0.5.60"), ("bdisc-3", "s3", "10.0.7.60")]
SSH_HOST = {"s1": "192.168.122.11", "s2": "192.168.122.12", "s3": "192.168.122.13"}
CLI_EP, CLI_SERVER = "bdisc-1", "s1"          # where the Consul CLI arm runs
FWD = ("10.0.5.1", 53)                        # s2's forwarder
DIRECT = ("10.0.5.60", 8600)                  # bdisc-2's DNS
TARGET_IP, TARGET_PORT = "10.0.7.20", 9000    # c5
LISTEN_PORT = 9100                            # our own listener in c5
ATTACH_ENV = "--clear-env -v PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CONSUL_ENV = "export CONSUL_HTTP_TOKEN_FILE=/etc/consul.d/flockport.token CONSUL_HTTP_ADDR=http://127.0.0.1:8500"
# 4. container life: c4 on s2, asked through s1's forwarder (another server than c4's)
LIFE_CT, LIFE_SERVER, LIFE_IP, LIFE_PORT = "c4", "s2", "10.0.5.21", 9000
LIFE_FWD = ("10.0.4.1", 53)                   # s1's forwarder
LIFE_FP_NAME, LIFE_POLL_NAME = "bdlife", "bdpoll"
LIFE_POLL_ID = "bdpoll-c4"
LIFE_TIMEOUT = 30.0                           # per event and arm: a longer wait is recorded as a timeout
LIFE_RCODES = [0, 3]                          # "removed": a NOERROR/NXDOMAIN answer without c4's address
# For a while after a change the endpoints' answers disagree (the forwarder asks all three and passes
# on the first answer; a follower may still answer the old state), so "settled" = every answer for
# LIFE_HOLD s in the new state; an event starts only once both arms have been steady LIFE_PRE_HOLD s.
LIFE_HOLD, LIFE_PRE_HOLD = 1.0, 0.5
AGENT_DIR = "/var/lib/flockport/consul"       # each server's Consul client agent (flockport's, made by addep)
AGENT_ENV = (f"CONSUL_HTTP_TOKEN_FILE={AGENT_DIR}/agent.token CONSUL_HTTP_ADDR=http://127.0.0.1:8500")
POLLER_TAG = "bdisc-life-poller"              # the poller's $0 (checked in /proc/PID/cmdline before its kill)
POLLER_LOG = "/tmp/bdisc-life-poller.log"     # on s2 (the lab's /tmp is this machine's): removed at the end
# The "registrator-style" alternative (the definition): every 1 s list the running containers
# and, when c4's state changed since the last look, register or deregister its service with the
# server's agent (token from the agent's 0600 file, never in argv); an action that fails is retried
# at the next look. Each action is logged as "BDPOLL <look time> <up|down> <rc> <done time>".
POLLER = f"""export {AGENT_ENV}
C={AGENT_DIR}/consul
last=unknown
while :; do
  t=$(date +%s.%N)
  if lxc-ls --running -1 | grep -qx {LIFE_CT}; then now=up; else now=down; fi
  if [ "$now" != "$last" ]; then
    if [ "$now" = up ]; then
      "$C" services register -name={LIFE_POLL_NAME} -id={LIFE_POLL_ID} -address={LIFE_IP} -port={LIFE_PORT} >/dev/null; rc=$?
    else
      "$C" services deregister -id={LIFE_POLL_ID} >/dev/null; rc=$?
    fi
    [ "$rc" = 0 ] && last=$now
    echo "BDPOLL $t $now $rc $(date +%s.%N)"
  fi
  sleep 1
done
"""

PROBE = r'''
import json, os, random, select, socket, struct, sys, threading, time
out_lock = threading.Lock()

def emit(d):
    with out_lock:
        sys.stdout.write(json.dumps(d) + "\n"); sys.stdout.flush()

def query(name, qid):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack(">HH", 1, 1)

def skip_name(b, i):
    while True:
        l = b[i]
        if l == 0: return i + 1
        if l & 0xC0 == 0xC0: return i + 2
        i += 1 + l

def parse(b):
    qid, flags, qd, an = struct.unpack(">HHHH", b[:8])
    i = 12
    for _ in range(qd): i = skip_name(b, i) + 4
    ips = []
    for _ in range(an):
        i = skip_name(b, i)
        t, c, ttl, rl = struct.unpack(">HHIH", b[i:i + 10]); i += 10
        if t == 1 and rl == 4: ips.append(socket.inet_ntoa(b[i:i + 4]))
        i += rl
    return qid, flags & 0xF, ips

def ask(sock, addr, name, wait=0.25):
    qid = random.randrange(65536)
    sock.send(query(name, qid))
    end = time.time() + wait
    while True:
        left = end - time.time()
        if left <= 0: return None
        r, _, _ = select.select([sock], [], [], left)
        if not r: return None
        try: b = sock.recv(4096)
        except OSError: return None
        if len(b) >= 12 and struct.unpack(">H", b[:2])[0] == qid:
            return parse(b)

def poll(c):
    # hold: done only when every answer for `hold` s has matched (a streak); "t" is still the first
    # matching answer, "t_stable" the first of the streak, "flaps" the answers that did not match
    # after a first match (endpoints that disagree for a while)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((c["server"], c["port"]))
    t0 = time.time(); n = 0; lost = 0; last = None
    hold = c.get("hold", 0); first = streak = None; flaps = 0
    while time.time() - t0 < c["timeout"]:
        n += 1
        r = ask(s, None, c["name"])
        now = time.time()
        if r is None:
            lost += 1
        else:
            last = [r[1], r[2]]
            hit = c["ip"] in r[2]
            # vanish_rcodes: only these answers count as "without" (e.g. NOERROR/NXDOMAIN, not a SERVFAIL)
            vr = c.get("vanish_rcodes")
            if (c["mode"] == "appear" and hit) or (c["mode"] == "vanish" and not hit and (vr is None or r[1] in vr)):
                if first is None:
                    first = now
                if streak is None:
                    streak = now
                if now - streak >= hold:
                    emit({"id": c["id"], "ok": True, "t": first, "t_stable": streak, "flaps": flaps, "queries": n,
                          "lost": lost, "started": t0, "last": last})
                    return
            elif first is not None:
                flaps += 1; streak = None
        time.sleep(c.get("interval", 0.005))
    emit({"id": c["id"], "ok": False, "t": None, "t_first": first, "flaps": flaps, "queries": n, "lost": lost,
          "started": t0, "last": last})

def qps(c):
    conc, secs = c["concurrency"], c["secs"]
    names = c["name"] if isinstance(c["name"], list) else [c["name"]] * conc
    socks = []; sname = {}
    for k in range(conc):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((c["server"], c["port"]))
        s.setblocking(False); socks.append(s); sname[s] = names[k % len(names)]
    ids = {}; sent = {}; ok = bad = timeouts = 0
    pkts = {}
    def send(s):
        qid = random.randrange(65536); ids[s] = qid; sent[s] = time.time()
        s.send(query(sname[s], qid))
    t0 = time.time(); end = t0 + secs
    for s in socks: send(s)
    lat = []
    while True:
        now = time.time()
        if now >= end: break
        r, _, _ = select.select(socks, [], [], 0.05)
        now = time.time()
        for s in r:
            try: b = s.recv(4096)
            except OSError: continue
            if len(b) < 12 or struct.unpack(">H", b[:2])[0] != ids[s]: continue
            _, rc, ips = parse(b)
            if rc == 0 and c["ip"] in ips: ok += 1
            else: bad += 1
            lat.append(now - sent[s])
            if now < end: send(s)
        for s in socks:
            if now - sent[s] > 1.0:
                timeouts += 1
                if now < end: send(s)
    el = time.time() - t0
    lat.sort()
    emit({"id": c["id"], "ok": True, "answered": ok, "bad": bad, "timeouts": timeouts, "secs": el,
          "qps": ok / el, "lat_p50_ms": 1000 * lat[len(lat) // 2] if lat else None,
          "lat_p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else None})

for line in sys.stdin:
    c = json.loads(line)
    if c["op"] == "poll": threading.Thread(target=poll, args=(c,), daemon=True).start()
    elif c["op"] == "qps": qps(c)
    elif c["op"] == "quit": break
'''


def log(msg):
    print(f"[discbench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def med(xs):
    xs = [x for x in xs if x is not None and x == x]
    return statistics.median(xs) if xs else None


def run(argv, check=True, input=None, env=None, timeout=300):
    r = subprocess.run(argv, capture_output=True, text=True, input=input, env=env, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)[:300]} failed ({r.returncode}): {(r.stderr + r.stdout).strip()[-2000:]}")
    return r


class Deadline(Exception):
    pass


class Bench:
    def __init__(self, a):
        self.a = a
        self.inv = os.path.join(WORK, "flockport.toml")
        self.env = dict(os.environ, PATH=CONSUL_DIR + ":" + os.environ.get("PATH", ""), FLOCKPORT_CONFIG=self.inv)
        self.deadline = None
        if a.deadline:
            hh, mm = map(int, a.deadline.split(":"))
            t = time.gmtime()
            self.deadline = calendar.timegm((t.tm_year, t.tm_mon, t.tm_mday, hh, mm, 0))
        self.results = {"publish": [], "check": [], "qps": [], "life": [], "life_warmup": [], "life_run": {},
                        "notes": []}
        self.poller_pid = None      # the polling arm's loop on s2 (killed by this pid, never by name)
        self.life_dirty = False     # the life phase changed something that its cleanup undoes
        self.probe = None
        self.waiting = {}
        self.cv = threading.Condition()
        self.seq = 0
        self.listener = None
        self.masters = []

    def check_deadline(self):
        if self.deadline and time.time() > self.deadline:
            raise Deadline()

    # ---------------------------------------------------------------- tools
    def fp(self, *args, check=True):
        t0 = time.perf_counter()
        r = run([FP, *args], check=check, env=self.env)
        return r, time.perf_counter() - t0

    def ssh_base(self, server, mux=False):
        cm = (["-o", "ControlMaster=no", "-o", f"ControlPath={WORK}/cm-{server}"] if mux
              else ["-o", "ControlMaster=no", "-o", "ControlPath=none"])
        return ["ssh", "-i", os.path.join(LAB_OUT, "id_ed25519"), "-o", f"UserKnownHostsFile={LAB_OUT}/known_hosts",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", *cm,
                "-o", "ConnectTimeout=10", f"root@{SSH_HOST[server]}"]

    def ssh(self, server, script, check=True, timeout=120, mux=False):
        return run(self.ssh_base(server, mux) + ["sh", "-s"], check=check, input=script, timeout=timeout)

    def start_master(self, server):
        """A multiplexed master to `server` (what flockport keeps too), for the consul-cli-mux arm."""
        path = f"{WORK}/cm-{server}"
        if os.path.exists(path):
            os.unlink(path)
        base = self.ssh_base(server, True)
        i = base.index("ControlMaster=no")
        base[i] = "ControlMaster=yes"
        run(base[:-1] + ["-o", "ControlPersist=600", "-f", "-N", base[-1]])
        self.masters.append(server)

    def stop_masters(self):
        for server in self.masters:
            run(self.ssh_base(server, True)[:-1] + ["-O", "exit", f"root@{SSH_HOST[server]}"], check=False)
        self.masters = []

    @staticmethod
    def attach(container, script):
        return (f"lxc-attach -n {container} {ATTACH_ENV} -- sh -s <<'BDISC_EOF'\n{script}\nBDISC_EOF\n")

    def start_probe(self):
        os.makedirs(WORK, exist_ok=True)
        path = os.path.join(WORK, "dnsprobe.py")
        with open(path, "w") as f:
            f.write(PROBE)
        self.probe = subprocess.Popen(["ip", "netns", "exec", "s2", "python3", path], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, bufsize=1)
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.probe.stdout:
            d = json.loads(line)
            with self.cv:
                self.waiting[d["id"]] = d
                self.cv.notify_all()

    def send(self, **c):
        self.seq += 1
        c["id"] = self.seq
        self.probe.stdin.write(json.dumps(c) + "\n")
        self.probe.stdin.flush()
        return self.seq

    def result(self, pid, timeout):
        end = time.time() + timeout
        with self.cv:
            while pid not in self.waiting:
                left = end - time.time()
                if left <= 0:
                    return None
                self.cv.wait(left)
            return self.waiting.pop(pid)

    def poll(self, name, mode, timeout=60, server=FWD, ip=TARGET_IP, vanish_rcodes=None, hold=0):
        return self.send(op="poll", name=f"{name}.service.consul", ip=ip, mode=mode,
                         server=server[0], port=server[1], timeout=timeout, interval=0.005,
                         vanish_rcodes=vanish_rcodes, hold=hold)

    # ---------------------------------------------------------------- endpoints
    def listep(self):
        r, _ = self.fp("listep", "--json", check=False)
        try:
            d = json.loads(r.stdout)
        except ValueError:
            return []
        items = d if isinstance(d, list) else d.get("endpoints", [])
        return [e.get("name") or (e.get("record") or {}).get("name") for e in items if isinstance(e, dict)]

    def setup(self):
        os.makedirs(WORK, exist_ok=True)
        with open(os.path.join(LAB_OUT, "flockport.toml")) as f:
            txt = f.read()
        lines = [l for l in txt.splitlines() if not l.startswith("state")]
        with open(self.inv, "w") as f:
            f.write('state = "flockport-state.json"\n' + "\n".join(lines) + "\n")
        stale = [n for n in self.listep() if n and n.startswith("bdisc-")]
        if stale:
            log(f"removing endpoints a killed run left: {stale}")
            self.teardown_eps(stale)
        # A state without endpoints but with ad-hoc services (left by a killed run) makes the next
        # bootstrapping addep wait for services its fresh KV store never gets (see the .md): start
        # from a clean state file then.
        sp = os.path.join(WORK, "flockport-state.json")
        if os.path.exists(sp):
            st = json.load(open(sp))
            if not st.get("eps") and st.get("adhoc"):
                aside = f"{sp}.stale-{int(time.time())}"
                os.rename(sp, aside)
                self.results.setdefault("setup_notes", []).append(
                    f"state had no endpoints but ad-hoc services {sorted(st['adhoc'])}: moved aside to {aside}")
                log(self.results["setup_notes"][-1])
        # No endpoint left: the next cluster gets fresh Consul secrets (gossip key, management
        # token) rather than the ones of the previous run's clusters, which flockport keeps.
        if not [n for n in self.listep() if n]:
            shutil.rmtree(os.path.join(WORK, "flockport-secrets", "consul"), ignore_errors=True)
        self.results["addep_s"] = {}
        for name, server, ip in EPS:
            self.check_deadline()
            log(f"addep {server} {ip} -n {name}")
            _, dt = self.fp("addep", server, ip, "-n", name)
            self.results["addep_s"][name] = round(dt, 2)
            log(f"  {dt:.1f} s")
        r, _ = self.fp("listep", "--json")
        self.results["listep"] = json.loads(r.stdout)
        # where the consul CLI lives in the endpoint, and whether the token file is there
        r = self.ssh(CLI_SERVER, self.attach(CLI_EP, f"{CONSUL_ENV}\ncommand -v consul; consul version | head -1; "
                                                     "test -r /etc/consul.d/flockport.token && echo token-ok"))
        self.results["consul_in_endpoint"] = r.stdout.strip().splitlines()
        log(f"consul in {CLI_EP}: {r.stdout.strip()}")

    def teardown_eps(self, names=None):
        names = names or [n for n, _, _ in EPS]
        for i, n in enumerate(names):
            last = i == len(names) - 1
            args = ["delep", n] + (["--force"] if last else [])
            r, dt = self.fp(*args, check=False)
            if r.returncode != 0:
                log(f"delep {n} failed ({r.returncode}): {r.stderr.strip()[-400:]}; retrying with --force")
                r, dt = self.fp("delep", n, "--force", check=False)
            log(f"delep {n}: rc {r.returncode} ({dt:.1f} s)")
            self.results.setdefault("delep", []).append({"name": n, "rc": r.returncode, "secs": round(dt, 2),
                                                         "forced": r.args.count("--force") > 0})

    # ---------------------------------------------------------------- 1. publish
    def publish_flockport(self, i):
        name = f"bdf{i}"
        pid = self.poll(name, "appear")
        time.sleep(0.05)
        t0 = time.time()
        r, _ = self.fp("pubservice", name, f"{TARGET_IP}:{TARGET_PORT}")
        t1 = time.time()
        res = self.result(pid, 70)
        s = {"arm": "flockport", "round": i, "name": name, "cmd_s": t1 - t0}
        if res and res["ok"]:
            s.update(ret_to_res_s=res["t"] - t1, e2e_s=res["t"] - t0, queries=res["queries"], lost=res["lost"])
        else:
            s.update(ret_to_res_s=None, e2e_s=None, failed=True, probe=res)
        self.fp("unpubservice", name, check=False)
        return s

    def publish_consul(self, i, mux=False):
        name = f"bdm{i}" if mux else f"bdc{i}"
        svc = json.dumps({"service": {"name": name, "address": TARGET_IP, "port": TARGET_PORT}})
        script = self.attach(CLI_EP, f"""{CONSUL_ENV}
cat > /tmp/{name}.json <<'EOF'
{svc}
EOF
s=$(date +%s.%N); consul services register /tmp/{name}.json >/tmp/{name}.out 2>&1; rc=$?; e=$(date +%s.%N)
echo "BDISC_T $s $e $rc"; cat /tmp/{name}.out; rm -f /tmp/{name}.json /tmp/{name}.out""")
        pid = self.poll(name, "appear")
        time.sleep(0.05)
        t0 = time.time()
        r = self.ssh(CLI_SERVER, script, mux=mux)
        t1 = time.time()
        line = [l for l in r.stdout.splitlines() if l.startswith("BDISC_T ")][0].split()
        cs, ce, rc = float(line[1]), float(line[2]), int(line[3])
        if rc != 0:
            raise RuntimeError(f"consul services register failed: {r.stdout}")
        res = self.result(pid, 70)
        s = {"arm": "consul-cli-mux" if mux else "consul-cli", "round": i, "name": name, "cmd_s": ce - cs,
             "ssh_cmd_s": t1 - t0}
        if res and res["ok"]:
            s.update(ret_to_res_s=res["t"] - ce, e2e_s=res["t"] - t0, ssh_ret_to_res_s=res["t"] - t1,
                     incontainer_e2e_s=res["t"] - cs, queries=res["queries"], lost=res["lost"])
        else:
            s.update(ret_to_res_s=None, e2e_s=None, failed=True, probe=res)
        self.ssh(CLI_SERVER, self.attach(CLI_EP, f"{CONSUL_ENV}\nconsul services deregister -id={name}"), check=False,
                 mux=mux)
        return s

    # ---------------------------------------------------------------- 2. failing check
    def start_listener(self):
        r = self.ssh("s3", self.attach("c5", f"busybox httpd -f -p {LISTEN_PORT} -h /tmp </dev/null >/dev/null 2>&1 &\n"
                                             "echo BDISC_PID $!"))
        pid = int([l for l in r.stdout.splitlines() if l.startswith("BDISC_PID ")][0].split()[1])
        self.listener = pid
        return pid

    def kill_listener(self, check=True):
        pid, self.listener = self.listener, None
        r = self.ssh("s3", self.attach("c5", f"t=$(date +%s.%N); kill {pid} && echo BDISC_KILL $t"), check=check)
        ln = [l for l in r.stdout.splitlines() if l.startswith("BDISC_KILL ")]
        return float(ln[0].split()[1]) if ln else None

    def check_round(self, i):
        fname, cname = f"bdfk{i}", f"bdck{i}"
        addr = f"{TARGET_IP}:{LISTEN_PORT}"
        lp = self.start_listener()
        out = {"round": i, "listener_pid": lp}
        try:
            pf = self.poll(fname, "appear", timeout=60)
            pc = self.poll(cname, "appear", timeout=60)
            t0 = time.time()
            self.fp("pubservice", fname, addr)
            self.fp("pubcheck", f"{fname}-tcp", "tcp", addr, "--interval", "1")
            out["flockport_setup_s"] = time.time() - t0
            svc = json.dumps({"service": {"name": cname, "address": TARGET_IP, "port": LISTEN_PORT,
                                          "check": {"name": f"{cname}-tcp", "tcp": addr, "interval": "1s",
                                                    "timeout": "1s"}}})
            self.ssh(CLI_SERVER, self.attach(CLI_EP, f"""{CONSUL_ENV}
cat > /tmp/{cname}.json <<'EOF'
{svc}
EOF
consul services register /tmp/{cname}.json; rm -f /tmp/{cname}.json"""))
            rf, rc = self.result(pf, 65), self.result(pc, 65)
            if not (rf and rf["ok"] and rc and rc["ok"]):
                raise RuntimeError(f"check round {i}: a name never resolved: {rf} {rc}")
            time.sleep(1.5)  # every endpoint's check has passed at least once more
            vf = self.poll(fname, "vanish", timeout=30)
            vc = self.poll(cname, "vanish", timeout=30)
            # a random phase: without it the kill lands at the same point of the checks' 1 s cycle
            # every round (it follows the first pass by a nearly fixed delay) and the result is that
            # fixed delay, not the detection time
            jitter = random.uniform(0.0, 1.0)
            out["jitter_s"] = jitter
            time.sleep(0.2 + jitter)
            tk = self.kill_listener()
            rf, rc = self.result(vf, 35), self.result(vc, 35)
            out["kill_t"] = tk
            out["flockport_s"] = rf["t"] - tk if rf and rf["ok"] else None
            out["consul_cli_s"] = rc["t"] - tk if rc and rc["ok"] else None
            out["probe"] = {"flockport": rf, "consul-cli": rc}
        finally:
            if self.listener is not None:
                self.kill_listener(check=False)
            self.fp("unpubcheck", f"{fname}-tcp", check=False)
            self.fp("unpubservice", fname, check=False)
            self.ssh(CLI_SERVER, self.attach(CLI_EP, f"{CONSUL_ENV}\nconsul services deregister -id={cname}"),
                     check=False)
        return out

    # ---------------------------------------------------------------- 3. qps
    @staticmethod
    def dns_pids():
        """Read-only: the pids of our endpoints' consul agents (by their LXC cgroup) and of s2's
        flockport dnsmasq (by network namespace and config path), to read their CPU time."""
        pids = {}
        s2ns = subprocess.run(["ip", "netns", "exec", "s2", "readlink", "/proc/self/ns/net"], capture_output=True,
                              text=True).stdout.strip()
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                cmd = open(f"/proc/{d}/cmdline").read().replace("\0", " ")
                if cmd.startswith("/usr/local/bin/consul agent"):
                    cg = open(f"/proc/{d}/cgroup").read()
                    for n, _, _ in EPS:
                        if f"lxc.payload.{n}/" in cg:
                            pids[f"consul {n}"] = int(d)
                elif cmd.startswith("dnsmasq") and "flockport/dns" in cmd and os.readlink(f"/proc/{d}/ns/net") == s2ns:
                    pids["dnsmasq s2"] = int(d)
            except OSError:
                continue
        return pids

    @staticmethod
    def cpu_secs(pids):
        out = {}
        tck = os.sysconf("SC_CLK_TCK")
        for k, pid in pids.items():
            try:
                f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                out[k] = (int(f[11]) + int(f[12])) / tck
            except OSError:
                out[k] = None
        return out

    def qps_phase(self):
        self.fp("pubservice", "bdqps", f"{TARGET_IP}:{TARGET_PORT}")
        distinct = [f"bdq{k}" for k in range(self.a.concurrency)]
        try:
            for n in distinct:
                self.fp("pubservice", n, f"{TARGET_IP}:{TARGET_PORT}")
            p = self.poll("bdqps", "appear", timeout=30)
            if not (self.result(p, 35) or {}).get("ok"):
                raise RuntimeError("bdqps never resolved through the forwarder")
            p = self.poll("bdqps", "appear", timeout=30, server=DIRECT)
            if not (self.result(p, 35) or {}).get("ok"):
                raise RuntimeError("bdqps never resolved at the endpoint")
            # warm-up, discarded
            for tgt in (FWD, DIRECT):
                self.result(self.send(op="qps", name="bdqps.service.consul", ip=TARGET_IP, server=tgt[0],
                                      port=tgt[1], concurrency=self.a.concurrency, secs=1.0), 30)
            p = self.poll(distinct[-1], "appear", timeout=30)
            if not (self.result(p, 35) or {}).get("ok"):
                raise RuntimeError(f"{distinct[-1]} never resolved through the forwarder")
            dnames = [f"{n}.service.consul" for n in distinct]
            time.sleep(self.a.settle)  # let the agents finish the reloads of the publications
            pids = self.dns_pids()
            self.results["dns_pids"] = pids
            for i in range(self.a.qps_rounds):
                self.check_deadline()
                order = [("forwarder", FWD), ("direct", DIRECT)]
                if i % 2:
                    order.reverse()
                for variant, names in (("same", "bdqps.service.consul"), ("distinct", dnames)):
                    for arm, tgt in order:
                        la = open("/proc/loadavg").read().split()[0]
                        c0 = self.cpu_secs(pids)
                        r = self.result(self.send(op="qps", name=names, ip=TARGET_IP, server=tgt[0],
                                                  port=tgt[1], concurrency=self.a.concurrency, secs=self.a.qps_secs),
                                        self.a.qps_secs + 30)
                        c1 = self.cpu_secs(pids)
                        cpu = {k: round(c1[k] - c0[k], 2) for k in pids if c0.get(k) is not None and c1.get(k) is not None}
                        r = dict(r or {}, arm=arm, variant=variant, round=i, loadavg1=la, cpu_s=cpu)
                        self.results["qps"].append(r)
                        log(f"qps round {i} {variant} {arm}: {r.get('qps', 0):.0f}/s (bad {r.get('bad')}, "
                            f"timeouts {r.get('timeouts')}, p50 {r.get('lat_p50_ms')} ms, cpu {cpu})")
        finally:
            self.fp("unpubservice", "bdqps", check=False)
            for n in distinct:
                self.fp("unpubservice", n, check=False)

    # ---------------------------------------------------------------- 4. container life
    def life_ssh(self, script, check=True, timeout=120):
        return self.ssh(LIFE_SERVER, script, check=check, timeout=timeout)

    def start_poller(self):
        """The polling arm: its loop started on s2 in a session of its own; its pid recorded."""
        import shlex
        r = self.life_ssh(f"""rm -f {POLLER_LOG}
setsid sh -c {shlex.quote(POLLER)} {POLLER_TAG} </dev/null >>{POLLER_LOG} 2>&1 &
p=$!
sleep 0.3
echo "BDPOLL_PID $p $(cut -d' ' -f5,6 /proc/$p/stat 2>/dev/null)"
""")
        ln = [l for l in r.stdout.splitlines() if l.startswith("BDPOLL_PID ")][0].split()
        self.poller_pid = int(ln[1])
        self.life_dirty = True
        info = {"pid": self.poller_pid, "pgrp_session": ln[2:]}
        self.results["life_run"]["poller"] = info
        log(f"polling loop started on {LIFE_SERVER}: pid {self.poller_pid} (process group, session {ln[2:]})")
        if ln[2:] != [str(self.poller_pid)] * 2:
            raise RuntimeError(f"the polling loop (pid {self.poller_pid}) does not run in a session of its own: {ln}")

    def kill_poller(self):
        """Kills the polling loop by its recorded pid (its process group: the loop and its `sleep`),
        after checking that this pid still runs the loop; then its log is kept and removed."""
        pid, self.poller_pid = self.poller_pid, None
        if pid is None:
            return
        r = self.life_ssh(f"""p={pid}
if tr '\\0' ' ' </proc/$p/cmdline 2>/dev/null | grep -q {POLLER_TAG}; then
  kill -TERM -$p || kill -TERM $p
  i=0; while [ -e /proc/$p ] && [ "$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null)" != Z ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done
  echo BDPOLL_KILLED
else
  echo BDPOLL_GONE
fi
echo BDPOLL_LOG_BEGIN; cat {POLLER_LOG} 2>/dev/null; rm -f {POLLER_LOG}
""", check=False)
        out = r.stdout
        killed = "BDPOLL_KILLED" in out
        self.results["life_run"]["poller_kill"] = "killed by pid" if killed else f"pid {pid} no longer ran the loop: {r.stdout.strip()[:300]} {r.stderr.strip()[:300]}"
        self.results["life_run"]["poller_log"] = out.split("BDPOLL_LOG_BEGIN", 1)[1].strip().splitlines() if "BDPOLL_LOG_BEGIN" in out else []
        log(f"polling loop pid {pid}: {self.results['life_run']['poller_kill']}")

    def life_cleanup(self):
        """Always (also on failure): the poller killed by its pid, c4 running again, flockport's
        service of c4 and the poller's registration removed. Errors are logged, not raised."""
        if not self.life_dirty:
            return
        notes = self.results["life_run"].setdefault("cleanup", [])
        for what, f in (("kill the polling loop", self.kill_poller),
                        ("start c4", lambda: notes.append("lxc-start: " + self._ensure_c4_runs())),
                        (f"delservice {LIFE_CT}", lambda: notes.append(
                            "delservice: rc %d" % self.fp("delservice", LIFE_CT, check=False)[0].returncode)),
                        (f"deregister {LIFE_POLL_ID}", lambda: notes.append("deregister: " + self.life_ssh(
                            f"{AGENT_ENV} {AGENT_DIR}/consul services deregister -id={LIFE_POLL_ID} 2>&1",
                            check=False).stdout.strip()[:200]))):
            try:
                f()
            except Exception as e:
                notes.append(f"{what}: {e!r}")
                log(f"life cleanup: {what}: {e!r}")
        try:
            # read-only: no definition of c4 left on s2 (a next cluster would register it again)
            r = self.life_ssh(f"ls {AGENT_DIR}/defs {AGENT_DIR}/services.d 2>&1; lxc-info -n {LIFE_CT} -sH", check=False)
            self.results["life_run"]["after_cleanup"] = r.stdout.strip().splitlines()
        except Exception as e:
            notes.append(f"after: {e!r}")
        self.life_dirty = False
        log(f"life cleanup: {notes}")

    def _ensure_c4_runs(self):
        r = self.life_ssh(f"lxc-start -n {LIFE_CT} 2>&1; echo rc $?; lxc-info -n {LIFE_CT} -sH", check=False)
        return " ".join(r.stdout.split())[:300]

    def settled(self, names, present, timeout=LIFE_TIMEOUT, hold=LIFE_PRE_HOLD):
        """Waits until every name of `names` is (present) or is not (absent) resolvable with c4's
        address through s1's forwarder, every answer for `hold` s; {name: True/False}."""
        mode = "appear" if present else "vanish"
        ids = {n: self.poll(n, mode, timeout=timeout, server=LIFE_FWD, ip=LIFE_IP, vanish_rcodes=LIFE_RCODES,
                            hold=hold) for n in names}
        return {n: bool((self.result(i, timeout + 10) or {}).get("ok")) for n, i in ids.items()}

    def life_event(self, kind, rnd):
        """One lxc-stop or lxc-start of c4 on s2, both names polled from before it: stop -> first
        answer without c4's address, start -> first answer with it, each minus t0 (s2's clock
        before the command; one kernel clock in the lab)."""
        names = {"flockport": LIFE_FP_NAME, "polling": LIFE_POLL_NAME}
        pre = self.settled(names.values(), present=(kind == "stop"))
        mode = "vanish" if kind == "stop" else "appear"
        ids = {arm: self.poll(n, mode, timeout=LIFE_TIMEOUT, server=LIFE_FWD, ip=LIFE_IP, vanish_rcodes=LIFE_RCODES,
                              hold=LIFE_HOLD) for arm, n in names.items()}
        # a random phase against the polling loop's 1 s cycle (else successive events keep one phase)
        jitter = random.uniform(0.0, 1.0)
        time.sleep(0.05 + jitter)
        r = self.life_ssh(f"date +%s.%N; lxc-{kind} -n {LIFE_CT}; echo BDLIFE_RC $?; date +%s.%N", check=False,
                          timeout=LIFE_TIMEOUT + 90)
        lines = r.stdout.split()
        try:
            t0 = float(lines[0])
        except (IndexError, ValueError):
            raise RuntimeError(f"lxc-{kind} {LIFE_CT}: no start time from {LIFE_SERVER}: {r.stdout!r} {r.stderr!r}")
        rc = int(lines[lines.index("BDLIFE_RC") + 1]) if "BDLIFE_RC" in lines else None
        t1 = float(lines[-1]) if rc is not None else None
        out = {"round": rnd, "event": kind, "t0": t0, "cmd_s": (t1 - t0) if t1 else None, "rc": rc, "jitter_s": jitter,
               "cmd_output": r.stdout.strip().splitlines()[1:-2] + r.stderr.strip().splitlines()[-3:],
               "loadavg1": open("/proc/loadavg").read().split()[0]}
        for arm, i in ids.items():
            p = self.result(i, LIFE_TIMEOUT + 10)
            ok = bool(p and p.get("ok"))
            first = (p or {}).get("t") or (p or {}).get("t_first")
            out[arm] = {"s": first - t0 if first else None, "after_cmd_s": (first - t1) if first and t1 else None,
                        "stable_s": p["t_stable"] - t0 if ok else None, "flaps": (p or {}).get("flaps"),
                        "timeout": not ok, "pre_ok": pre[names[arm]], "queries": (p or {}).get("queries"),
                        "lost": (p or {}).get("lost"), "last": (p or {}).get("last")}
        return out

    @staticmethod
    def life_check_rc(o):
        if o["rc"] != 0:
            raise RuntimeError(f"lxc-{o['event']} -n {LIFE_CT} on {LIFE_SERVER} failed (rc {o['rc']}): {o['cmd_output']}")

    def life_phase(self):
        a, lr = self.a, self.results["life_run"]
        lr["rounds_asked"] = a.life_rounds
        # the endpoints' own Consul service through s1's forwarder, from the probe in s2: the path works
        ok = self.result(self.send(op="poll", name="consul.service.consul", ip=EPS[0][2], mode="appear",
                                   server=LIFE_FWD[0], port=LIFE_FWD[1], timeout=15, interval=0.05), 25)
        lr["forwarder_check"] = ok
        if not (ok or {}).get("ok"):  # not fatal: the names' own first resolution below is the real test
            log(f"note: consul.service.consul did not resolve to {EPS[0][2]} through s1's forwarder "
                f"{LIFE_FWD[0]}:{LIFE_FWD[1]} from s2: {ok}")
        st = os.path.join(WORK, "flockport-state.json")
        left = (json.load(open(st)).get("container_services") or {}).get(LIFE_CT) if os.path.exists(st) else None
        self.life_dirty = True
        if left:
            lr.setdefault("setup_notes", []).append(f"a killed run left services of {LIFE_CT}: {left}; delservice")
            self.fp("delservice", LIFE_CT, check=False)
        lr["c4_before"] = self._ensure_c4_runs()
        log(f"c4 on {LIFE_SERVER}: {lr['c4_before']}")
        self.start_poller()
        t = time.time()
        r, dt = self.fp("addservice", LIFE_CT, LIFE_FP_NAME, str(LIFE_PORT))
        lr["addservice_s"] = round(dt, 3)
        lr["addservice_out"] = (r.stdout + r.stderr).strip().splitlines()[-6:]
        log(f"addservice {LIFE_CT} {LIFE_FP_NAME} {LIFE_PORT}: {dt:.2f} s")
        first = self.settled([LIFE_FP_NAME, LIFE_POLL_NAME], present=True)
        lr["first_resolvable"] = {"after_s": round(time.time() - t, 3), **first}
        if not all(first.values()):
            raise RuntimeError(f"not resolvable through s1's forwarder after addservice and the poller's start: {first}")
        # warm-up (not measured): the run that was up at addservice is deregistered by a waiter; the
        # next run has the hooks (start-host recorded its init in hooked/c4, post-stop withdraws it)
        for kind in ("stop", "start"):
            w = self.life_event(kind, 0)
            self.results["life_warmup"].append(w)
            self.life_check_rc(w)
            log(f"  warm-up {kind}: flockport {w['flockport']['s']}, polling {w['polling']['s']}")
        r = self.life_ssh(f"cat {AGENT_DIR}/hooked/{LIFE_CT}; lxc-info -n {LIFE_CT} -pH; "
                          f"grep -h hook /var/lib/lxc/{LIFE_CT}/config", check=False)
        lr["hooks_after_warmup"] = r.stdout.strip().splitlines()
        log(f"  after the warm-up: {lr['hooks_after_warmup']}")
        for i in range(1, a.life_rounds + 1):
            self.check_deadline()
            for kind in ("stop", "start"):
                o = self.life_event(kind, i)
                self.results["life"].append(o)
                self.life_check_rc(o)
                log(f"  #{i} {kind}: cmd {fmt(o['cmd_s'])} s; flockport {fmt(o['flockport']['s'])} s, polling "
                    f"{fmt(o['polling']['s'])} s" + ("" if o["flockport"]["pre_ok"] and o["polling"]["pre_ok"]
                                                      else " (an arm had not settled before it)"))

    def life_phase_safe(self):
        log("phase 4: container life (c4 stopped and started; flockport's hooks against a polling loop)")
        try:
            self.life_phase()
        except Deadline:
            raise
        except Exception as e:
            self.results["life_run"]["error"] = repr(e)
            self.results.setdefault("phase_errors", []).append(f"life: {e!r}")
            log(f"phase 4 failed: {e!r}")
        finally:
            self.life_cleanup()

    # ---------------------------------------------------------------- main
    def measure(self):
        a = self.a
        log("phase 1: publish -> resolvable")
        try:
            self.publish_phase()
        except Deadline:
            raise
        except Exception as e:
            self.results.setdefault("phase_errors", []).append(f"publish: {e!r}")
            log(f"phase 1 failed: {e!r}")
        err = None
        try:
            self.phase23()
        except Deadline:
            raise
        except Exception as e:  # phase 4 runs all the same; the error is raised after it
            err = e
            log(f"phase 2/3 failed: {e!r}")
        self.life_phase_safe()
        if err is not None:
            raise err

    def publish_phase(self):
        a = self.a
        # one discarded warm-up per arm
        self.start_master(CLI_SERVER)
        w = [self.publish_flockport(0), self.publish_consul(0), self.publish_consul(0, mux=True)]
        self.results["publish_warmup"] = w
        for i in range(1, a.rounds + 1):
            self.check_deadline()
            arms = [self.publish_flockport, self.publish_consul, lambda i: self.publish_consul(i, mux=True)]
            k = i % 3
            arms = arms[k:] + arms[:k]
            for f in arms:
                s = f(i)
                s["loadavg1"] = open("/proc/loadavg").read().split()[0]
                self.results["publish"].append(s)
                log(f"  {s['arm']} #{i}: cmd {s['cmd_s']:.3f} s, return->resolvable "
                    f"{s['ret_to_res_s'] if s['ret_to_res_s'] is None else round(s['ret_to_res_s'], 3)} s")

    def phase23(self):
        a = self.a
        log("phase 2: failing check -> out of answers")
        try:
            for i in range(1, a.check_rounds + 1):
                self.check_deadline()
                o = self.check_round(i)
                self.results["check"].append(o)
                log(f"  #{i}: flockport {o['flockport_s']}, consul-cli {o['consul_cli_s']}")
        except Deadline:
            raise
        except Exception as e:
            self.results.setdefault("phase_errors", []).append(f"check: {e!r}")
            log(f"phase 2 failed: {e!r}")
        log("phase 3: DNS qps")
        self.qps_phase()


def summarize(res):
    s = {}
    pub = res["publish"]

    def ratio(x, y):
        return x / y if x is not None and y not in (None, 0) else None

    def rng(xs):
        xs = [x for x in xs if x is not None]
        return [min(xs), max(xs)] if xs else [None, None]
    for p in pub:
        if p.get("ret_to_res_s") is not None:
            p["wait_after_return_s"] = max(0.0, p["ret_to_res_s"])
    for arm in ("flockport", "consul-cli", "consul-cli-mux"):
        xs = [p for p in pub if p["arm"] == arm]
        s[arm] = {k: med([p.get(k) for p in xs]) for k in ("cmd_s", "ret_to_res_s", "wait_after_return_s", "e2e_s",
                                                             "ssh_cmd_s", "ssh_ret_to_res_s", "incontainer_e2e_s")}
        s[arm]["n"] = len(xs)
        s[arm]["failed"] = sum(1 for p in xs if p.get("failed"))
        for k in ("ret_to_res_s", "e2e_s", "cmd_s"):
            s[arm][k + "_range"] = rng([p.get(k) for p in xs])
        s[arm]["resolved_before_return"] = sum(1 for p in xs if (p.get("ret_to_res_s") or 1) <= 0)
    f, c, m = s["flockport"], s["consul-cli"], s["consul-cli-mux"]
    s["ratio_wait_after_return"] = ratio(f["wait_after_return_s"], c["wait_after_return_s"])
    s["ratio_e2e"] = ratio(f["e2e_s"], c["e2e_s"])
    s["ratio_e2e_mux"] = ratio(f["e2e_s"], m["e2e_s"])
    s["ratio_e2e_incontainer"] = ratio(f["e2e_s"], c["incontainer_e2e_s"])
    ch = res["check"]
    s["check"] = {"flockport_s": med([o.get("flockport_s") for o in ch]),
                  "consul_cli_s": med([o.get("consul_cli_s") for o in ch]), "n": len(ch),
                  "flockport_range": rng([o.get("flockport_s") for o in ch]),
                  "consul_cli_range": rng([o.get("consul_cli_s") for o in ch])}
    s["check"]["ratio"] = ratio(s["check"]["flockport_s"], s["check"]["consul_cli_s"])
    s["qps"] = {}
    for variant in ("same", "distinct"):
        q = [x for x in res["qps"] if x.get("variant", "same") == variant]
        fw = med([x.get("qps") for x in q if x["arm"] == "forwarder"])
        di = med([x.get("qps") for x in q if x["arm"] == "direct"])
        per_round = []
        for r in sorted({x["round"] for x in q}):
            a = [x.get("qps") for x in q if x["round"] == r and x["arm"] == "forwarder"]
            b = [x.get("qps") for x in q if x["round"] == r and x["arm"] == "direct"]
            if a and b and a[0] and b[0]:
                per_round.append(1 - a[0] / b[0])
        s["qps"][variant] = {
            "forwarder": fw, "direct": di, "overhead": (1 - fw / di) if fw and di else None,
            "overhead_per_round_median": med(per_round), "n": len(per_round),
            "lat_p50_ms": {arm: med([x.get("lat_p50_ms") for x in q if x["arm"] == arm]) for arm in ("forwarder", "direct")},
            "lat_p99_ms": {arm: med([x.get("lat_p99_ms") for x in q if x["arm"] == arm]) for arm in ("forwarder", "direct")},
            "bad": sum(x.get("bad") or 0 for x in q), "timeouts": sum(x.get("timeouts") or 0 for x in q)}
        # CPU seconds per 10,000 answers of each process, median over the samples
        cpu = {}
        for arm in ("forwarder", "direct"):
            xs = [x for x in q if x["arm"] == arm and x.get("cpu_s") and x.get("answered")]
            keys = sorted({k for x in xs for k in x["cpu_s"]})
            cpu[arm] = {k: med([1e4 * x["cpu_s"][k] / x["answered"] for x in xs if k in x["cpu_s"]]) for k in keys}
            cpu[arm]["all"] = med([1e4 * sum(x["cpu_s"].values()) / x["answered"] for x in xs]) if xs else None
        s["qps"][variant]["cpu_per_10k_answers"] = cpu
    s["life"] = life_summary(res)
    return s


LIFE_KEYS = (("start", "start_to_resolvable"), ("stop", "stop_to_removed"))


def life_summary(res):
    """Phase 4: per arm and event, the median, min and max of the times (a timeout counts as longer
    than any time in the median; samples before which an arm had not settled are left out)."""
    allev = res.get("life") or []
    ev = [o for o in allev if o.get("rc") == 0]  # an lxc-stop/lxc-start that failed is no event
    if not ev:
        return None
    out = {"rounds": len({o["round"] for o in ev}), "failed_commands": len(allev) - len(ev), "cmd_s": {}}
    for kind, _ in LIFE_KEYS:
        out["cmd_s"][kind] = med([o.get("cmd_s") for o in ev if o["event"] == kind])
    for arm in ("flockport", "polling"):
        out[arm] = {}
        for kind, key in LIFE_KEYS:
            xs = [o[arm] for o in ev if o["event"] == kind and arm in o]
            valid = [x for x in xs if x.get("pre_ok")]
            vals = [x["s"] for x in valid if not x.get("timeout") and x.get("s") is not None]
            timeouts = sum(1 for x in valid if x.get("timeout"))
            allv = sorted(vals + [float("inf")] * timeouts)
            m = statistics.median(allv) if allv else None
            out[arm][key] = {"median_s": m if m is not None and m != float("inf") else None,
                             "median_timed_out": m == float("inf"),
                             "min_s": min(vals) if vals else None, "max_s": max(vals) if vals else None,
                             "n": len(valid), "timeouts": timeouts, "not_settled_before": len(xs) - len(valid),
                             "after_cmd_median_s": med([x.get("after_cmd_s") for x in valid]),
                             "stable_median_s": med([x.get("stable_s") for x in valid]),
                             "stable_max_s": max([x["stable_s"] for x in valid if x.get("stable_s") is not None],
                                                 default=None),
                             "events_with_flaps": sum(1 for x in valid if x.get("flaps")),
                             "flaps": sum(x.get("flaps") or 0 for x in valid)}
    # The poller's own log ("BDPOLL <look> <up|down> <rc> <done>"): when it acted after each event, a
    # check that the polling arm's answer followed its action (nothing else moved bdpoll)
    acts = []
    for l in (res.get("life_run") or {}).get("poller_log") or []:
        f = l.split()
        if len(f) == 5 and f[0] == "BDPOLL" and f[3] == "0":
            acts.append((float(f[1]), f[2], float(f[4])))
    out["poller_acted"] = {}
    before = 0
    for kind, _ in LIFE_KEYS:
        looks, dones = [], []
        for o in ev:
            if o["event"] != kind:
                continue
            want = "down" if kind == "stop" else "up"
            a = next((x for x in acts if x[2] > o["t0"] and x[1] == want), None)
            if a is None:
                continue
            looks.append(a[0] - o["t0"]); dones.append(a[2] - o["t0"])
            ps = o["polling"].get("s")
            if ps is not None and o["polling"].get("pre_ok") and ps < looks[-1]:
                before += 1
        out["poller_acted"][kind] = {"look_median_s": med(looks), "done_median_s": med(dones), "n": len(dones)}
    out["polling_answer_before_poller_look"] = before if acts else None
    out["ratio_polling_over_flockport"] = {}
    out["targets"] = {}
    for kind, key in LIFE_KEYS:
        f, p = out["flockport"][key], out["polling"][key]
        r = None
        if f["median_s"] and p["median_s"] is not None:
            r = p["median_s"] / f["median_s"]
        out["ratio_polling_over_flockport"][key] = r
        what = "registration" if kind == "start" else "removal"
        out["targets"][f"{what}_under_2s"] = None if f["n"] == 0 else (f["median_s"] is not None and f["median_s"] < 2.0)
        out["targets"][f"{what}_2x_faster_than_polling"] = (
            None if f["n"] == 0 or p["n"] == 0 else
            (f["median_s"] is not None and (p["median_timed_out"] or (r is not None and r >= 2.0))))
    return out


def fmt(x, n=3, unit=""):
    return "—" if x is None else f"{x:.{n}f}{unit}"


def cpu_keys(s):
    return sorted({k for v in s["qps"].values() for arm in v.get("cpu_per_10k_answers", {}).values() for k in arm
                   if k != "all"})


def cpu_rows(s):
    rows = []
    for variant, v in s["qps"].items():
        for arm, d in v.get("cpu_per_10k_answers", {}).items():
            rows.append(f"| {variant} | {arm} | " + " | ".join(fmt(d.get(k), 2) for k in cpu_keys(s)) +
                        f" | {fmt(d.get('all'), 2)} |")
    return "\n".join(rows)


def pctf(x):
    return "—" if x is None else f"{100 * x:.1f} %"


def life_md(res):
    """Phase 4's method item and results section of the .md ("", "" when it has not run)."""
    s = res["summary"].get("life")
    lr = res.get("life_run") or {}
    if not s and not lr:
        return "", ""
    own = lr.get("started_utc") and lr.get("started_utc") != res.get("started_utc")
    run_line = (f"Measured in a run of its own (`run.py {lr.get('args', '')}`, {lr.get('started_utc')} UTC, git "
                f"{lr.get('git', '?')}, {(lr.get('run_secs') or 0) / 60:.1f} min; load before `{lr.get('uptime_before', '?')}`, "
                f"after `{lr.get('uptime_after', '?')}`; endpoints made and removed as above, addep "
                f"{', '.join(f'{k} {v:.1f} s' for k, v in (lr.get('addep_s') or {}).items())}).\n\n") if own else ""
    method = f"""
4. **Container life** (--life-rounds {((lr.get('rounds_asked') or (res.get('args_d') or {}).get('life_rounds')) or '?')}): container c4 (10.0.5.21) on s2, two arms registering
   it side by side, both seeing the same events:
   - **flockport**: `flockport addservice c4 bdlife 9000` once; from then on s2's LXC hooks
     (start-host / post-stop) register and withdraw it with s2's Consul client agent;
   - **polling** ("registrator-style", as the issue defines it): a shell loop on s2 (started over
     ssh with setsid, killed by its recorded pid at the end) that every 1 s runs `lxc-ls --running`
     and, when c4's state changed since its last look, runs `consul services register -name=bdpoll
     -id=bdpoll-c4 -address=10.0.5.21 -port=9000` (or `services deregister`) against s2's agent,
     the token from the agent's 0600 token file (`CONSUL_HTTP_TOKEN_FILE`), never in argv.
   One warm-up cycle first (lxc-stop/lxc-start, not measured: the run that was up at addservice is
   withdrawn by a waiter, later runs by the hooks). Each round is an `lxc-stop -n c4` then an
   `lxc-start -n c4`, run on s2 over ssh as `date +%s.%N; lxc-stop -n c4`: the printed time is t0.
   Both names are polled (every 5 ms) from the probe in s2 through **s1's** forwarder 10.0.4.1:53
   (another server than c4's), from before the event: stop -> first NOERROR/NXDOMAIN answer
   without 10.0.5.21, start -> first answer with it; time = that answer's arrival minus t0. The
   next event waits until both arms have settled, i.e. every answer in the new state for 1 s (30 s
   at most; a timeout is recorded, and counts as longer than any time in a median), then checks
   that both have been steady for 0.5 s and waits a random 0-1 s (a random phase against the
   polling loop's cycle). A sample before which an arm had not settled is left out.
   Targets: flockport's medians under 2 s for registration and for removal, and at least 2x faster
   than the polling loop's medians."""
    if not s:
        return method, f"\n\n### 4. Container life\n\n{run_line}Not measured: {lr.get('error', 'no samples')}\n"

    def cell(d):
        if d["n"] == 0:
            return "—"
        if d["min_s"] is None:
            return f"all {d['timeouts']} timed out (> 30 s)"
        m = "timeout (> 30 s)" if d["median_timed_out"] else fmt(d["median_s"])
        t = f", {d['timeouts']} timeout(s) > 30 s" if d["timeouts"] else ""
        return f"{m} ({fmt(d['min_s'])}..{fmt(d['max_s'])}{t})"

    def ratio(x):
        return "—" if x is None else f"{x:.2f}x"

    def met(v):
        return "not measured" if v is None else ("**met**" if v else "**not met**")
    f, p, r, t = s["flockport"], s["polling"], s["ratio_polling_over_flockport"], s["targets"]
    err = f"**Error: {lr['error']}**\n\n" if lr.get("error") else ""
    rows = []
    for kind, key in LIFE_KEYS:
        label = "start -> resolvable" if kind == "start" else "stop -> removed"
        rows.append(f"| {label} (s) | {cell(f[key])} | {cell(p[key])} | {ratio(r[key])} | "
                    f"{fmt(f[key]['after_cmd_median_s'])} / {fmt(p[key]['after_cmd_median_s'])} | "
                    f"{f[key]['n']}/{p[key]['n']} |")
    for kind, key in LIFE_KEYS:
        label = "start -> steady" if kind == "start" else "stop -> steady"
        rows.append(f"| {label} (s; median, max) | {fmt(f[key].get('stable_median_s'))}, {fmt(f[key].get('stable_max_s'))} | "
                    f"{fmt(p[key].get('stable_median_s'))}, {fmt(p[key].get('stable_max_s'))} | | | |")
    flap = "; ".join(f"{arm} {kind}: {d[key].get('events_with_flaps', 0)} of {d[key]['n']} events, {d[key].get('flaps', 0)} answers"
                     for arm, d in (("flockport", f), ("polling", p)) for kind, key in LIFE_KEYS)
    per = []
    for o in res.get("life", []):
        v = [("timeout" if o[a]["timeout"] else fmt(o[a]["s"])) + ("" if o[a]["pre_ok"] else "*")
             for a in ("flockport", "polling")]
        per.append(f"{o['event']} {o['round']}: {v[0]}/{v[1]}")
    settled = sum(d[k]["not_settled_before"] for d in (f, p) for _, k in LIFE_KEYS)
    hooks = lr.get("hooks_after_warmup")
    pa = s.get("poller_acted") or {}
    poller_line = ""
    if any(v.get("n") for v in pa.values()):
        poller_line = ("From the polling loop's log (median, from t0): it saw the stop at " +
                       f"{fmt(pa['stop']['look_median_s'])} s and had deregistered at {fmt(pa['stop']['done_median_s'])} s; "
                       f"it saw the start at {fmt(pa['start']['look_median_s'])} s and had registered at "
                       f"{fmt(pa['start']['done_median_s'])} s. Answers of the polling arm that came before the loop had "
                       f"even looked (something else moved bdpoll; expected 0): {s.get('polling_answer_before_poller_look')}.")
    results = f"""

### 4. Container life: c4 stopped and started, through s1's forwarder (from t0 before the command)

{run_line}{err}| | flockport (addservice + LXC hooks) | polling loop (lxc-ls every 1 s) | polling / flockport (medians) | after the command's return, median flockport / polling (s) | samples flockport/polling |
|---|---|---|---|---|---|
""" + "\n".join(rows) + f"""

"resolvable" / "removed" = the first answer in the new state; "steady" = the first answer from
which every answer was in the new state for {LIFE_HOLD:.0f} s (an event starts only after both arms were
steady for {LIFE_PRE_HOLD} s, then after a random 0-1 s so that it falls at a random point of the polling
loop's cycle). Answers back in the old state after the first new one (the endpoints disagreeing for
a while): {flap}.

Medians with (min..max); {s['rounds']} rounds. The commands' own time (median): lxc-stop {fmt(s['cmd_s'].get('stop'))} s,
lxc-start {fmt(s['cmd_s'].get('start'))} s (t0 is taken before them, so both arms include it).
{poller_line}
{('Samples left out because an arm had not settled before the event: ' + str(settled) + '.') if settled else ''}{(' Events whose command failed (left out): ' + str(s['failed_commands']) + '.') if s.get('failed_commands') else ''}

Targets:

- registration (start -> resolvable) under 2 s: flockport {fmt(f['start_to_resolvable']['median_s'])} s: {met(t['registration_under_2s'])};
- removal (stop -> removed) under 2 s: flockport {fmt(f['stop_to_removed']['median_s'])} s: {met(t['removal_under_2s'])};
- registration at least 2x faster than the polling loop: {ratio(r['start_to_resolvable'])}: {met(t['registration_2x_faster_than_polling'])};
- removal at least 2x faster than the polling loop: {ratio(r['stop_to_removed'])}: {met(t['removal_2x_faster_than_polling'])}.

Per event (s, flockport/polling; * = left out, that arm had not settled before the event): {', '.join(per)}.
{('After the warm-up, s2 had recorded the run of c4 with hooks (hooked/c4, its init pid, its hooks): `' + ' | '.join(hooks) + '`.') if hooks else ''}
"""
    return method, results


def write_md(res):
    s = res["summary"]
    f, c, m = s["flockport"], s["consul-cli"], s["consul-cli-mux"]
    ck = s["check"]

    def met(r, lim):
        if r is None:
            return "not measured"
        return "**met**" if r <= lim else "**not met**"

    def r3(x):
        return f"{fmt(x[0])}..{fmt(x[1])}"
    qrows = []
    for variant, label in (("same", "same name from every socket (the target's measurement)"),
                           ("distinct", "a different name per socket (16 published services)")):
        q = s["qps"].get(variant)
        if not q:
            continue
        qrows.append(f"| {label} | {fmt(q['forwarder'], 0)} (p50 {fmt(q['lat_p50_ms']['forwarder'], 2)} ms, p99 "
                     f"{fmt(q['lat_p99_ms']['forwarder'], 2)} ms) | {fmt(q['direct'], 0)} (p50 "
                     f"{fmt(q['lat_p50_ms']['direct'], 2)} ms, p99 {fmt(q['lat_p99_ms']['direct'], 2)} ms) | "
                     f"{pctf(q['overhead'])} | {pctf(q['overhead_per_round_median'])} | {q['n']} | {q['bad']}/{q['timeouts']} |")
    qs = s["qps"].get("same", {})
    life_method, life_results = life_md(res)
    md = f"""# Service discovery: flockport endpoints against the Consul CLI

Produced by `bench/discovery/run.py` ({res['args']}) on {res['started_utc']} UTC, flockport binary
`{os.path.relpath(FP, ROOT)}` (git {res.get('git', '?')}), {res.get('consul_version', '?')}, {res.get('dnsmasq_version', 'dnsmasq ?')} (forwarder).
Machine: 2 CPUs shared with other work; load (uptime) before: `{res['uptime_before']}`; after:
`{res['uptime_after']}`. Whole run {res.get('run_secs', 0) / 60:.1f} min.
{('**Stopped early: ' + res['stopped_early'] + '**') if res.get('stopped_early') else ''}{(' **Errors: ' + '; '.join(res.get('phase_errors', [])) + (' ' + res['error'] if res.get('error') else '') + '**') if res.get('phase_errors') or res.get('error') else ''}

## Method

Three endpoints made for the run with `flockport addep` (bdisc-1 10.0.4.60 on s1, bdisc-2 10.0.5.60
on s2, bdisc-3 10.0.7.60 on s3; addep took {', '.join(f'{k} {v:.1f} s' for k, v in res.get('addep_s', {}).items())}),
removed at the end with delep. Every DNS query comes from one helper process in s2's network
namespace (hand-made UDP A queries, Python), to s2's dnsmasq forwarder 10.0.5.1:53 unless said
otherwise; "resolvable" means an answer that contains A 10.0.7.20 (c5). The poller sends a query
every 5 ms (one in flight, 250 ms timeout), started before the command. Times between processes
are wall-clock: the lab's servers and containers are namespaces of this kernel, one clock.

1. **Publish -> resolvable on another server** ({f['n']} rounds; the three arms interleaved, order
   rotating per round; one discarded warm-up each; a new service name per sample, removed after it):
   - **flockport**: `flockport pubservice bdfN 10.0.7.20:9000` from this machine (its SSH masters
     persist between invocations, as they do for an operator);
   - **consul-cli**: `consul services register FILE` (service bdcN, 10.0.7.20:9000) inside endpoint
     bdisc-1 (s1), sent through one fresh `ssh` (no master) + `lxc-attach`; the register command
     is timed inside the container (`date +%s.%N`), end to end from this machine (ssh start ->
     resolvable);
   - **consul-cli-mux**: the same, but the ssh goes through an already open multiplexed master to
     s1 (the footing flockport's persisted masters give it).
   Deregistered with `consul services deregister` / `flockport unpubservice` after each sample.
   "return -> resolvable" = first answer with the address minus the command's return (inside the
   container for the Consul CLI); negative = it resolved before the command returned. "wait after
   return" = the same clamped at 0 (what a caller waits once the command is back).
   "end to end" = first answer minus the command's start on this machine.
2. **Failing check -> out of answers** ({ck['n']} samples): a `busybox httpd -f -p 9100` of the
   script's own in c5 (its pid recorded, killed by that pid), the service at 10.0.7.20:9100
   published by both arms at once: `pubservice bdfkN` + `pubcheck bdfkN-tcp tcp 10.0.7.20:9100
   --interval 1` against a Consul service definition bdckN with a tcp check (interval 1s, timeout
   1s) registered in bdisc-1. When both resolve (plus 1.5 s), both names are polled, the listener
   is killed after a random 0.2-1.2 s (so that the kill falls at a random point of the checks' 1 s
   cycle), and each arm's time is its first answer without 10.0.7.20 minus the kill (taken in c5
   right before `kill`). Both arms see the same kill.
3. **DNS queries per second**: one client (Python, one thread), {res['args_d']['concurrency']} UDP sockets with one query
   in flight each, {res['args_d']['qps_secs']} s per sample, forwarder 10.0.5.1:53 against the endpoint bdisc-2
   directly (10.0.5.60:8600), order alternating, {res['args_d']['qps_rounds']} rounds, a 1 s discarded warm-up
   each. Two variants: the same name `bdqps.service.consul` from every socket (as specified), and a
   different name per socket (`bdq0..bdq{res['args_d']['concurrency'] - 1}.service.consul`). overhead = 1 - forwarder/direct.{life_method}

## Results (medians)

### 1. Publish -> resolvable through s2's forwarder

| | flockport `pubservice` | consul-cli (fresh ssh) | consul-cli-mux (ssh master) |
|---|---|---|---|
| command's own time (s) | {fmt(f['cmd_s'])} ({r3(f['cmd_s_range'])}) | {fmt(c['cmd_s'])} in the container; {fmt(c['ssh_cmd_s'])} with ssh+lxc-attach | {fmt(m['cmd_s'])} in the container; {fmt(m['ssh_cmd_s'])} with ssh+lxc-attach |
| return -> resolvable (s, signed) | {fmt(f['ret_to_res_s'])} ({r3(f['ret_to_res_s_range'])}) | {fmt(c['ret_to_res_s'])} ({r3(c['ret_to_res_s_range'])}) | {fmt(m['ret_to_res_s'])} ({r3(m['ret_to_res_s_range'])}) |
| resolved before the command returned | {f['resolved_before_return']}/{f['n']} | {c['resolved_before_return']}/{c['n']} | {m['resolved_before_return']}/{m['n']} |
| wait after return (s, clamped at 0) | {fmt(f['wait_after_return_s'])} | {fmt(c['wait_after_return_s'])} | {fmt(m['wait_after_return_s'])} |
| end to end: command start -> resolvable (s) | {fmt(f['e2e_s'])} ({r3(f['e2e_s_range'])}) | {fmt(c['e2e_s'])} ({r3(c['e2e_s_range'])}) | {fmt(m['e2e_s'])} ({r3(m['e2e_s_range'])}) |
| in-container register start -> resolvable (s) | | {fmt(c['incontainer_e2e_s'])} | {fmt(m['incontainer_e2e_s'])} |
| samples (failed) | {f['n']} ({f['failed']}) | {c['n']} ({c['failed']}) | {m['n']} ({m['failed']}) |

Ratios flockport / consul-cli (target: within 1.2x):

- return -> resolvable: {('both resolvable at (or before) the command returns: the wait after return is ' + fmt(f['wait_after_return_s']) + ' s against ' + fmt(c['wait_after_return_s']) + ' s (poll resolution 5 ms), so the ratio ' + fmt(s['ratio_wait_after_return'], 2) + 'x is of two near-zero numbers; target **met** in substance (nothing left to wait for after either command)') if (f['wait_after_return_s'] or 0) < 0.02 and (c['wait_after_return_s'] or 0) < 0.02 else (fmt(s['ratio_wait_after_return'], 2) + 'x: ' + met(s['ratio_wait_after_return'], 1.2))};
- end to end against the CLI through a fresh ssh: {fmt(s['ratio_e2e'], 2)}x: {met(s['ratio_e2e'], 1.2)};
- end to end against the CLI through an open ssh master: {fmt(s['ratio_e2e_mux'], 2)}x: {met(s['ratio_e2e_mux'], 1.2)};
- end to end against the CLI typed inside the endpoint (no ssh at all): {fmt(s['ratio_e2e_incontainer'], 2)}x: {met(s['ratio_e2e_incontainer'], 1.2)}.

### 2. Failing check -> name out of answers (from the kill)

| flockport (pubcheck, 1 s) | consul-cli (tcp check, 1 s) | flockport / consul-cli | samples |
|---|---|---|---|
| {fmt(ck['flockport_s'])} s ({r3(ck['flockport_range'])}) | {fmt(ck['consul_cli_s'])} s ({r3(ck['consul_cli_range'])}) | {fmt(ck['ratio'], 2)}x | {ck['n']} |

Per sample (s, flockport/consul-cli): {', '.join(f"{fmt(o.get('flockport_s'))}/{fmt(o.get('consul_cli_s'))}" for o in res['check'])}.
(No target was set for this one in the issue.)

### 3. DNS queries per second (answers with 10.0.7.20 per second)

| names | forwarder 10.0.5.1:53 | direct 10.0.5.60:8600 | overhead (1 - fwd/direct, of medians) | per-round overhead (median) | rounds | bad/timeouts |
|---|---|---|---|---|---|---|
""" + "\n".join(qrows) + f"""

Target "at most 10 % overhead" (same name): {met(qs.get('overhead'), 0.10)}.

""" + (("CPU seconds per 10,000 answers (read from /proc of the three agents and s2's dnsmasq during each\n"
        "sample; median over samples):\n\n| names | path | " + " | ".join(cpu_keys(s)) + " | all |\n|---|---|" +
        "---|" * (len(cpu_keys(s)) + 1) + "\n" + cpu_rows(s)) if cpu_keys(s) else "") + life_results + f"""

## Observations

""" + "\n".join(f"- {n}" for n in res.get("notes", [])) + "\n"
    with open(os.path.join(ROOT, "bench/results/discovery.md"), "w") as fh:
        fh.write(md)


def lab_up():
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    names = {l.split()[0] for l in ns.splitlines() if l.strip()}
    return all(s in names for s in ("s1", "s2", "s3"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=12, help="publish samples per arm (default 12)")
    ap.add_argument("--check-rounds", type=int, default=None, help="failing-check samples (default: --rounds)")
    ap.add_argument("--qps-rounds", type=int, default=6)
    ap.add_argument("--qps-secs", type=float, default=4.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--settle", type=float, default=5.0, help="seconds to wait after publishing the qps names")
    ap.add_argument("--deadline", help="HH:MM UTC: stop measuring then, clean up and write what there is")
    ap.add_argument("--notes-file", help="a file of observations (one per line) to put in the .md")
    ap.add_argument("--life-rounds", type=int, default=8,
                    help="container-life rounds (each an lxc-stop and an lxc-start of c4; default 8)")
    ap.add_argument("--only", choices=["life"],
                    help="life: only setup, phase 4 and teardown; merged into the existing .json (the other "
                         "phases' results kept, this phase's replaced) and the .md rewritten from it")
    ap.add_argument("--report-only", action="store_true", help="rewrite the .md from the .json")
    a = ap.parse_args()
    if a.check_rounds is None:
        a.check_rounds = a.rounds
    if a.report_only:
        res = json.load(open(os.path.join(ROOT, "bench/results/discovery.json")))
        if a.notes_file:
            res["notes"] = [l.strip() for l in open(a.notes_file) if l.strip()]
        res["summary"] = summarize(res)
        json.dump(res, open(os.path.join(ROOT, "bench/results/discovery.json"), "w"), indent=1, default=str)
        write_md(res)
        return
    if os.geteuid() != 0:
        sys.exit("bench/discovery: run as root")
    if not lab_up():
        sys.exit("bench/discovery: the lab is not up (network namespaces s1, s2, s3 missing); "
                 "bring it up with tests/lab/lab up first")
    for p in (FP, os.path.join(CONSUL_DIR, "consul"), os.path.join(LAB_OUT, "flockport.toml")):
        if not os.path.exists(p):
            sys.exit(f"bench/discovery: {p} is missing")
    b = Bench(a)
    t_start = time.time()
    res = b.results
    res.update(args=" ".join(sys.argv[1:]) or "defaults", args_d=vars(a),
               started_utc=time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
               uptime_before=run(["uptime"]).stdout.strip())
    res["git"] = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    res["consul_version"] = run([os.path.join(CONSUL_DIR, "consul"), "version"], check=False).stdout.splitlines()[0]
    res["dnsmasq_version"] = " ".join(run(["ip", "netns", "exec", "s2", "dnsmasq", "--version"], check=False)
                                      .stdout.split()[:3])
    b.start_probe()
    try:
        b.setup()
        if a.only == "life":
            log("only phase 4 (--only life)")
            b.life_phase_safe()
        else:
            b.measure()
    except Deadline:
        res["stopped_early"] = f"deadline {a.deadline} UTC reached"
        log(res["stopped_early"])
    except Exception as e:
        res["error"] = repr(e)
        log(f"ERROR: {e!r}")
    except BaseException as e:  # e.g. ^C: clean up all the same, then stop
        res["error"] = repr(e)
        log(f"interrupted: {e!r}")
        raise
    finally:
        b.life_cleanup()  # no-op unless phase 4 left something (e.g. a deadline in its rounds)
        if b.listener is not None:
            b.kill_listener(check=False)
        b.stop_masters()
        log("removing endpoints")
        try:
            b.teardown_eps()
        except Exception as e:
            log(f"teardown: {e!r}")
        try:
            b.send(op="quit")
            b.probe.wait(10)
        except Exception:
            b.probe.kill()
    res["uptime_after"] = run(["uptime"]).stdout.strip()
    res["run_secs"] = time.time() - t_start
    res["remaining_endpoints"] = b.listep()
    # phase 4's own record of the run (what the .md cites when it was measured in a run of its own)
    lr = res["life_run"]
    for k in ("args", "started_utc", "git", "consul_version", "uptime_before", "uptime_after", "run_secs", "addep_s",
              "delep", "remaining_endpoints", "stopped_early", "setup_notes"):
        if k in res:
            lr[k] = res[k]
    if res.get("error") and "error" not in lr:
        lr["error"] = res["error"]
    path = os.path.join(ROOT, "bench/results/discovery.json")
    if a.only == "life" and os.path.exists(path):
        # keep the earlier phases' results, replace this phase's
        out = json.load(open(path))
        for k in ("life", "life_warmup", "life_run"):
            out[k] = res[k]
        out.setdefault("args_d", {})["life_rounds"] = a.life_rounds
        out["phase_errors"] = [e for e in out.get("phase_errors", []) if not e.startswith("life:")]
        if not out["phase_errors"]:
            del out["phase_errors"]
    else:
        out = res
    out["summary"] = summarize(out)
    if a.notes_file:
        out["notes"] = [l.strip() for l in open(a.notes_file) if l.strip()]
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1, default=str)
    write_md(out)
    log(f"summary: {json.dumps(out['summary'] if a.only != 'life' else out['summary']['life'], default=str)}")
    log("wrote bench/results/discovery.md and bench/results/discovery.json")
    if res.get("error") or (a.only == "life" and lr.get("error")):
        sys.exit(1)


if __name__ == "__main__":
    main()
