//! Databases on the lab: the seed's walk-through with a real MariaDB and a
//! real PostgreSQL 15 in real containers, clients in and out of the allowed
//! ranges (containers of the lab's servers), two databases per instance,
//! data across a stop and start, deldb, passwords kept secret (output, plan,
//! state, the servers' process lists), and bad input that changes nothing.

use flockport_tests::{
    cli, cli_json, cli_ok, flockport_bin, interrupt_when, lab, lab_inventory_copy, server_lock, Cleanup,
};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    My,
    Pg,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::My => "mysql",
            Engine::Pg => "postgresql",
        }
    }

    /// `sql` run by `user` with `password` on database `db` of the instance at
    /// `addr`, from container `client` (a real client over the network).
    fn client(
        self,
        inv: &Path,
        client: &str,
        addr: &str,
        (user, password, db): (&str, &str, &str),
        sql: &str,
    ) -> Output {
        let argv: Vec<String> = match self {
            Engine::My => vec![
                "env".into(),
                format!("MYSQL_PWD={password}"),
                "mariadb".into(),
                "--connect-timeout=5".into(),
                "-h".into(),
                addr.into(),
                "-u".into(),
                user.into(),
                "-D".into(),
                db.into(),
                "-N".into(),
                "-B".into(),
                "-e".into(),
                sql.into(),
            ],
            Engine::Pg => vec![
                "env".into(),
                format!("PGPASSWORD={password}"),
                "PGCONNECT_TIMEOUT=5".into(),
                "psql".into(),
                "-h".into(),
                addr.into(),
                "-U".into(),
                user.into(),
                "-d".into(),
                db.into(),
                "-X".into(),
                "-A".into(),
                "-t".into(),
                "-q".into(),
                "-v".into(),
                "ON_ERROR_STOP=1".into(),
                "-c".into(),
                sql.into(),
            ],
        };
        let mut args = vec!["exec", client, "--"];
        args.extend(argv.iter().map(String::as_str));
        cli(inv, &args)
    }

    /// The instance's accounts and grants (MariaDB) or roles, database
    /// privileges and pg_hba.conf (PostgreSQL), as text to compare.
    fn access(self, inv: &Path, inst: &str) -> String {
        let script = match self {
            Engine::My => {
                "mariadb -N -B -e 'SELECT user, host FROM mysql.global_priv ORDER BY 1, 2; SELECT host, db, user FROM mysql.db ORDER BY 1, 2, 3'"
            }
            Engine::Pg => {
                "cd / && cat /etc/postgresql/15/main/pg_hba.conf && runuser -u postgres -- psql -XAtq -c 'SELECT rolname FROM pg_roles ORDER BY 1' -c 'SELECT datname, datacl FROM pg_database ORDER BY 1'"
            }
        };
        cli_ok(inv, &["exec", inst, "--", "sh", "-c", script])
    }
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `adddb` under the server's lock (tests pick addresses from their own state).
fn adddb(inv: &Path, args: &[&str]) -> serde_json::Value {
    let lock = server_lock(args[1]);
    let mut argv = vec!["adddb"];
    argv.extend(args);
    argv.push("--json");
    let v = cli_json(inv, &argv);
    drop(lock);
    v
}

/// A client container on `server` with both engines' clients.
fn client_container(inv: &Path, server: &str, name: &str) -> Cleanup {
    let lock = server_lock(server);
    cli_ok(inv, &["addcontainer", server, name, "--packages", "mariadb-client,postgresql-client"]);
    drop(lock);
    Cleanup::new(inv, "delcontainer", name)
}

fn password(inv: &Path, inst: &str, db: &str) -> String {
    cli_ok(inv, &["listdbs", "--show-password", &format!("{inst}/{db}")]).trim().to_string()
}

fn instance(inv: &Path, name: &str) -> serde_json::Value {
    let all = cli_json(inv, &["listdbs", "--json"]);
    all.as_array().unwrap().iter().find(|d| d["instance"]["name"] == name).cloned().unwrap_or_default()
}

