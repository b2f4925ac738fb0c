//! Shared helpers of the end-to-end tests: finding the `flockport` binary,
//! finding the lab (and refusing to send packets when it is not up), and a
//! throwaway sshd on loopback.
//!
//! Tests that need the lab call [`lab`]: without it they skip with a message
//! naming `tests/lab/lab up`, unless `FLOCKPORT_LAB=required`, where a missing
//! lab is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, missing_docs)]

pub mod discovery;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The `flockport` binary: `$FLOCKPORT_BIN`, else `target/debug/flockport`
/// (built by README's test command before `cargo test`).
pub fn flockport_bin() -> PathBuf {
    // Found and checked once per test binary (every CLI call asks).
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(find_flockport_bin).clone()
}

fn find_flockport_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("FLOCKPORT_BIN") {
        return PathBuf::from(p);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"));
    let p = target.join("debug/flockport");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build -p flockport-cli` first (README's test command does)",
        p.display()
    );
    // `cargo test -p flockport-tests` does not rebuild the CLI: refuse to test an old one.
    let built = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
    let root = workspace_root();
    let newest = ["flockport-core/src", "flockport-core/templates", "flockport-cli/src"]
        .iter()
        .filter_map(|d| newest_mtime(&root.join(d)))
        .max();
    if let (Some(built), Some(newest)) = (built, newest) {
        assert!(
            built >= newest,
            "{} is older than the sources: run `cargo build -p flockport-cli` first (README's test command does)",
            p.display()
        );
    }
    p
}

fn newest_mtime(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() { newest_mtime(&path) } else { entry.metadata().and_then(|m| m.modified()).ok() };
        newest = newest.max(t);
    }
    newest
}

/// Runs the CLI with `--config config` and `args`.
pub fn cli(config: &Path, args: &[&str]) -> Output {
    let out =
        Command::new(flockport_bin()).arg("--config").arg(config).args(args).env_remove("RUST_LOG").output().unwrap();
    println!(
        "$ flockport {} -> {:?}\n{}{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Whether a missing lab (or missing LXC/root) must fail instead of skip.
pub fn required() -> bool {
    std::env::var("FLOCKPORT_LAB").is_ok_and(|v| v == "required")
}

/// Skips (returns false) or, when required, fails.
pub fn skip(why: &str) -> bool {
    assert!(!required(), "FLOCKPORT_LAB=required but {why}");
    println!("SKIP: {why}");
    false
}

/// Root with LXC installed and the host's lxcbr0 up (for local-transport tests).
pub fn local_lxc_ready() -> bool {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    if !root {
        return skip("not root: local LXC tests need root");
    }
    if Command::new("lxc-ls").arg("--version").output().map(|o| !o.status.success()).unwrap_or(true) {
        return skip("LXC is not installed (apt-get install lxc)");
    }
    if !Path::new("/sys/class/net/lxcbr0").exists() {
        return skip("lxcbr0 is down: run /usr/libexec/lxc/lxc-net start");
    }
    true
}

/// The lab, found through its inventory.
#[derive(Debug, Clone)]
pub struct Lab {
    /// tests/lab/out/flockport.toml
    pub inventory: PathBuf,
}

/// The lab if it is up: inventory present, namespaces s1-s3 present and the
/// container subnets routed to lab0 (so no packet can leave the machine).
pub fn lab() -> Option<Lab> {
    let inventory = workspace_root().join("tests/lab/out/flockport.toml");
    if !inventory.exists() {
        skip("the lab is not up (no tests/lab/out/flockport.toml): run `tests/lab/lab up`");
        return None;
    }
    let ns = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    for s in ["s1", "s2", "s3"] {
        if !ns.lines().any(|l| l.split_whitespace().next() == Some(s)) {
            skip(&format!("lab namespace {s} is missing: run `tests/lab/lab up`"));
            return None;
        }
    }
    for addr in ["192.168.122.11", "10.0.4.20", "10.0.5.20", "10.0.7.20"] {
        let r = Command::new("ip")
            .args(["route", "get", addr])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if !r.contains("dev lab0") {
            skip(&format!("{addr} is not routed to lab0 ({}): run `tests/lab/lab up`", r.trim()));
            return None;
        }
    }
    Some(Lab { inventory })
}

/// An sshd on 127.0.0.1 with generated host and client keys, killed (by its
/// pid) on drop.
#[derive(Debug)]
pub struct Sshd {
    pub port: u16,
    pub dir: tempfile::TempDir,
    pid: u32,
}

impl Sshd {
    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("id_ed25519")
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// An inventory `[[server]]` block `lo` for this sshd with its client
    /// key, `known_hosts` as given, and `extra` lines (e.g. `ssh_config = ...`).
    pub fn server_toml(&self, known_hosts: &Path, extra: &str) -> String {
        format!(
            "[[server]]\nname = \"lo\"\nhost = \"127.0.0.1\"\nport = {}\nidentity = \"{}\"\nknown_hosts = \"{}\"\nsubnet = \"10.0.3.0/24\"\n{extra}",
            self.port,
            self.client_key().display(),
            known_hosts.display()
        )
    }

    /// Starts sshd with an ed25519 host key; returns None (skipping) when
    /// there is no sshd.
    pub fn start() -> Option<Sshd> {
        Sshd::start_with_host_keys(&["ed25519"])
    }

    /// Like [`Sshd::start`], and the server also has host keys of the
    /// `extra` types (`ssh-keygen -t`), which it offers after authentication
    /// (OpenSSH's hostkeys-00 extension) but which are not in `known_hosts`.
    pub fn start_offering(extra: &[&str]) -> Option<Sshd> {
        let types: Vec<&str> = std::iter::once("ed25519").chain(extra.iter().copied()).collect();
        Sshd::start_with_host_keys(&types)
    }

    /// Starts sshd with a host key of each of `types` (ssh-keygen's `-t`:
    /// `ed25519`, `ecdsa`, `rsa`); [`Sshd::known_hosts`] lists only the
    /// first, so a client that updates host keys (ssh's `UpdateHostKeys`)
    /// would add the others. Returns None (skipping) when there is no sshd.
    pub fn start_with_host_keys(types: &[&str]) -> Option<Sshd> {
        if !Path::new("/usr/sbin/sshd").exists() {
            skip("no /usr/sbin/sshd (apt-get install openssh-server)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let keys: Vec<(String, &str, &str)> = types
            .iter()
            .map(|t| (format!("host_{t}"), *t, "host"))
            .chain([("id_ed25519".to_string(), "ed25519", "client")])
            .collect();
        for (name, kind, comment) in &keys {
            let st = Command::new("ssh-keygen")
                .args(["-q", "-t", kind, "-N", "", "-C", comment, "-f"])
                .arg(d.join(name))
                .status()
                .unwrap();
            assert!(st.success());
        }
        std::fs::copy(d.join("id_ed25519.pub"), d.join("authorized_keys")).unwrap();
        let port = free_port();
        let host_pub = std::fs::read_to_string(d.join(format!("host_{}.pub", types[0]))).unwrap();
        let mut parts = host_pub.split_whitespace();
        let kh = format!("[127.0.0.1]:{port} {} {}\n", parts.next().unwrap(), parts.next().unwrap());
        std::fs::write(d.join("known_hosts"), kh).unwrap();
        std::fs::create_dir_all("/run/sshd").ok();
        let host_keys: String =
            types.iter().map(|t| format!("HostKey {}\n", d.join(format!("host_{t}")).display())).collect();
        let conf = format!(
            "Port {port}\nListenAddress 127.0.0.1\n{host_keys}PermitRootLogin prohibit-password\nPubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nAuthorizedKeysFile {ak}\nPidFile {pid}\nSubsystem sftp internal-sftp\n",
            ak = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        );
        std::fs::write(d.join("sshd_config"), conf).unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(d.join("sshd_config"))
            .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        let pid = child.id();
        std::mem::forget(child);
        // Wait until it listens.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Sshd { port, dir, pid });
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("sshd did not start: {}", std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default());
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "i=0; while kill -0 {} 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done",
                self.pid
            ))
            .status();
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

/// A TCP listener on 127.0.0.1 that counts every connection made to it and
/// closes each at once. A server at 127.0.0.1 on its port makes any contact
/// visible (`connections()`), and makes it fail fast as unreachable (exit 3):
/// what bad-input tests use to show that no server was contacted. Stops when
/// dropped.
#[derive(Debug)]
pub struct ConnectionCounter {
    /// The port it listens on.
    pub port: u16,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ConnectionCounter {
    /// Binds a free loopback port and starts counting.
    pub fn start() -> ConnectionCounter {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = std::sync::Arc::new(AtomicUsize::new(0));
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (count2, stop2) = (count.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                // Counted before it is closed: a client that sees the close
                // (and exits) has been counted.
                count2.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        ConnectionCounter { port, count, stop, thread: Some(thread) }
    }

    /// How many connections were made so far.
    pub fn connections(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for ConnectionCounter {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop, which sees `stop` and ends (not counted).
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes an inventory file into `dir` and returns its path.
pub fn write_inventory(dir: &Path, toml: &str) -> PathBuf {
    let p = dir.join("flockport.toml");
    std::fs::write(&p, toml).unwrap();
    p
}

/// A copy of the lab inventory with its own state file, so a test's state is
/// its own (the servers are the lab's).
pub fn lab_inventory_copy(lab: &Lab) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&lab.inventory).unwrap();
    let text: String = text.lines().filter(|l| !l.starts_with("state")).map(|l| format!("{l}\n")).collect();
    let p = write_inventory(dir.path(), &text);
    (dir, p)
}

/// HTTP GET with curl (lab addresses only; callers check the lab first).
/// Returns (status, body); status 0 when the request failed.
pub fn http_get(url: &str, extra: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "5", "-o", "-", "-w", "\n%{http_code}"])
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    let code = code.trim().parse().unwrap_or(0);
    if code == 0 {
        // No HTTP answer: the body is curl's reason, for the assertion message.
        return (0, format!("curl: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    (code, body.trim().to_string())
}

/// Runs the CLI and parses its JSON stdout (asserting success).
pub fn cli_json(config: &Path, args: &[&str]) -> serde_json::Value {
    let out = cli(config, args);
    assert!(out.status.success(), "flockport {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs the CLI and asserts success.
pub fn cli_ok(config: &Path, args: &[&str]) -> String {
    let out = cli(config, args);
    assert!(out.status.success(), "flockport {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A DNS responder for lab tests: answers A queries for the names it was
/// given, NXDOMAIN for any other name, on a UDP address of the lab (the host's
/// end of `lab0`, 192.168.122.1). Written out (about 40 lines of the wire
/// format) rather than pulling a DNS server crate into the test package: it
/// answers one question per datagram and nothing else. Stops when dropped.
pub struct TinyDns {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// How many queries it answered.
    pub answered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl TinyDns {
    /// Binds `addr` (e.g. "192.168.122.1:53") and serves `records` (name -> IPv4).
    pub fn start(addr: &str, records: &[(&str, std::net::Ipv4Addr)]) -> std::io::Result<TinyDns> {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let sock = std::net::UdpSocket::bind(addr)?;
        sock.set_read_timeout(Some(std::time::Duration::from_millis(100)))?;
        let records: Vec<(String, std::net::Ipv4Addr)> =
            records.iter().map(|(n, ip)| (n.trim_end_matches('.').to_ascii_lowercase(), *ip)).collect();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let answered = std::sync::Arc::new(AtomicUsize::new(0));
        let (stop2, answered2) = (stop.clone(), answered.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !stop2.load(Ordering::Relaxed) {
                let Ok((n, peer)) = sock.recv_from(&mut buf) else { continue };
                if let Some(reply) = dns_reply(&buf[..n], &records) {
                    let _ = sock.send_to(&reply, peer);
                    answered2.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Ok(TinyDns { stop, thread: Some(thread), answered })
    }
}

impl Drop for TinyDns {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The answer to one DNS query (RFC 1035 wire format), or None if it is not one.
fn dns_reply(q: &[u8], records: &[(String, std::net::Ipv4Addr)]) -> Option<Vec<u8>> {
    if q.len() < 12 || q[2] & 0x80 != 0 || u16::from_be_bytes([q[4], q[5]]) != 1 {
        return None;
    }
    let (mut i, mut labels) = (12, Vec::new());
    while *q.get(i)? != 0 {
        let len = q[i] as usize;
        labels.push(String::from_utf8_lossy(q.get(i + 1..i + 1 + len)?).to_ascii_lowercase());
        i += 1 + len;
    }
    let end = i + 5; // the zero label, QTYPE, QCLASS
    let qtype = u16::from_be_bytes([*q.get(i + 1)?, *q.get(i + 2)?]);
    let found = records.iter().find(|(n, _)| *n == labels.join(".")).map(|(_, ip)| *ip);
    let mut r = q[..2].to_vec(); // ID
    let rcode = if found.is_some() { 0 } else { 3 };
    r.extend_from_slice(&[0x84 | (q[2] & 0x01), 0x80 | rcode, 0, 1]); // QR AA RD, RA rcode, QDCOUNT 1
    let answers = u8::from(found.is_some() && qtype == 1);
    r.extend_from_slice(&[0, answers, 0, 0, 0, 0]);
    r.extend_from_slice(q.get(12..end)?);
    if let (Some(ip), 1) = (found, answers) {
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4]); // name ptr, A, IN, TTL 5, len 4
        r.extend_from_slice(&ip.octets());
    }
    Some(r)
}

/// Serialises the creation of containers whose address flockport picks on
/// one lab server. Tests run in parallel, each with its own copy of the lab's
/// state (`lab_inventory_copy`), so two plans could pick the same free
/// address; flockport assumes one state file per cluster. Hold the returned
/// lock across `addlb` / `addcontainer` (it is released on drop).
pub fn server_lock(server: &str) -> std::fs::File {
    use fs4::fs_std::FileExt;
    let path = std::env::temp_dir().join(format!("flockport-lab-{server}.lock"));
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).unwrap();
    FileExt::lock_exclusive(&file).unwrap();
    file
}

/// Runs `flockport --config INVENTORY VERB NAME` when dropped (a test's
/// clean-up, also on failure): `Cleanup::new(inv, "dellb", "ha1")`.
pub struct Cleanup(PathBuf, Vec<String>);

impl Cleanup {
    /// The clean-up of `name` with the delete verb `verb`.
    pub fn new(inventory: &Path, verb: &'static str, name: impl Into<String>) -> Self {
        Cleanup(inventory.to_path_buf(), vec![verb.to_string(), name.into()])
    }
    /// The clean-up `flockport ARGS...` (e.g. `deldb NAME --yes`).
    pub fn args(inventory: &Path, args: &[&str]) -> Self {
        Cleanup(inventory.to_path_buf(), args.iter().map(|s| s.to_string()).collect())
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new(flockport_bin()).arg("--config").arg(&self.0).args(&self.1).output();
    }
}

/// Runs `flockport --config INVENTORY ARGS...` and sends it SIGINT (as
/// Ctrl-C does) when a line of its stderr contains `at`; returns its exit
/// code, whether the signal was sent, and its stderr lines.
pub fn interrupt_when(inventory: &Path, args: &[&str], at: &str) -> (Option<i32>, bool, Vec<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(flockport_bin())
        .arg("--config")
        .arg(inventory)
        .args(args)
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let mut seen = Vec::new();
    let mut sent = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        println!("{}: {line}", args.first().copied().unwrap_or_default());
        if !sent && line.contains(at) {
            assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
            sent = true;
        }
        seen.push(line);
    }
    let status = child.wait().unwrap();
    (status.code(), sent, seen)
}
