//! Bad input through the CLI, without LXC. Each case must be refused by the
//! validation it names, before anything else happens:
//!
//! * exit code 2 (a refusal of the input, not 3 for an unreachable server);
//! * the error names the bad value;
//! * the inventory and the state file are byte-identical afterwards;
//! * no server was contacted: the inventory's only server, `s1`, is 127.0.0.1
//!   on the port of a [`ConnectionCounter`], which counts every connection
//!   and closes it at once. Had a command got past its validation, it would
//!   have probed `s1`: a count above zero, and exit 3 (the control test
//!   `a_valid_command_does_reach_the_server` shows both).

use flockport_tests::{cli, write_inventory, ConnectionCounter};
use std::path::{Path, PathBuf};

/// A managed container `c1` and an HAProxy load balancer `ha1` (backend
/// `web1`, port 8080 published), both on `s1`.
const STATE: &str = r#"{
  "schema": 1,
  "containers": {
    "c1": {"server": "s1", "address": "10.0.4.20", "image": "fp-img-base-00000000", "role": "app"},
    "ha1": {"server": "s1", "address": "10.0.4.90", "image": "fp-img-haproxy-00000000", "role": "haproxy-lb"}
  },
  "counters": {"ha": 1},
  "lbs": {
    "ha1": {"name": "ha1", "kind": "haproxy", "server": "s1", "address": "10.0.4.90", "mode": "roundrobin",
            "backends": [{"name": "web1", "host": "10.0.4.20", "port": 80}], "published": [8080]}
  }
}
"#;

/// An inventory with `s1` at the counter's port, and [`STATE`].
struct Cluster {
    dir: tempfile::TempDir,
    inv: PathBuf,
    state: PathBuf,
    counter: ConnectionCounter,
}

impl Cluster {
    fn new() -> Cluster {
        let counter = ConnectionCounter::start();
        let dir = tempfile::tempdir().unwrap();
        let inv = write_inventory(
            dir.path(),
            &format!(
                "[[server]]\nname = \"s1\"\nhost = \"127.0.0.1\"\nport = {}\nsubnet = \"10.0.4.0/24\"\n",
                counter.port
            ),
        );
        let state = dir.path().join("flockport-state.json");
        std::fs::write(&state, STATE).unwrap();
        Cluster { dir, inv, state, counter }
    }

    fn files(&self) -> (Vec<u8>, Vec<u8>) {
        (std::fs::read(&self.inv).unwrap(), std::fs::read(&self.state).unwrap())
    }

