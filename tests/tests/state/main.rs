//! State for teams, on the lab with a real Consul: the state in Consul KV
//! shared by two operators (two inventories in two directories), the
//! session lock and check-and-set under 20 concurrent changes, a holder
//! killed with SIGKILL, the leader endpoint stopped, and `state migrate`
//! both ways byte for byte.
//!
//! A binary of its own: cargo runs test binaries one at a time, and this one
//! runs a Consul cluster on the lab (one at a time) and stops its leader.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, missing_docs)]

use flockport_core::state::consul::ConsulStateStore;
use flockport_core::transport::{DefaultTransportFactory, TransportPool};
use flockport_tests::discovery::{consul_on_path, on_server, wait_for};
use flockport_tests::{cli, cli_json, cli_ok, flockport_bin, interrupt_when, lab, lab_inventory_copy};
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ENDPOINTS: [(&str, &str); 3] = [("s1", "10.0.4.10"), ("s2", "10.0.5.10"), ("s3", "10.0.7.10")];
/// The lab's own containers (not flockport's).
const LAB_CONTAINERS: [&str; 5] = ["c1", "c2", "c3", "c4", "c5"];

fn dir_of(inv: &Path) -> PathBuf {
    inv.parent().unwrap().to_path_buf()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_default()
}

/// The state as operator `inv` sees it, through the library (either store).
fn state_of(inv: &Path) -> flockport_core::state::State {
    let c = flockport_core::Cluster::open(Some(inv)).unwrap();
    c.state_blocking().unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A new operator's directory: `files` copied from `from` (mode kept 0600).
fn operator(from: &Path, files: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        std::fs::copy(from.join(f), dir.path().join(f)).unwrap();
        std::fs::set_permissions(dir.path().join(f), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let inv = dir.path().join("flockport.toml");
    (dir, inv)
}

/// Containers on the lab's servers (name -> (server, address)), images and
/// the lab's own left out.
fn on_servers(inv: &Path) -> BTreeMap<String, (String, String)> {
    let v = cli_json(inv, &["listcontainers", "--json"]);
    v.as_array()
        .unwrap()
        .iter()
        .filter(|c| !LAB_CONTAINERS.contains(&c["name"].as_str().unwrap_or_default()))
        .map(|c| {
            let addr = c["ipv4"].as_array().and_then(|a| a.first()).and_then(|a| a.as_str()).unwrap_or_default();
            (c["name"].as_str().unwrap().to_string(), (c["server"].as_str().unwrap().to_string(), addr.to_string()))
        })
        .collect()
}

/// What the state says exists: plain and service containers.
fn in_state(st: &flockport_core::state::State) -> BTreeMap<String, (String, String)> {
    let plain = st.containers.iter().map(|(n, c)| (n.clone(), (c.server.clone(), c.address.to_string())));
    let services = st.services().map(|s| (s.name.clone(), (s.server.clone(), s.address.to_string())));
    plain.chain(services).collect()
}

/// Puts the lab back also when the test fails: the stopped leader started,
/// the state moved back to a file, what the test made removed, endpoints
/// deleted.
struct Restore {
    inv: PathBuf,
    stopped: std::cell::RefCell<Option<(String, String)>>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some((server, name)) = self.stopped.borrow_mut().take() {
            let _ = on_server(&server, &format!("lxc-start -n {name}"));
            std::thread::sleep(Duration::from_secs(3));
        }
        let run = |args: &[&str]| Command::new(flockport_bin()).arg("--config").arg(&self.inv).args(args).output();
        let _ = run(&["state", "migrate", "--to", "file"]);
        let Ok(c) = flockport_core::Cluster::open(Some(&self.inv)) else { return };
        let Ok(st) = c.state_blocking() else { return };
        for name in st.lbs.keys() {
            let _ = run(&["dellb", name]);
        }
        for name in st.containers.keys() {
            let _ = run(&["delcontainer", name]);
        }
        for name in st.eps.keys() {
            let _ = run(&["delep", name, "--force"]);
        }
        // Containers of this test's names the state does not hold (the
        // killed run's, if its clone had begun; a failed run's).
        for s in ["s1", "s2", "s3"] {
            let _ = on_server(
                s,
                "for n in $(lxc-ls -1 | grep -E '^(w[0-9]+|lb[0-9]+|killed|intr|after-kill|leaderless|never|nope)$'); do \
                 lxc-stop -k -n \"$n\"; lxc-destroy -f -n \"$n\"; done; true",
            );
        }
    }
}

#[test]
fn two_operators_share_the_state_in_consul() {
    let Some(lab) = lab() else { return };
    if !consul_on_path() {
        return;
    }
    let (_a, inv_a) = lab_inventory_copy(&lab);
    let dir_a = dir_of(&inv_a);
    let restore = Restore { inv: inv_a.clone(), stopped: Default::default() };
    for (server, ip) in ENDPOINTS {
        let a = cli_json(&inv_a, &["addep", server, ip, "--json"]);
        assert!(a["executed"].as_bool().unwrap_or(false), "{a}");
    }
    let file = dir_a.join("flockport-state.json");
    let original = read(&file);
    let original_inv = read(&inv_a);
    assert!(!original.is_empty());

    // Bad input: named, non-zero, nothing changed.
    for (args, named) in
        [(vec!["state", "migrate", "--to", "etcd"], "etcd"), (vec!["state", "migrate", "--to", "file"], "already")]
    {
        let out = cli(&inv_a, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(named), "{args:?}: {}", stderr(&out));
        assert_eq!((read(&file), read(&inv_a)), (original.clone(), original_inv.clone()), "{args:?} changed nothing");
    }
    // A dry run changes nothing either.
    let plan = cli_ok(&inv_a, &["state", "migrate", "--to", "consul", "--dry-run"]);
    assert!(plan.contains("Consul KV flockport/state") && plan.contains("flockport-state.token"), "{plan}");
    assert_eq!((read(&file), read(&inv_a)), (original.clone(), original_inv.clone()));
    assert!(!dir_a.join("flockport-state.token").exists());

    // Operators B (the same state, to join) and C (a different one), as they were before the move.
    let (_b, inv_b) = operator(&dir_a, &["flockport.toml", "flockport-state.json"]);
    let (_c, inv_c) = operator(&dir_a, &["flockport.toml", "flockport-state.json"]);
    let c_file = dir_of(&inv_c).join("flockport-state.json");
    let mut differs: serde_json::Value = serde_json::from_slice(&original).unwrap();
    differs["counters"]["other-operator"] = 1.into();
    std::fs::write(&c_file, serde_json::to_vec_pretty(&differs).unwrap()).unwrap();

    // A moves it to Consul, and back, byte for byte, and to Consul again.
    let moved = cli_json(&inv_a, &["state", "migrate", "--to", "consul", "--json"]);
    assert_eq!((moved["executed"].as_bool(), moved["record"]["wrote"].as_bool()), (Some(true), Some(true)), "{moved}");
    let token = dir_a.join("flockport-state.token");
    assert_eq!(std::fs::metadata(&token).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!file.exists(), "the file is moved aside");
    let inv_text = String::from_utf8(read(&inv_a)).unwrap();
    assert!(inv_text.contains("backend = \"consul\"") && inv_text.contains("10.0.5.10"), "{inv_text}");
    assert!(!inv_text.contains(&String::from_utf8(read(&token)).unwrap()), "the token is not in the inventory");
    assert_eq!(state_of(&inv_a), state_of(&inv_b), "the same state, read from Consul");
    cli_ok(&inv_a, &["state", "migrate", "--to", "file"]);
    assert_eq!(read(&file), original, "consul -> file gives back the file byte for byte");
    cli_ok(&inv_a, &["state", "migrate", "--to", "consul"]);

    // B joins (the same state; A's token file); C is refused and keeps its own.
    std::fs::copy(&token, dir_of(&inv_b).join("flockport-state.token")).unwrap();
    let joined = cli_json(&inv_b, &["state", "migrate", "--to", "consul", "--json"]);
    assert_eq!(joined["record"]["wrote"].as_bool(), Some(false), "B found its state there: {joined}");
    std::fs::copy(&token, dir_of(&inv_c).join("flockport-state.token")).unwrap();
    let (c_before, c_inv_before) = (read(&c_file), read(&inv_c));
    let refused = cli(&inv_c, &["state", "migrate", "--to", "consul"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("different state"), "{}", stderr(&refused));
    assert_eq!((read(&c_file), read(&inv_c)), (c_before, c_inv_before), "C unchanged");

    // A token file others can read is refused, naming the fix.
    let (_d, inv_d) = operator(&dir_a, &["flockport.toml", "flockport-state.token"]);
    std::fs::set_permissions(dir_of(&inv_d).join("flockport-state.token"), std::fs::Permissions::from_mode(0o644))
        .unwrap();
    let out = cli(&inv_d, &["addcontainer", "s1", "never"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));

    // 20 concurrent changes split between A and B: none lost, no address twice.
    let started = Instant::now();
    let runs: Vec<_> = (1..=20)
        .map(|i| {
            let inv = if i % 2 == 0 { inv_a.clone() } else { inv_b.clone() };
            let server = format!("s{}", i % 3 + 1);
            let args: Vec<String> = if i % 5 == 0 {
                ["addlb", "haproxy", &server, "-n", &format!("lb{i}")].map(String::from).to_vec()
            } else {
                ["addcontainer", &server, &format!("w{i}")].map(String::from).to_vec()
            };
            std::thread::spawn(move || {
                let out = Command::new(flockport_bin()).arg("--config").arg(&inv).args(&args).output().unwrap();
                (args, out)
            })
        })
        .collect();
    let mut waited = 0;
    for r in runs {
        let (args, out) = r.join().unwrap();
        let err = stderr(&out);
        waited += usize::from(err.contains("waiting for the state lock in Consul KV flockport/state held by pid"));
        assert!(out.status.success(), "{args:?}: {err}");
    }
    println!("20 concurrent changes in {:.1} s; {waited} of them waited for the lock", started.elapsed().as_secs_f64());
    assert!(waited > 0, "with 20 at once some must have waited (and said for whom)");
    let st = state_of(&inv_a);
    assert_eq!(st, state_of(&inv_b));
    let names: BTreeSet<String> =
        (1..=20).map(|i| if i % 5 == 0 { format!("lb{i}") } else { format!("w{i}") }).collect();
    let recorded = in_state(&st);
    assert!(names.iter().all(|n| recorded.contains_key(n)), "every change is in the state: {recorded:?}");
    let addresses: BTreeSet<&String> = recorded.values().map(|(_, a)| a).collect();
    assert_eq!(addresses.len(), recorded.len(), "no address twice: {recorded:?}");
    assert_eq!(on_servers(&inv_a), recorded, "the state lists exactly what runs on the servers");

    // A failed run and an interrupted one release the lock at once: the next waits for nobody.
    let no_wait = |what: &str| {
        let t = Instant::now();
        let out = cli(&inv_b, &["addcontainer", "s1", "w1", "--dry-run"]);
        assert!(!stderr(&out).contains("waiting for the state lock"), "{what}: {}", stderr(&out));
        assert!(t.elapsed() < Duration::from_secs(5), "{what}: {:?}", t.elapsed());
    };
    let out = cli(&inv_a, &["addcontainer", "s1", "w1"]);
    assert_eq!(out.status.code(), Some(2), "w1 exists: {}", stderr(&out));
    no_wait("after a failed run");
    // Ctrl-C while waiting for the lock (held here, through the library) ends the wait.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = || {
        let inv = flockport_core::Inventory::load(&inv_a).unwrap();
        let pool = Arc::new(TransportPool::new(Arc::new(DefaultTransportFactory)));
        ConsulStateStore::open(&inv.state_config(), &inv, &inv_a, pool).unwrap()
    };
    let held = rt.block_on(store().lock()).unwrap();
    let (code, sent, lines) = interrupt_when(&inv_b, &["addcontainer", "s2", "intr"], "waiting for the state lock");
    assert!(sent && code == Some(130), "interrupted while waiting: {code:?}");
    assert!(lines.iter().any(|l| l.contains("held by pid")), "{lines:?}");
    // An operator whose lock_wait_secs runs out gets a clear lock error, and nothing is changed.
    let (_e, inv_e) = operator(&dir_of(&inv_b), &["flockport.toml", "flockport-state.token"]);
    let text = std::fs::read_to_string(&inv_e).unwrap().replace("[state]\n", "[state]\nlock_wait_secs = 1\n");
    std::fs::write(&inv_e, text).unwrap();
    let out = cli(&inv_e, &["addcontainer", "s2", "intr"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is locked by pid") && stderr(&out).contains("lock_wait_secs"), "{}", stderr(&out));
    rt.block_on(held.release());
    no_wait("after an interrupted wait");
    assert!(!state_of(&inv_a).containers.contains_key("intr"));

    // A holder killed with SIGKILL: the other operator waits at most the session's life, then goes on.
    let mut held = Command::new(flockport_bin())
        .arg("--config")
        .arg(&inv_a)
        .args(["addcontainer", "s2", "killed"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(held.stderr.take().unwrap());
    for line in lines.lines() {
        if line.unwrap().starts_with("[1/") {
            break;
        }
    }
    held.kill().unwrap();
    held.wait().unwrap();
    let killed_at = Instant::now();
    let after = cli(&inv_b, &["addcontainer", "s3", "after-kill"]);
    let took = killed_at.elapsed();
    assert!(after.status.success(), "{}", stderr(&after));
    assert!(stderr(&after).contains("held by pid"), "it said who held the lock: {}", stderr(&after));
    let ttl = flockport_core::state::consul::LOCK_TTL;
    println!("after the SIGKILL the next run finished in {:.1} s (lock TTL {} s)", took.as_secs_f64(), ttl.as_secs());
    assert!(took < ttl + Duration::from_secs(8), "waited {took:?}, the session lives at most {ttl:?}");
    let st = state_of(&inv_a);
    assert!(!st.containers.contains_key("killed") && st.containers.contains_key("after-kill"), "last committed");

    // The leader endpoint stopped: changes still commit through the others.
    let eps = cli_json(&inv_a, &["listep", "--json"]);
    let leader = eps["endpoints"].as_array().unwrap().iter().find(|e| e["role"] == "leader").unwrap().clone();
    let (lname, lserver) = (leader["record"]["name"].as_str().unwrap(), leader["record"]["server"].as_str().unwrap());
    let out = on_server(lserver, &format!("lxc-stop -n {lname}"));
    assert!(out.status.success(), "{}", stderr(&out));
    *restore.stopped.borrow_mut() = Some((lserver.to_string(), lname.to_string()));
    let t = Instant::now();
    cli_ok(&inv_b, &["addcontainer", "s1", "leaderless"]);
    println!("a change with the leader {lname} stopped: {:.1} s", t.elapsed().as_secs_f64());
    assert!(state_of(&inv_a).containers.contains_key("leaderless"));
    assert!(on_server(lserver, &format!("lxc-start -n {lname}")).status.success());
    restore.stopped.borrow_mut().take();
    wait_for(Duration::from_secs(30), "three endpoints alive again", || {
        let out = cli(&inv_a, &["listep", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["endpoints"].as_array().is_some_and(|e| e.iter().filter(|e| e["status"] == "alive").count() == 3)
    });

    // A run that lost its lock never overwrites a newer state: its check-and-set refuses.
    rt.block_on(async {
        use flockport_core::state::StateTxn;
        let store = store();
        let txn = store.lock().await.unwrap();
        let mut mine = txn.state().clone();
        mine.counters.insert("lost-lock".into(), 1);
        // A writer that ignores the lock, as one whose session expired would.
        let (mut newer, index) = store.read().await.unwrap();
        newer.counters.insert("newer".into(), 1);
        assert!(store.put_if(serde_json::to_vec_pretty(&newer).unwrap(), index).await.unwrap());
        let e = Box::new(txn).commit(mine).await.unwrap_err();
        assert!(matches!(e, flockport_core::Error::StateConflict { .. }), "{e}");
        assert!(e.to_string().contains("run the same command again"), "{e}");
        let (now, _) = store.read().await.unwrap();
        assert_eq!(now.counters.get("newer"), Some(&1));
        assert!(!now.counters.contains_key("lost-lock"), "the newer state stands");
    });

    // A takes the state out: B is told where it went, never given an empty one.
    cli_ok(&inv_a, &["state", "migrate", "--to", "file"]);
    let out = cli(&inv_b, &["addcontainer", "s1", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("moved out of Consul"), "{}", stderr(&out));
    assert!(!state_of(&inv_a).containers.contains_key("nope"));
    drop(restore);
    assert_eq!(on_servers(&inv_a), BTreeMap::new(), "clean-up left nothing");
}
