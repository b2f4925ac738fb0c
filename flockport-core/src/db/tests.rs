//! Database verbs on the scripted [`FakeTransport`]: the exact commands per
//! round trip, passwords only ever on stdin (as secrets) and in 0600 files,
//! idempotence, a refused pg_hba.conf, and bad input that contacts nothing.
//! What the commands do to a real MariaDB and PostgreSQL is shown by the
//! lab tests.

use super::*;
use crate::lb::verb_tests::{run, transcript};
use crate::mock_tests::{cluster_with, probe_fake};
use crate::testkit::{fail, FakeTransport};
use crate::ErrorKind;
use std::os::unix::fs::PermissionsExt;

const PW: &str = "correct-horse-battery-staple-0123456789";

fn probe(server: &str, subnet: &str, first: &str) -> String {
    let s = crate::mock_tests::server(server, subnet);
    let mut out = format!("version\t5.0.2\noverlay\tyes\nc\t{first}\tRUNNING\t{subnet},\t-\t-\n");
    for e in [Engine::Mysql, Engine::Postgresql] {
        let img = crate::image::ImageSpec::with_packages(e.packages()).unwrap().template_name(&s);
        out.push_str(&format!("c\t{img}\tSTOPPED\t\t\tcomplete\n"));
    }
    out
}

struct World {
    dir: tempfile::TempDir,
    s1: FakeTransport,
    s2: FakeTransport,
    c: Cluster,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let s1 = probe_fake("s1", probe("s1", "10.0.4.0/24", "c1"));
    let s2 = probe_fake("s2", probe("s2", "10.0.5.0/24", "c3"));
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    World { dir, s1, s2, c }
}

fn spec(engine: &str, server: &str, user: &str, db: &str) -> DbSpec {
    DbSpec {
        engine: engine.into(),
        server: server.into(),
        user: user.into(),
        database: db.into(),
        ..Default::default()
    }
}

fn add(w: &World, s: DbSpec) -> Applied<DbAdded> {
    run(w.c.add_db(s, ApplyOptions::default(), &NoProgress)).unwrap()
}

fn everything_sent(t: &FakeTransport) -> String {
    t.calls()
        .iter()
        .map(|c| format!("{} {}", c.argv.join(" "), String::from_utf8_lossy(c.stdin.as_deref().unwrap_or_default())))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn adddb_mysql_makes_an_instance_and_a_user_whose_password_travels_on_stdin_only() {
    let w = world();
    let a = add(&w, spec("mysql", "s1", "wordpress", "wordpress"));
    let r = &a.record;
    assert_eq!(r.instance.container.name, "mysql1", "generated name");
    assert_eq!(r.instance.databases["wordpress"].allowed, ["10.0.4.0/24"], "default: the server's subnet");
    assert!(r.generated_password);
    insta::assert_snapshot!("adddb_mysql", transcript(&w.s1));
    let pw = w.c.db_password("mysql1", "wordpress").unwrap();
    assert!(pw.expose().len() >= 24);
    // The password went on the SQL step's stdin, and nowhere else.
    let calls = w.s1.calls();
    let with_pw: Vec<_> = calls
        .iter()
        .filter(|c| c.stdin.as_ref().is_some_and(|s| String::from_utf8_lossy(s).contains(pw.expose())))
        .collect();
    assert_eq!(with_pw.len(), 1, "{:#?}", w.s1.lines());
    assert!(calls.iter().all(|c| !c.argv.iter().any(|a| a.contains(pw.expose()))), "a password in argv");
    let shown = format!("{}\n{}", serde_json::to_string(&a).unwrap(), a.plan.render());
    assert!(!shown.contains(pw.expose()) && shown.contains("<secret"), "{shown}");
    // State: no password; secret file 0600 in a 0700 directory.
    let state = std::fs::read_to_string(w.dir.path().join("flockport-state.json")).unwrap();
    assert!(!state.contains(pw.expose()), "{state}");
    let f = std::path::PathBuf::from(&r.password_file);
    assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(w.dir.path().join("flockport-secrets")).unwrap().permissions().mode() & 0o777, 0o700);
    let st = w.c.state_blocking().unwrap();
    assert_eq!(st.service("mysql1").unwrap().family, crate::service::Family::Db);
}