    /// Runs `args`; asserts exit 2, `names` in the error, both files
    /// byte-identical, and no connection to `s1`.
    fn refused(&self, args: &[&str], names: &str) {
        let before = self.files();
        let out = cli(&self.inv, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(self.counter.connections(), 0, "{args:?} contacted server s1 before refusing: {err}");
        assert_eq!(out.status.code(), Some(2), "{args:?}: exit code; stderr: {err}");
        assert!(err.contains(names), "{args:?}: the error should name {names:?}: {err}");
        let after = self.files();
        assert!(after.0 == before.0, "{args:?} changed the inventory");
        assert!(after.1 == before.1, "{args:?} changed the state file");
    }
}

/// The control of the tests below: a valid command does contact `s1`, and
/// fails as unreachable (3), so a validation that stopped refusing would be
/// seen.
#[test]
fn a_valid_command_does_reach_the_server() {
    let c = Cluster::new();
    let before = c.files();
    let out = cli(&c.inv, &["addcontainer", "s1", "web2", "--ip", "10.0.4.30"]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(c.counter.connections() > 0, "the counter saw no connection");
    assert!(c.files() == before, "a failed probe changed a file");
}

#[test]
fn addserver_bad_values() {
    let c = Cluster::new();
    let port = c.counter.port.to_string();
    let p = port.as_str();
    let dir = c.dir.path();
    let missing = |name: &str| dir.join("nonexistent").join(name).display().to_string();
    let (key, kh, sc) = (missing("id_rsa"), missing("known_hosts"), missing("ssh_config"));
    let wildcard = dir.join("ssh*config");
    std::fs::write(&wildcard, "").unwrap();
    let wildcard = wildcard.display().to_string();
    for (args, names) in [
        // names::parse_subnet: not CIDR, a prefix past /30, host bits set.
        (vec!["addserver", "s2", "127.0.0.1", "--port", p, "--subnet", "banana"], "banana"),
        (vec!["addserver", "s2", "127.0.0.1", "--port", p, "--subnet", "10.0.5.0/31"], "10.0.5.0/31"),
        (vec!["addserver", "s2", "127.0.0.1", "--port", p, "--subnet", "10.0.5.7/24"], "10.0.5.0/24"),
        // names::check_name on the server's name, the user and the bridge.
        (vec!["addserver", "a;rm -rf /", "127.0.0.1", "--port", p, "--subnet", "10.0.5.0/24"], "a;rm -rf /"),
        (vec!["addserver", "s2", "127.0.0.1", "--port", p, "--subnet", "10.0.5.0/24", "--user", "ro ot"], "ro ot"),
        (vec!["addserver", "s2", "127.0.0.1", "--port", p, "--subnet", "10.0.5.0/24", "--bridge", "br$0"], "br$0"),
        // names::check_host.
        (vec!["addserver", "s2", "$(reboot)", "--port", p, "--subnet", "10.0.5.0/24"], "$(reboot)"),
        // A --local server takes no host; an ssh one needs one.
        (vec!["addserver", "s2", "127.0.0.1", "--local", "--subnet", "10.0.5.0/24"], "127.0.0.1"),
        (vec!["addserver", "s2", "--subnet", "10.0.5.0/24"], "--local"),
        // ServerConfig::check_files: missing identity, known_hosts, ssh_config;
        // an ssh_config path the wrapper could not Include as one file.
        (vec!["addserver", "s2", "127.0.0.1", "--port", p, "--subnet", "10.0.5.0/24", "--key", &key], &key),
        (vec!["addserver", "s2", "127.0.0.1", "--port", p, "--subnet", "10.0.5.0/24", "--known-hosts", &kh], &kh),
        (vec!["addserver", "s2", "127.0.0.1", "--port", p, "--subnet", "10.0.5.0/24", "--ssh-config", &sc], &sc),
        (
            vec!["addserver", "s2", "127.0.0.1", "--port", p, "--subnet", "10.0.5.0/24", "--ssh-config", &wildcard],
            &wildcard,
        ),
        // Inventory::update: a name taken, a subnet taken on the same host.
        (vec!["addserver", "s1", "127.0.0.1", "--port", p, "--subnet", "10.0.9.0/24"], "\"s1\" already exists"),
        (vec!["addserver", "s2", "127.0.0.1", "--port", p, "--subnet", "10.0.4.0/24"], "server s1 already uses it"),
    ] {
        c.refused(&args, names);
    }
}

#[test]
fn container_verbs_bad_values() {
    let c = Cluster::new();
    let src = c.dir.path().join("motd");
    std::fs::write(&src, "hello\n").unwrap();
    let src = src.display().to_string();
    for (args, names) in [
        // Cluster::check_container_spec, before the probe: name, address
        // (parsed, inside the subnet, not the gateway), packages, uniqueness.
        (vec!["addcontainer", "s1", "x$(id)"], "x$(id)"),
        (vec!["addcontainer", "s1", "web1", "--ip", "nope"], "nope"),
        (vec!["addcontainer", "s1", "web1", "--ip", "10.0.5.20"], "10.0.5.20"),
        (vec!["addcontainer", "s1", "web1", "--ip", "10.0.4.1"], "10.0.4.1"),
        (vec!["addcontainer", "s1", "web1", "--packages", "ngi nx"], "ngi nx"),
        (vec!["addcontainer", "s1", "c1"], "\"c1\" already exists"),
        // ImageSpec::with_packages, before the probe.
        (vec!["buildimage", "s1", "--packages", "x;y"], "x;y"),
        // Cluster::locate's name check, before any server is asked.
        (vec!["exec", "c1;reboot", "--", "true"], "c1;reboot"),
        (vec!["startcontainer", "c 1"], "c 1"),
        (vec!["stopcontainer", "$(c1)"], "$(c1)"),
        (vec!["push", "c1;x", &src, "/etc/motd"], "c1;x"),
        // push: the destination path and the mode, before locating.
        (vec!["push", "c1", &src, "etc/motd"], "etc/motd"),
        (vec!["push", "c1", &src, "/etc/motd", "--mode", "99999"], "99999"),
        // del_container: the name, and only managed containers.
        (vec!["delcontainer", "a b"], "a b"),
        (vec!["delcontainer", "web9"], "web9"),
        // del_server: refused while it hosts managed containers.
        (vec!["delserver", "s1"], "c1"),
    ] {
        c.refused(&args, names);
    }
}

#[test]
fn unknown_server_in_any_command() {
    let c = Cluster::new();
    for args in [
        vec!["listcontainers", "nosuch"],
        vec!["addcontainer", "nosuch", "web1"],
        vec!["buildimage", "nosuch"],
        vec!["delserver", "nosuch"],
        vec!["addlb", "haproxy", "nosuch"],
        vec!["pub", "nosuch:ha1", "8081"],
    ] {
        c.refused(&args, "server \"nosuch\" not found");
        let out = cli(&c.inv, &args);
        assert!(String::from_utf8_lossy(&out.stderr).contains("s1"), "{args:?}: lists the known servers");
    }
}

#[test]
fn lb_verbs_bad_values() {
    let c = Cluster::new();
    let dir = c.dir.path();
    let cert = dir.join("nonexistent/cert.pem").display().to_string();
    let key = dir.join("nonexistent/key.pem").display().to_string();
    for (args, names) in [
        // add_lb: kind, name, backends (form, address, port, duplicates),
        // url, Nginx's required url and backend, TLS pair, name taken.
        (vec!["addlb", "traefik", "s1"], "traefik"),
        (vec!["addlb", "haproxy", "s1", "-n", "h;1"], "h;1"),
        (vec!["addlb", "haproxy", "s1", "-b", "10.0.4.20:80"], "10.0.4.20:80"),
        (vec!["addlb", "haproxy", "s1", "-b", "w1:10.0.4.300:80"], "10.0.4.300"),
        (vec!["addlb", "haproxy", "s1", "-b", "w1:10.0.4.20:0"], "w1:10.0.4.20:0"),
        (vec!["addlb", "haproxy", "s1", "-b", "w1:10.0.4.20:80", "-b", "w1:10.0.4.21:80"], "w1"),
        (vec!["addlb", "nginx", "s1", "-u", "http://x.org", "-b", "10.0.4.20:80"], "http://x.org"),
        (vec!["addlb", "nginx", "s1", "-b", "10.0.4.20:80"], "-u URL"),
        (vec!["addlb", "nginx", "s1", "-u", "x.org"], "-b BACKEND"),
        (vec!["addlb", "nginx", "s1", "-u", "x.org", "-b", "bad_host!:80"], "bad_host!"),
        (vec!["addlb", "haproxy", "s1", "-c", &cert, "-k", &key], &cert),
        (vec!["addlb", "haproxy", "s1", "-c", &cert], "-k KEY"),
        (vec!["addlb", "haproxy", "s1", "-n", "ha1"], "\"ha1\" already exists"),
        (vec!["addlb", "haproxy", "s1", "-n", "c1"], "\"c1\" already exists"),
        // add_backends / del_backends: the LB, the backends' form, duplicates.
        (vec!["addbackends", "nosuch", "w2:10.0.4.21:80"], "nosuch"),
        (vec!["addbackends", "ha1", "10.0.4.21:80"], "10.0.4.21:80"),
        (vec!["addbackends", "ha1", "web1:10.0.4.21:80"], "web1"),
        (vec!["addbackends", "ha1", "w2:10.0.4.21:99999"], "99999"),
        (vec!["delbackends", "ha1", "web9"], "web9"),
        (vec!["delbackends", "h a", "web1"], "h a"),
        // set_lb: the setting, its values, the mode for the kind, the url,
        // resolvers, workers, TLS files.
        (vec!["setlb", "ha1", "colour", "red"], "colour"),
        (vec!["setlb", "ha1", "mode", "ip_hash"], "ip_hash"),
        (vec!["setlb", "ha1", "url", "http://x.org"], "http://x.org"),
        (vec!["setlb", "ha1", "resolvers", "10.0.0.300"], "10.0.0.300"),
        (vec!["setlb", "ha1", "workers", "0"], "\"0\""),
        (vec!["setlb", "ha1", "ssl", &cert, &key], &cert),
        (vec!["setlb", "nosuch", "workers", "2"], "nosuch"),
        // publish / unpublish / del_lb: port, server, already published, not published.
        (vec!["pub", "ha1", "0"], "\"0\""),
        (vec!["pub", "ha1", "8080"], "s1:8080"),
        (vec!["unpub", "ha1", "8081"], "8081"),
        (vec!["dellb", "nosuch"], "nosuch"),
        (vec!["dellb", "a;b"], "a;b"),
    ] {
        c.refused(&args, names);
    }
}

#[test]
fn corrupted_state_is_refused_never_overwritten() {
    let c = Cluster::new();
    std::fs::write(&c.state, b"{\"schema\": 1, \"containers\": [oops").unwrap();
    let before = c.files();
    for args in [vec!["delcontainer", "web1"], vec!["addcontainer", "s1", "web1"], vec!["setlb", "ha1", "workers", "2"]]
    {
        let out = cli(&c.inv, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: exit code; stderr: {err}");
        assert!(err.contains("flockport-state.json") && err.contains("corrupted"), "{args:?}: {err}");
        assert!(c.files() == before, "{args:?} changed a file");
        assert_eq!(c.counter.connections(), 0, "{args:?} contacted server s1");
    }
}

#[test]
fn corrupted_inventory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write_inventory(
        dir.path(),
        "[[server]]\nname = \"s1\"\nsubnet = \"10.0.4.0/24\"\ntransport = \"carrier-pigeon\"\n",
    );
    let before = std::fs::read(&inv).unwrap();
    let out = cli(&inv, &["listservers"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {err}");
    assert!(err.contains("carrier-pigeon"), "{err}");
    assert_eq!(std::fs::read(&inv).unwrap(), before);
}

#[test]
fn unreachable_host_is_named_and_others_still_listed() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on a port just freed: a connection there is refused.
    let port = flockport_tests::free_port();
    let inv = write_inventory(
        dir.path(),
        &format!(
            "[[server]]\nname = \"here\"\nsubnet = \"10.0.3.0/24\"\ntransport = \"local\"\nlxcpath = \"/nonexistent-lxcpath\"\n\n[[server]]\nname = \"down1\"\nhost = \"127.0.0.1\"\nport = {port}\nsubnet = \"10.0.4.0/24\"\n"
        ),
    );
    let out = cli(&inv, &["listservers", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let down = rows.iter().find(|r| r["name"] == "down1").unwrap();
    assert_eq!(down["reachable"], false);
    let err = down["error"].as_str().unwrap();
    assert!(err.contains("down1") && err.contains("refused"), "{err}");
    let here = rows.iter().find(|r| r["name"] == "here").unwrap();
    // Listed either way; reachable when LXC is installed here.
    assert!(here["reachable"].is_boolean());
    let table = cli(&inv, &["listservers"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("here") && text.contains("unreachable") && text.contains("down1"), "{text}");
}

#[test]
fn dry_run_changes_nothing_and_json_lists() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write_inventory(dir.path(), "[[server]]\nname = \"here\"\nsubnet = \"10.0.3.0/24\"\ntransport = \"local\"\nlxcpath = \"/nonexistent-lxcpath\"\n");
    let out = cli(&inv, &["addcontainer", "here", "web1", "--dry-run", "--json"]);
    if !out.status.success() {
        // Without LXC on this machine the probe fails; nothing else to check.
        assert!(String::from_utf8_lossy(&out.stderr).contains("LXC"), "{}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["executed"], false);
    assert_eq!(v["record"]["address"], "10.0.3.100");
    let argv0: Vec<&str> =
        v["plan"]["steps"].as_array().unwrap().iter().filter_map(|s| s["argv"][0].as_str()).collect();
    assert_eq!(argv0, ["lxc-create", "lxc-copy", "sed", "sh", "lxc-start", "lxc-wait"]);
    assert!(!dir.path().join("flockport-state.json").exists());
    assert!(!Path::new("/nonexistent-lxcpath").exists());
}