/// The seed's walk-through for one engine, then access control, a second
/// database, persistence and deletion. `home` holds the instance; `other`
/// is another server whose containers are outside the default range.
fn walkthrough(e: Engine, home: &str, other: &str, other_net: &str, user: &str, tag: &str) {
    let Some(lab) = lab() else { return };
    let (_dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    // The seed's command: a generated name, a generated password.
    let a = adddb(inv, &[e.name(), home, user, user]);
    let inst = a["record"]["instance"]["name"].as_str().unwrap().to_string();
    let _g = Cleanup::args(inv, &["deldb", &inst, "--yes"]);
    assert!(a["record"]["generated_password"].as_bool().unwrap(), "{a}");
    let addr = a["record"]["instance"]["address"].as_str().unwrap().to_string();
    let pw = password(inv, &inst, user);
    assert!(pw.len() >= 24, "generated password: {} characters", pw.len());
    let _c1 = client_container(inv, home, &format!("{tag}-in"));
    let _c2 = client_container(inv, other, &format!("{tag}-out"));
    let (inside, outside) = (format!("{tag}-in"), format!("{tag}-out"));

    // A client in the allowed range logs in, creates a table, writes and reads a row.
    let got = ok(&e.client(
        inv,
        &inside,
        &addr,
        (user, &pw, user),
        "CREATE TABLE t (x INT); INSERT INTO t VALUES (42); SELECT x FROM t",
    ));
    assert_eq!(got, "42");
    // Another server's subnet is refused; so is a wrong password.
    assert!(!e.client(inv, &outside, &addr, (user, &pw, user), "SELECT 1").status.success(), "outside the range");
    assert!(
        !e.client(inv, &inside, &addr, (user, "wrong-password", user), "SELECT 1").status.success(),
        "wrong password"
    );

    // A second user and database on the same instance, allowed from the other subnet only.
    let pw2 = "second-user-password-0123456789";
    let b = adddb(inv, &[e.name(), home, "u2", "d2", "-n", &inst, "-a", other_net, "-p", pw2]);
    assert_eq!(b["record"]["instance"]["name"], inst.as_str(), "added to the same instance: {b}");
    assert_eq!(ok(&e.client(inv, &outside, &addr, ("u2", pw2, "d2"), "SELECT 1")), "1", "u2 from {other_net}");
    assert!(
        !e.client(inv, &outside, &addr, (user, &pw, user), "SELECT 1").status.success(),
        "the first user still not"
    );
    assert!(!e.client(inv, &inside, &addr, ("u2", pw2, "d2"), "SELECT 1").status.success(), "u2 not from {home}");
    // Each user sees only its own database.
    assert!(!e.client(inv, &outside, &addr, ("u2", pw2, user), "SELECT 1").status.success(), "u2 in {user}'s database");
    assert!(!e.client(inv, &inside, &addr, (user, &pw, "d2"), "SELECT 1").status.success(), "{user} in d2");
    if e == Engine::My {
        let shown = ok(&e.client(inv, &inside, &addr, (user, &pw, user), "SHOW DATABASES"));
        assert!(!shown.contains("d2"), "{user} sees: {shown}");
    }
    let listed = instance(inv, &inst);
    assert_eq!(listed["answers"], true, "{listed}");
    assert_eq!(listed["instance"]["databases"]["d2"]["allowed"][0], other_net, "{listed}");
    assert!(listed["sizes"][user].as_u64().unwrap() > 0, "{listed}");
    // `pub`: the instance's port on its server's address, for u2 from the other subnet.
    let port = if e == Engine::My { "3306" } else { "5432" };
    let host = if home == "s1" { "192.168.122.11" } else { "192.168.122.12" };
    cli_ok(inv, &["pub", &format!("{home}:{inst}"), port]);
    assert_eq!(ok(&e.client(inv, &outside, host, ("u2", pw2, "d2"), "SELECT 2")), "2", "through {host}:{port}");
    cli_ok(inv, &["unpub", &format!("{home}:{inst}"), port]);
    let table = cli_ok(inv, &["listdbs"]);
    assert!(table.contains(&inst) && table.contains("d2") && table.contains(other_net), "{table}");

    // The same adddb again changes nothing, and says so.
    let again = adddb(inv, &[e.name(), home, "u2", "d2", "-n", &inst, "-p", pw2]);
    assert_eq!(again["record"]["changes"].as_array().unwrap().len(), 0, "{again}");
    assert_eq!(again["plan"]["steps"].as_array().unwrap().len(), 0, "{again}");

    // A changed -a changes exactly that: u2 now also from the home subnet, same password.
    let home_net = if home == "s1" { "10.0.4.0/24" } else { "10.0.5.0/24" };
    let both = format!("{home_net},{other_net}");
    let wider = adddb(inv, &[e.name(), home, "u2", "d2", "-n", &inst, "-a", &both]);
    assert_eq!(wider["record"]["changes"].as_array().unwrap().len(), 1, "{wider}");
    assert_eq!(ok(&e.client(inv, &inside, &addr, ("u2", pw2, "d2"), "SELECT 3")), "3", "u2 from {home_net}");
    assert_eq!(ok(&e.client(inv, &outside, &addr, ("u2", pw2, "d2"), "SELECT 4")), "4", "and still from {other_net}");

    // The row survives a restart of the database, and a stop and start of the container.
    let unit = if e == Engine::My { "mariadb" } else { "postgresql@15-main" };
    cli_ok(inv, &["exec", &inst, "--", "systemctl", "restart", unit]);
    assert_eq!(ok(&e.client(inv, &inside, &addr, (user, &pw, user), "SELECT x FROM t")), "42");
    cli_ok(inv, &["stopcontainer", &inst]);
    cli_ok(inv, &["startcontainer", &inst]);
    let start = Instant::now();
    loop {
        let out = e.client(inv, &inside, &addr, (user, &pw, user), "SELECT x FROM t");
        if out.status.success() {
            assert_eq!(ok(&out), "42");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{inst} did not answer after a restart");
        std::thread::sleep(Duration::from_millis(500));
    }

    // deldb INSTANCE DB: that database and its user are gone, the other stays.
    cli_ok(inv, &["deldb", &inst, "d2"]);
    assert!(!e.client(inv, &outside, &addr, ("u2", pw2, "d2"), "SELECT 1").status.success(), "u2 after deldb");
    assert_eq!(ok(&e.client(inv, &inside, &addr, (user, &pw, user), "SELECT x FROM t")), "42");
    // deldb INSTANCE without --yes off a terminal asks nothing and changes nothing.
    let out = cli(inv, &["deldb", &inst]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--yes"));
    cli_ok(inv, &["deldb", &inst, "--yes"]);
    assert!(instance(inv, &inst).is_null(), "{inst} is gone");
    let out = cli(inv, &["exec", &inst, "--", "true"]);
    assert!(!out.status.success(), "its container is gone");
}

#[test]
fn mysql_walkthrough_access_and_persistence() {
    walkthrough(Engine::My, "s1", "s2", "10.0.5.0/24", "wordpress", "dbmy");
}

#[test]
fn postgresql_walkthrough_access_and_persistence() {
    walkthrough(Engine::Pg, "s2", "s1", "10.0.4.0/24", "discourse", "dbpg");
}

/// The seed's `-n`: a second MariaDB instance called mysql-10 with the same
/// user and database; both listed.
#[test]
fn a_named_second_instance() {
    let Some(lab) = lab() else { return };
    let (_dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let a = adddb(inv, &["mysql", "s1", "wordpress", "wordpress"]);
    let first = a["record"]["instance"]["name"].as_str().unwrap().to_string();
    let _g1 = Cleanup::args(inv, &["deldb", &first, "--yes"]);
    // `addb` is the seed's spelling.
    let lock = server_lock("s1");
    let b = cli_json(inv, &["addb", "mysql", "s1", "wordpress", "wordpress", "-n", "mysql-10", "--json"]);
    drop(lock);
    let _g2 = Cleanup::args(inv, &["deldb", "mysql-10", "--yes"]);
    assert_eq!(b["record"]["instance"]["name"], "mysql-10");
    let all = cli_json(inv, &["listdbs", "--json"]);
    let names: Vec<&str> = all.as_array().unwrap().iter().map(|d| d["instance"]["name"].as_str().unwrap()).collect();
    assert!(names.contains(&first.as_str()) && names.contains(&"mysql-10"), "{names:?}");
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|d| d["answers"] == true && d["version"].as_str().unwrap().contains("MariaDB")),
        "{all}"
    );
    assert_ne!(password(inv, &first, "wordpress"), password(inv, "mysql-10", "wordpress"), "each its own password");
}

/// Runs the CLI with `stdin` and extra environment; (status, stdout, stderr).
fn cli_with(inv: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)], watch: impl Fn()) -> (bool, String, String) {
    let mut child = Command::new(flockport_bin())
        .arg("--config")
        .arg(inv)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    while child.try_wait().unwrap().is_none() {
        watch();
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    println!("$ flockport {} -> {:?}\n{o}{e}", args.join(" "), out.status.code());
    (out.status.success(), o, e)
}

/// Every argv of the processes in server `ns`'s network namespace.
fn server_argvs(ns: &str) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "pids", ns]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).ok())
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .collect()
}