#[test]
fn adddb_again_with_the_same_settings_contacts_nothing_and_changes_update_exactly_that() {
    let w = world();
    let s =
        DbSpec { password: Some(Secret::new(PW)), name: Some("mysql-10".into()), ..spec("mysql", "s1", "wp", "wp") };
    add(&w, s.clone());
    let before = std::fs::read(w.dir.path().join("flockport-state.json")).unwrap();
    w.s1.clear();
    let again = add(&w, s.clone());
    assert!(again.record.changes.is_empty(), "{:?}", again.record.changes);
    assert!(again.plan.steps.is_empty());
    assert_eq!(w.s1.calls().len(), 0, "contacted: {:#?}", w.s1.lines());
    assert_eq!(std::fs::read(w.dir.path().join("flockport-state.json")).unwrap(), before);
    // Only the ranges change: the script re-sends the kept password, drops the old account.
    let wider = DbSpec { password: None, allowed: vec!["10.0.5.0/24".into()], ..s.clone() };
    let a = add(&w, wider);
    assert_eq!(a.record.changes, ["allowed ranges 10.0.4.0/24 -> 10.0.5.0/24"]);
    let sent = everything_sent(&w.s1);
    assert!(sent.contains("'wp'@'10.0.5.0/255.255.255.0' IDENTIFIED BY 'correct-horse"), "{sent}");
    assert!(sent.contains("DROP USER IF EXISTS 'wp'@'10.0.4.0/255.255.255.0'"), "{sent}");
    assert!(!sent.contains("lxc-copy"), "no new instance: {sent}");
    // A new password: exactly that.
    let a = add(&w, DbSpec { password: Some(Secret::new("another-one-entirely-42")), ..s });
    assert_eq!(a.record.changes, ["password"]);
    assert_eq!(w.c.db_password("mysql-10", "wp").unwrap().expose(), "another-one-entirely-42");
}

#[test]
fn postgresql_access_rules_are_checked_by_postgresql_and_a_refusal_changes_nothing() {
    let w = world();
    add(&w, DbSpec { password: Some(Secret::new(PW)), ..spec("postgresql", "s2", "discourse", "discourse") });
    insta::assert_snapshot!("adddb_postgresql", transcript(&w.s2));
    let sent = everything_sent(&w.s2);
    assert!(sent.contains("host    \"discourse\"  \"discourse\"  10.0.5.0/24  scram-sha-256"), "{sent}");
    let before = std::fs::read(w.dir.path().join("flockport-state.json")).unwrap();
    w.s2.on("pg_hba_file_rules", fail(1, "PostgreSQL rejects the new pg_hba.conf: line 4: invalid"));
    let s = DbSpec { name: Some("pg1".into()), ..spec("postgresql", "s2", "forum", "forum") };
    let e = run(w.c.add_db(s, ApplyOptions::default(), &NoProgress)).unwrap_err();
    assert!(matches!(&e, Error::ConfigRejected { service, .. } if service == "postgresql"), "{e}");
    assert!(!w.s2.lines().iter().any(|l| l.contains("pg_reload_conf")), "reloaded after a refusal");
    assert_eq!(std::fs::read(w.dir.path().join("flockport-state.json")).unwrap(), before, "state changed");
    assert!(w.c.db_password("pg1", "forum").is_err());
}

#[test]
fn deldb_drops_one_database_or_the_whole_instance_and_its_passwords() {
    let w = world();
    let s = DbSpec { name: Some("pg7".into()), ..spec("postgresql", "s2", "a", "a") };
    add(&w, s.clone());
    add(&w, DbSpec { user: "b".into(), database: "b".into(), ..s });
    w.s2.clear();
    run(w.c.del_db("pg7", Some("a"), ApplyOptions::default())).unwrap();
    let lines = w.s2.lines();
    let hba = w.s2.calls().iter().position(|c| c.argv.iter().any(|a| a.contains("pg_hba_file_rules"))).unwrap();
    let drop = w.s2.calls().iter().position(|c| {
        c.stdin.as_ref().is_some_and(|s| String::from_utf8_lossy(s).contains("DROP DATABASE IF EXISTS \"a\""))
    });
    assert!(drop.is_some_and(|d| d > hba), "access removed before the data: {lines:#?}");
    assert!(w.c.db_password("pg7", "a").is_err());
    assert!(w.c.db_password("pg7", "b").is_ok());
    run(w.c.del_db("pg7", None, ApplyOptions::default())).unwrap();
    assert!(w.s2.lines().last().unwrap().contains("lxc-destroy"));
    assert!(w.c.state_blocking().unwrap().dbs.is_empty());
    assert!(!w.dir.path().join("flockport-secrets/db/pg7").exists());
}

