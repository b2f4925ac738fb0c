//! known_hosts is never modified (ARCHITECTURE.md, "Host keys are checked
//! strictly"). The loopback sshd here has ed25519, ECDSA and RSA host keys
//! while its known_hosts lists only the ed25519 one: an ssh client with
//! `UpdateHostKeys` on adds the other two to the file once it has
//! authenticated the server (the control test shows that it does, against
//! the same kind of server). Each test connects through the CLI where
//! something asks ssh for key updates, and asserts that the file is
//! byte-identical afterwards.
//!
//! Without an ssh_config file in the inventory, ssh reads the user's
//! `~/.ssh/config` and, without `known_hosts` in the inventory, uses
//! `~/.ssh/known_hosts`, where ssh's own default is to update keys. Those
//! tests run the CLI in a private mount namespace with a temporary directory
//! bind-mounted over the home directory (`unshare`, as root), so the real
//! home is neither read nor written.

use flockport_tests::{cli, flockport_bin, skip, write_inventory, Sshd};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long ssh gets to write the file: the update happens in the master,
/// right after authentication (the control sees it within milliseconds).
const SETTLE: Duration = Duration::from_secs(3);

fn sshd() -> Option<Sshd> {
    Sshd::start_with_host_keys(&["ed25519", "ecdsa", "rsa"])
}

/// `path`'s contents once they differ from `before`, waiting up to [`SETTLE`];
/// `None` if they stayed the same.
fn changed_within(path: &Path, before: &[u8]) -> Option<Vec<u8>> {
    let started = Instant::now();
    loop {
        let now = std::fs::read(path).unwrap();
        if now != before {
            return Some(now);
        }
        if started.elapsed() > SETTLE {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Fails if `path` changes from `before` within [`SETTLE`].
fn assert_unchanged(path: &Path, before: &[u8]) {
    if let Some(now) = changed_within(path, before) {
        panic!(
            "flockport modified {}:\n--- before\n{}--- after\n{}",
            path.display(),
            String::from_utf8_lossy(before),
            String::from_utf8_lossy(&now)
        );
    }
}

fn inventory(sshd: &Sshd, known_hosts: Option<&Path>, ssh_config: Option<&Path>) -> String {
    let mut s = format!(
        "[[server]]\nname = \"lo\"\nhost = \"127.0.0.1\"\nport = {}\nidentity = \"{}\"\nsubnet = \"10.0.3.0/24\"\n",
        sshd.port,
        sshd.client_key().display()
    );
    if let Some(kh) = known_hosts {
        s.push_str(&format!("known_hosts = \"{}\"\n", kh.display()));
    }
    if let Some(c) = ssh_config {
        s.push_str(&format!("ssh_config = \"{}\"\n", c.display()));
    }
    s
}

/// Asserts that `listservers` authenticated the server (the probe ran: a
/// reachable row, or LXC missing on this machine).
fn assert_connected(out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    let row = &rows[0];
    let why = row["error"].as_str().unwrap_or_default();
    assert!(row["reachable"] == true || why.contains("LXC is not installed"), "not connected: {why} {err}");
}

/// A copy of the sshd's known_hosts (ed25519 only) at `path`; its bytes.
fn copy_known_hosts(sshd: &Sshd, path: &Path) -> Vec<u8> {
    std::fs::copy(sshd.known_hosts(), path).unwrap();
    std::fs::read(path).unwrap()
}

/// The CLI run with `home` over the user's home directory, in a private mount
/// namespace; `None` (skipping) where one cannot be made.
fn cli_with_home(home: &Path, inv: &Path, args: &[&str]) -> Option<Output> {
    let works = Command::new("unshare").args(["--mount", "--propagation", "private", "true"]).status();
    if !works.is_ok_and(|s| s.success()) {
        skip("cannot make a private mount namespace (unshare --mount needs root)");
        return None;
    }
    // ssh finds `~` through the password database, not $HOME.
    let script = r#"h=$(getent passwd "$(id -u)" | cut -d: -f6) && [ -d "$h" ] && mount --bind "$1" "$h" || exit 99
shift; exec "$@""#;
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(home)
        .arg(flockport_bin())
        .arg("--config")
        .arg(inv)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    println!(
        "$ (home {}) flockport {} -> {:?}\n{}{}",
        home.display(),
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(99), "cannot bind-mount a home directory");
    Some(out)
}

/// The control: plain ssh with `UpdateHostKeys yes` does add the server's
/// other keys to a known_hosts file listing one, so the tests below would
/// see a modification.
#[test]
fn control_ssh_with_update_host_keys_adds_the_other_keys() {
    let Some(sshd) = sshd() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    let before = copy_known_hosts(&sshd, &kh);
    let out = Command::new("ssh")
        .args(["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UpdateHostKeys=yes"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", kh.display()))
        .arg("-i")
        .arg(sshd.client_key())
        .args(["-p", &sshd.port.to_string(), "root@127.0.0.1", "true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = changed_within(&kh, &before).expect("ssh did not update the known_hosts file");
    let after = String::from_utf8_lossy(&after);
    assert!(after.contains("ecdsa-sha2-nistp256") && after.contains("ssh-rsa"), "{after}");
}

/// An inventory ssh_config file asking for key updates: the wrapper's
/// `UpdateHostKeys no` comes first and wins.
#[test]
fn known_hosts_unchanged_when_the_ssh_config_file_asks_for_key_updates() {
    let Some(sshd) = sshd() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    let before = copy_known_hosts(&sshd, &kh);
    let config = dir.path().join("ssh_config");
    std::fs::write(&config, "UpdateHostKeys yes\n").unwrap();
    let inv = write_inventory(dir.path(), &inventory(&sshd, Some(&kh), Some(&config)));
    assert_connected(&cli(&inv, &["listservers", "--json"]));
    assert_unchanged(&kh, &before);
    drop(sshd);
}

/// `listservers` with no ssh_config file in the inventory, run with a
/// private home whose `~/.ssh/config` is `user_config`; known_hosts is the
/// inventory's (`in_inventory`) or else `~/.ssh/known_hosts`. Asserts the
/// known_hosts file in use unchanged.
fn unchanged_with_a_private_home(user_config: Option<&str>, in_inventory: bool) {
    let Some(sshd) = sshd() else { return };
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    if let Some(text) = user_config {
        std::fs::write(home.join(".ssh/config"), text).unwrap();
    }
    let kh = if in_inventory { dir.path().join("known_hosts") } else { home.join(".ssh/known_hosts") };
    let before = copy_known_hosts(&sshd, &kh);
    let inv = write_inventory(dir.path(), &inventory(&sshd, in_inventory.then_some(kh.as_path()), None));
    let Some(out) = cli_with_home(&home, &inv, &["listservers", "--json"]) else { return };
    assert_connected(&out);
    assert_unchanged(&kh, &before);
    drop(sshd);
}

/// No ssh_config file in the inventory: ssh reads the user's ~/.ssh/config,
/// which asks for key updates; the inventory's known_hosts must stay as it is.
#[test]
fn known_hosts_unchanged_when_the_users_ssh_config_asks_for_key_updates() {
    unchanged_with_a_private_home(Some("UpdateHostKeys yes\n"), true);
}

/// No known_hosts in the inventory: the server's key is in the user's
/// ~/.ssh/known_hosts, for which ssh updates keys by default.
#[test]
fn default_known_hosts_unchanged() {
    unchanged_with_a_private_home(None, false);
}