#[test]
fn a_password_is_never_shown_logged_planned_stored_in_state_or_in_a_servers_argv() {
    use std::os::unix::fs::PermissionsExt;
    let Some(lab) = lab() else { return };
    let (dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let pw = "Spot-Me-In-Any-Output-7f3a9c2e5b1d8f4a6c0e9b7d3f5a1c8e";
    let env = [("RUST_LOG", "trace")];
    let args = ["adddb", "mysql", "s3", "sec", "sec", "-n", "dbsec", "-p", "-", "-v"];
    let _g = Cleanup::args(inv, &["deldb", "dbsec", "--yes"]);
    // The plan, as JSON.
    let mut dry = args.to_vec();
    dry.extend(["--dry-run", "--json"]);
    let (good, out, err) = cli_with(inv, &dry, &format!("{pw}\n"), &env, || {});
    assert!(good);
    assert!(!out.contains(pw) && !err.contains(pw), "the plan shows the password");
    assert!(out.contains("<secret"), "{out}");
    // The change, watching s3's processes all along.
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let lock = server_lock("s3");
    let (good, out, err) = cli_with(inv, &args, &format!("{pw}\n"), &env, || {
        for a in server_argvs("s3") {
            assert!(!a.contains(pw), "a process on s3 has the password in its argv: {a}");
        }
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    drop(lock);
    assert!(good, "{err}");
    assert!(seen.load(std::sync::atomic::Ordering::SeqCst) > 10, "s3's processes were looked at while adddb ran");
    assert!(err.contains("TRACE") || err.contains("DEBUG"), "trace logging was on");
    assert!(!out.contains(pw) && !err.contains(pw), "adddb printed the password");
    // State: no password, mode 0600; the secret file: mode 0600, the password.
    let state_path = dir.path().join("flockport-state.json");
    let state = std::fs::read_to_string(&state_path).unwrap();
    assert!(state.contains("dbsec") && !state.contains(pw));
    assert_eq!(std::fs::metadata(&state_path).unwrap().permissions().mode() & 0o777, 0o600);
    let secret = dir.path().join("flockport-secrets/db/dbsec/sec");
    assert_eq!(std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), pw);
    let listed = cli_ok(inv, &["listdbs", "--json"]);
    assert!(!listed.contains(pw));
    assert_eq!(password(inv, "dbsec", "sec"), pw, "--show-password shows it on request");
    // The password works over the network from the instance's own subnet.
    let addr = instance(inv, "dbsec")["instance"]["address"].as_str().unwrap().to_string();
    assert_eq!(ok(&Engine::My.client(inv, "dbsec", &addr, ("sec", pw, "sec"), "SELECT 7")), "7");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let Some(lab) = lab() else { return };
    let (dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let my = adddb(inv, &["mysql", "s2", "app", "app", "-n", "dbbad-my"]);
    let _g1 = Cleanup::args(inv, &["deldb", "dbbad-my", "--yes"]);
    assert_eq!(my["record"]["instance"]["name"], "dbbad-my");
    let pg = adddb(inv, &["postgresql", "s3", "app", "app", "-n", "dbbad-pg"]);
    let _g2 = Cleanup::args(inv, &["deldb", "dbbad-pg", "--yes"]);
    assert_eq!(pg["record"]["instance"]["name"], "dbbad-pg");
    let state_path = dir.path().join("flockport-state.json");
    let state = std::fs::read(&state_path).unwrap();
    let access = (Engine::My.access(inv, "dbbad-my"), Engine::Pg.access(inv, "dbbad-pg"));
    assert!(access.0.contains("app") && access.1.contains("\"app\""), "{access:?}");
    let long = "u".repeat(81);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["adddb", "mongodb", "s2", "u", "d"], "mongodb"),
        (vec!["adddb", "mysql", "s9", "u", "d"], "s9"),
        (vec!["adddb", "mysql", "s2", "wo'rd", "d", "-n", "dbbad-my"], "wo'rd"),
        (vec!["adddb", "postgresql", "s3", "u", "my db", "-n", "dbbad-pg"], "my db"),
        (vec!["adddb", "mysql", "s2", "u;drop", "d", "-n", "dbbad-my"], "u;drop"),
        (vec!["adddb", "postgresql", "s3", "--", "-u", "d"], "-u"),
        (vec!["adddb", "mysql", "s2", &long, "d", "-n", "dbbad-my"], "81 characters"),
        (vec!["adddb", "mysql", "s2", "root", "d", "-n", "dbbad-my"], "root"),
        (vec!["adddb", "postgresql", "s3", "postgres", "d", "-n", "dbbad-pg"], "postgres"),
        (vec!["adddb", "mysql", "s2", "u", "mysql", "-n", "dbbad-my"], "mysql"),
        (vec!["adddb", "mysql", "s2", "app", "app", "-n", "dbbad-my", "-a", "10.0.5.0/33"], "10.0.5.0/33"),
        (vec!["adddb", "postgresql", "s3", "app", "app", "-n", "dbbad-pg", "-a", "banana"], "banana"),
        (vec!["adddb", "postgresql", "s2", "u", "d", "-n", "dbbad-my"], "mysql instance"),
        (vec!["adddb", "mysql", "s2", "app", "app", "-n", "dbbad-my", "-p", "new\nline"], "U+000A"),
        (vec!["deldb", "dbbad-nope", "app"], "dbbad-nope"),
        (vec!["deldb", "dbbad-my", "nodb"], "nodb"),
    ];
    for (args, needle) in cases {
        let out = cli(inv, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.contains(needle), "{args:?}: `{err}` does not name {needle:?}");
    }
    // A NUL can only come through stdin.
    let (good, _, err) =
        cli_with(inv, &["adddb", "mysql", "s2", "app", "app", "-n", "dbbad-my", "-p", "-"], "a\0b\n", &[], || {});
    assert!(!good && err.contains("U+0000"), "{err}");
    assert_eq!(std::fs::read(&state_path).unwrap(), state, "the state changed");
    assert_eq!(
        (Engine::My.access(inv, "dbbad-my"), Engine::Pg.access(inv, "dbbad-pg")),
        access,
        "users or access changed"
    );
}

#[test]
fn interrupting_adddb_rolls_back_and_a_retry_succeeds() {
    let Some(lab) = lab() else { return };
    let (dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let _g = Cleanup::args(inv, &["deldb", "dbint", "--yes"]);
    let lock = server_lock("s3");
    // While the container is being made: SIGINT, as Ctrl-C sends.
    let (code, sent, seen) =
        interrupt_when(inv, &["adddb", "postgresql", "s3", "app", "app", "-n", "dbint"], "create container dbint");
    drop(lock);
    assert!(sent, "the clone step was announced: {seen:#?}");
    assert_eq!(code, Some(130), "{seen:#?}");
    let text = seen.join("\n");
    assert!(text.contains("rolling back on s3"), "{text}");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("flockport-state.json")).unwrap_or_default())
            .unwrap_or_default();
    assert!(state["dbs"].as_object().is_none_or(|m| m.is_empty()), "nothing recorded: {state}");
    assert!(!dir.path().join("flockport-secrets/db/dbint").exists(), "no password kept for what does not exist");
    let listed = cli_json(inv, &["listcontainers", "s3", "--json"]);
    assert!(listed.as_array().unwrap().iter().all(|c| c["name"] != "dbint"), "container rolled back: {listed}");
    // The same command again succeeds, and the instance answers.
    adddb(inv, &["postgresql", "s3", "app", "app", "-n", "dbint"]);
    assert_eq!(instance(inv, "dbint")["answers"], true);
}