#[test]
fn bad_input_is_refused_before_any_server_is_contacted() {
    let w = world();
    add(&w, DbSpec { name: Some("mysql-10".into()), ..spec("mysql", "s1", "wordpress", "wordpress") });
    w.s1.clear();
    w.s2.clear();
    let before = std::fs::read(w.dir.path().join("flockport-state.json")).unwrap();
    let on = |n: &str| DbSpec { name: Some(n.into()), ..spec("mysql", "s1", "u2", "d2") };
    let long = "x".repeat(81);
    let cases: Vec<(DbSpec, ErrorKind, &str)> = vec![
        (spec("mongodb", "s1", "u", "d"), ErrorKind::InvalidInput, "mongodb"),
        (spec("mysql", "s9", "u", "d"), ErrorKind::NotFound, "s9"),
        (spec("mysql", "s1", "wo'rd", "d"), ErrorKind::InvalidInput, "wo'rd"),
        (spec("mysql", "s1", "u", "my db"), ErrorKind::InvalidInput, "my db"),
        (spec("mysql", "s1", "u;drop", "d"), ErrorKind::InvalidInput, "u;drop"),
        (spec("mysql", "s1", "-u", "d"), ErrorKind::InvalidInput, "-u"),
        (spec("mysql", "s1", &long, "d"), ErrorKind::InvalidInput, "81 characters"),
        (spec("postgresql", "s1", "u", &"d".repeat(64)), ErrorKind::InvalidInput, "64 characters"),
        (spec("mysql", "s1", "root", "d"), ErrorKind::InvalidInput, "root"),
        (spec("postgresql", "s1", "postgres", "d"), ErrorKind::InvalidInput, "postgres"),
        (spec("mysql", "s1", "u", "mysql"), ErrorKind::InvalidInput, "mysql"),
        (
            DbSpec { allowed: vec!["10.0.4.0/33".into()], ..spec("mysql", "s1", "u", "d") },
            ErrorKind::InvalidInput,
            "10.0.4.0/33",
        ),
        (DbSpec { engine: "postgresql".into(), ..on("mysql-10") }, ErrorKind::InvalidInput, "mysql instance"),
        (DbSpec { server: "s2".into(), ..on("mysql-10") }, ErrorKind::InvalidInput, "runs on s1"),
        (DbSpec { user: "wordpress".into(), ..on("mysql-10") }, ErrorKind::AlreadyExists, "owns database wordpress"),
        (
            DbSpec { password: Some(Secret::new("a\0b")), ..spec("mysql", "s1", "u", "d") },
            ErrorKind::InvalidInput,
            "U+0000",
        ),
        (
            DbSpec { password: Some(Secret::new("a\nb")), ..spec("mysql", "s1", "u", "d") },
            ErrorKind::InvalidInput,
            "U+000A",
        ),
        (on("c1"), ErrorKind::AlreadyExists, "c1"),
    ];
    for (s, kind, needle) in cases {
        let shown = format!("{s:?}");
        let e = run(w.c.add_db(s, ApplyOptions::default(), &NoProgress)).unwrap_err();
        assert_eq!(e.kind(), kind, "{shown}: {e}");
        assert!(e.to_string().contains(needle), "{shown}: `{e}` does not name {needle:?}");
    }
    for (inst, db, needle) in
        [("nope", Some("x"), "nope"), ("mysql-10", Some("other"), "other"), ("nope", None, "nope")]
    {
        let e = run(w.c.del_db(inst, db, ApplyOptions::default())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    }
    // "c1" exists on s1: the servers were probed, nothing changed.
    for t in [&w.s1, &w.s2] {
        assert!(t.lines().iter().all(|l| !l.contains("lxc-attach") && !l.contains("lxc-copy")), "{:#?}", t.lines());
    }
    assert_eq!(std::fs::read(w.dir.path().join("flockport-state.json")).unwrap(), before, "state changed");
}

#[test]
fn the_longest_and_underscore_names_each_engine_takes_work_end_to_end() {
    let w = world();
    let long = "u".repeat(80);
    let a = add(&w, DbSpec { name: Some("m1".into()), ..spec("mysql", "s1", &long, "_db") });
    assert!(a.record.instance.databases["_db"].user == long);
    assert!(w.c.db_password("m1", "_db").is_ok());
    add(&w, DbSpec { name: Some("p1".into()), ..spec("postgresql", "s2", "_u", &"d".repeat(63)) });
    assert!(w.c.db_password("p1", &"d".repeat(63)).is_ok());
}
