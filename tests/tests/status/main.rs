//! `status` and `ui` on the lab: one of each family deployed (a container,
//! an HAProxy load balancer with a published port, a webserver with an app,
//! a PostgreSQL instance, a floating IP, a Consul endpoint with a
//! container's service and check), then `status` lists each with the right
//! server, address and health; a stopped backend makes its load balancer
//! degraded naming it; a container destroyed behind flockport's back is
//! drift. The page, opened in headless Chromium, shows every family's table
//! and the cluster picture, agrees with `status --json` row for row, and is
//! not served on a non-loopback address without `--public` and its token.
//!
//! A binary of its own: it stops a lab container (c3) and runs a Consul
//! endpoint, which tests running beside it would feel (cargo runs test
//! binaries one at a time).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, missing_docs)]

use flockport_tests::discovery::{consul_on_path, on_server, wait_for};
use flockport_tests::{cli, cli_json, cli_ok, flockport_bin, http_get, lab, lab_inventory_copy, required, Cleanup};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const VIP: &str = "192.168.122.122";

fn status(inv: &Path) -> (i32, Value) {
    let out = cli(inv, &["status", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), v)
}

fn item<'a>(st: &'a Value, family: &str, name: &str) -> &'a Value {
    st["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["family"] == family && i["name"] == name)
        .unwrap_or_else(|| panic!("no {family} {name} in status: {st:#}"))
}

/// Puts c3 back (started) also when the test fails.
struct StartC3;
impl Drop for StartC3 {
    fn drop(&mut self) {
        let _ = on_server("s2", "lxc-start -n c3 2>/dev/null; true");
    }
}

/// `flockport ui` running; killed (its own recorded pid) when dropped.
struct Ui(Child, String);
impl Ui {
    fn start(inv: &Path, args: &[&str]) -> Ui {
        let mut child = Command::new(flockport_bin())
            .arg("--config")
            .arg(inv)
            .arg("ui")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url =
            line.trim().strip_prefix("flockport ui: ").unwrap_or_else(|| panic!("ui printed {line:?}")).to_string();
        Ui(child, url)
    }
}
impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromium() -> Option<&'static str> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().find(|p| Path::new(p).exists());
    if found.is_none() {
        assert!(!required(), "no chromium: tests/run installs Debian's chromium");
        println!("SKIP: no chromium");
    }
    found
}

/// The page's DOM after its scripts ran (headless Chromium).
fn dump_dom(browser: &str, url: &str, screenshot: &Path) -> String {
    let common =
        ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=6000", "--window-size=1400,1700"];
    let shot = Command::new(browser)
        .args(common)
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(shot.status.success(), "chromium --screenshot: {}", String::from_utf8_lossy(&shot.stderr));
    let out = Command::new(browser).args(common).arg("--dump-dom").arg(url).output().unwrap();
    assert!(out.status.success(), "chromium --dump-dom: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An attribute's value in a start tag's text.
fn attr(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[at..].find('"')? + at;
    Some(tag[at..end].replace("&amp;", "&"))
}

/// The visible text of the cell `<td class="CLASS">` in a row's markup
/// (tags dropped, entities of the page's text decoded).
fn cell(row: &str, class: &str) -> Option<String> {
    let at = row.find(&format!("<td class=\"{class}\">"))?;
    let inner = &row[at..];
    let inner = &inner[inner.find('>')? + 1..inner.find("</td>")?];
    let mut text = String::new();
    let mut in_tag = false;
    for ch in inner.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    Some(text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
}

type Row = (String, String, String, String, String, String);

/// The page's table rows: (family, name, server, address, health, why) of
/// each `<tr>` carrying `data-health` (the families' rows): the family from
/// its attribute, the rest as the reader sees them in its cells.
fn page_rows(dom: &str) -> Vec<Row> {
    dom.split("<tr ")
        .skip(1)
        .filter_map(|rest| {
            let row = &rest[..rest.find("</tr>").unwrap_or(rest.len())];
            let tag = format!(" {}", &rest[..rest.find('>')?]);
            attr(&tag, "data-health")?;
            let server = cell(row, "server")?;
            Some((
                attr(&tag, "data-family")?,
                cell(row, "name")?,
                if server == "-" { String::new() } else { server },
                cell(row, "address")?,
                cell(row, "health")?,
                cell(row, "why")?,
            ))
        })
        .collect()
}

fn json_rows(st: &Value) -> Vec<Row> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    st["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (s(&i["family"]), s(&i["name"]), s(&i["server"]), s(&i["address"]), s(&i["health"]), s(&i["why"])))
        .collect()
}

#[test]
fn status_and_page_show_every_family_with_health_and_drift() {
    let Some(lab) = lab() else { return };
    if !consul_on_path() {
        return;
    }
    let Some(browser) = chromium() else { return };
    let (_dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let _c3 = StartC3;

    // One of each family. Cleanups run in reverse order, also on failure.
    let app = cli_json(inv, &["addcontainer", "s1", "st-app", "--json"]);
    let _d1 = Cleanup::new(inv, "delcontainer", "st-app");
    let lb = cli_json(
        inv,
        &["addlb", "haproxy", "s1", "-n", "st-ha", "-b", "w1:10.0.4.20:80", "-b", "w3:10.0.5.20:80", "--json"],
    );
    let _d2 = Cleanup::new(inv, "dellb", "st-ha");
    cli_ok(inv, &["pub", "st-ha", "8090"]);
    let ws = cli_json(inv, &["addws", "s2", "-n", "st-ws", "--json"]);
    let _d3 = Cleanup::new(inv, "delws", "st-ws");
    cli_ok(inv, &["pubapp", "st-ws", "status.example", "c4.app:80"]);
    let db = cli_json(inv, &["adddb", "postgresql", "s3", "stu", "std", "-n", "st-pg", "--json"]);
    let _d4 = Cleanup::args(inv, &["deldb", "st-pg", "--yes"]);
    cli_ok(inv, &["addvip", "s1", "s2", VIP, "-n", "st-vip"]);
    let _d5 = Cleanup::new(inv, "delvip", "st-vip");
    let ep = cli_json(inv, &["addep", "s3", "10.0.7.10", "--json"]);
    let ep_name = ep["record"]["name"].as_str().unwrap().to_string();
    let _d6 = Cleanup::args(inv, &["delep", &ep_name, "--force"]);
    cli_ok(inv, &["addservice", "c5", "stweb", "80"]);
    let _d7 = Cleanup::args(inv, &["delservice", "c5"]);
    cli_ok(inv, &["addcheck", "c5", "stcheck", "tcp", "80"]);
    let job = cli_json(inv, &["addjob", "c4", "1", "--port", "80", "--json"]);
    let _d8 = Cleanup::new(inv, "deljob", "c4");
    let inst = &job["record"]["instances"][0];
    let (inst_server, inst_addr) =
        (inst["server"].as_str().unwrap().to_string(), inst["address"].as_str().unwrap().to_string());

    let addr = |v: &Value| v["record"]["address"].as_str().unwrap_or_default().to_string();
    let want = [
        ("container", "st-app", "s1", addr(&app)),
        ("lb", "st-ha", "s1", addr(&lb)),
        ("webserver", "st-ws", "s2", addr(&ws)),
        ("database", "st-pg", "s3", db["record"]["instance"]["address"].as_str().unwrap_or_default().to_string()),
        ("vip", "st-vip", "s1", VIP.to_string()),
        ("endpoint", ep_name.as_str(), "s3", "10.0.7.10".to_string()),
        ("service", "stweb", "s3", "10.0.7.20:80".to_string()),
        ("job", "c4-1", inst_server.as_str(), inst_addr.clone()),
    ];
    // Everything up (the check's first run may take a moment).
    wait_for(Duration::from_secs(30), "every item up", || {
        let (code, st) = status(inv);
        let ok = code == 0 && st["healthy"] == true;
        if !ok {
            println!("waiting: {}", serde_json::to_string(&st["items"]).unwrap());
        }
        ok
    });
    let (_, st) = status(inv);
    println!("status: {st:#}");
    for (family, name, server, address) in &want {
        let i = item(&st, family, name);
        assert_eq!(i["server"], *server, "{family} {name}: {i}");
        assert!(!address.is_empty(), "{family} {name}: no address in its add output");
        assert_eq!(i["address"], address.as_str(), "{family} {name}: {i}");
        assert_eq!(i["health"], "up", "{family} {name}: {i}");
    }
    assert_eq!(item(&st, "lb", "st-ha")["ports"], serde_json::json!(["8090"]));
    assert_eq!(item(&st, "lb", "st-ha")["targets"], serde_json::json!(["c1 (10.0.4.20:80)", "c3 (10.0.5.20:80)"]));
    assert_eq!(st["absent"], serde_json::json!([]), "every family is in this build");
    let text = cli(inv, &["status"]);
    let table = String::from_utf8_lossy(&text.stdout);
    assert!(text.status.success(), "{table}");
    for (_, name, ..) in &want {
        assert!(table.contains(name), "the table lacks {name}:\n{table}");
    }

    // --watch redraws in place (cursor home, lines cleared to their end; the
    // screen cleared once) until Ctrl-C, exiting with the health.
    let watch = Command::new(flockport_bin())
        .arg("--config")
        .arg(inv)
        .args(["status", "--watch", "0.5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(4000));
    assert!(Command::new("kill").args(["-INT", &watch.id().to_string()]).status().unwrap().success());
    let out = watch.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert_eq!(screen.matches("\x1b[2J").count(), 1, "the screen is cleared once");
    assert!(screen.matches("\x1b[H").count() >= 3, "fewer than 3 redraws in 4 s: {screen}");
    assert!(screen.contains("st-ha") && screen.contains("\x1b[K"), "{screen}");
    let bad = cli(inv, &["status", "--watch", "0"]);
    assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));

    // The page on loopback: every family's table, the picture, and the same
    // rows as `status --json`.
    {
        let ui = Ui::start(inv, &["--listen", "127.0.0.1:0"]);
        let shot = flockport_tests::workspace_root().join("target/status-ui.png");
        // The page and `status --json` read the cluster a moment apart: a
        // check changing state in between may differ once, not three times.
        let mut dom = String::new();
        for attempt in 1..=3 {
            let (_, st) = status(inv);
            dom = dump_dom(browser, &ui.1, &shot);
            assert!(dom.contains("data-loaded=\"1\""), "the page did not load its data:\n{dom}");
            let mut page = page_rows(&dom);
            let mut json = json_rows(&st);
            page.sort();
            json.sort();
            assert_eq!(page.len(), 9, "{page:?}");
            if page == json {
                break;
            }
            assert!(attempt < 3, "the page and status --json disagree:\npage: {page:?}\njson: {json:?}");
        }
        // Loopback without a token: only its own Host (no DNS rebinding).
        let port = ui.1.trim_end_matches('/').rsplit(':').next().unwrap().to_string();
        let (code, _) = http_get(&format!("{}status.json", ui.1), &["-H", &format!("Host: rebound.example:{port}")]);
        assert_eq!(code, 403, "a foreign Host on loopback");
        let (code, _) = http_get(&format!("{}status.json", ui.1), &[]);
        assert_eq!(code, 200);
        for t in [
            "t-server",
            "t-container",
            "t-lb",
            "t-webserver",
            "t-database",
            "t-vip",
            "t-endpoint",
            "t-service",
            "t-job",
        ] {
            assert!(dom.contains(&format!("id=\"{t}\"")), "no table {t}");
        }
        for s in ["s1", "s2", "s3"] {
            assert!(dom.contains(&format!("<g data-server=\"{s}\"")), "no box for {s}");
        }
        for c in ["st-app", "st-ha", "st-ws", "st-pg", &ep_name, "c1", "c3", "c4-1"] {
            assert!(dom.contains(&format!("data-container=\"{c}\"")), "no box for container {c}");
        }
        assert!(dom.contains("data-from=\"st-ha\" data-to=\"c1\""), "no arrow from st-ha to c1");
        assert!(dom.contains("data-from=\"st-ha\" data-to=\"c3\""), "no arrow from st-ha to c3");
        assert!(dom.contains("data-from=\"st-ws\" data-to=\"c4\""), "no arrow from st-ws to c4");
        assert!(dom.contains("data-vip=\"st-vip\""), "no floating IP in the picture");
        assert!(dom.contains("everything healthy"), "no health summary");
        assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "no screenshot at {}", shot.display());
        println!("screenshot: {}", shot.display());
    }

    // A backend stopped: its load balancer is degraded, naming it.
    assert!(on_server("s2", "lxc-stop -n c3").status.success());
    wait_for(Duration::from_secs(30), "st-ha degraded naming c3", || {
        let (code, st) = status(inv);
        let i = item(&st, "lb", "st-ha");
        code == 1
            && i["health"] == "degraded"
            && i["why"].as_str().unwrap_or_default().contains("backend c3 (10.0.5.20:80)")
    });
    assert!(on_server("s2", "lxc-start -n c3").status.success());
    wait_for(Duration::from_secs(30), "st-ha up again", || item(&status(inv).1, "lb", "st-ha")["health"] == "up");

    // A container destroyed behind flockport's back: drift, and not healthy.
    assert!(on_server("s1", "lxc-stop -k -n st-app && lxc-destroy -n st-app").status.success());
    let (code, st) = status(inv);
    assert_eq!(code, 1, "{st}");
    assert_eq!(st["healthy"], false);
    let i = item(&st, "container", "st-app");
    assert_eq!(i["health"], "down");
    assert!(i["why"].as_str().unwrap().contains("missing on s1"), "{i}");
    let drift = st["drift"].as_array().unwrap();
    assert!(
        drift.iter().any(|d| d["kind"] == "missing" && d["name"] == "st-app" && d["server"] == "s1"),
        "no missing drift for st-app: {drift:?}"
    );
    assert!(
        drift.iter().any(|d| d["kind"] == "unmanaged" && d["name"] == "c1"),
        "the lab's own containers are not listed as unmanaged: {drift:?}"
    );

    // Not on a non-loopback address without --public; with it, the token.
    let out = cli(inv, &["ui", "--listen", "192.168.122.1:0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("192.168.122.1:0") && err.contains("--public"), "{err}");
    let ui = Ui::start(inv, &["--listen", "192.168.122.1:0", "--public"]);
    let (base, token) = ui.1.split_once("/?token=").unwrap_or_else(|| panic!("no token in {}", ui.1));
    assert!(token.len() >= 32, "{token}");
    for (path, extra) in
        [("/", vec![]), ("/status.json", vec![]), ("/status.json", vec!["-H", "Authorization: Bearer wrong"])]
    {
        let (code, _) = http_get(&format!("{base}{path}"), &extra);
        assert_eq!(code, 401, "{path} {extra:?} without the token");
    }
    let bearer = format!("Authorization: Bearer {token}");
    let (code, body) = http_get(&format!("{base}/status.json"), &["-H", &bearer]);
    assert_eq!(code, 200, "{body}");
    let served: Value = serde_json::from_str(&body).unwrap();
    assert!(served["items"].as_array().unwrap().iter().any(|i| i["name"] == "st-ha"));
    let (code, page) = http_get(&ui.1, &[]);
    assert_eq!(code, 200);
    assert!(page.contains("flockport status"));
    drop(ui);

    // A dead server (s3's link cut under a live SSH master): status still
    // answers, within its read limit, with s3 unreachable and what runs on
    // it unknown; the rest as before.
    let _link = LinkUp;
    assert!(Command::new("ip").args(["link", "set", "vlab-s3", "down"]).status().unwrap().success());
    let started = std::time::Instant::now();
    let (code, st) = status(inv);
    let took = started.elapsed();
    println!("status with s3 cut off: exit {code} in {took:?}");
    assert_eq!(code, 1);
    assert!(took < Duration::from_secs(25), "{took:?} (the read limit is 15 s)");
    let s3 = st["servers"].as_array().unwrap().iter().find(|s| s["name"] == "s3").unwrap();
    assert_eq!(s3["reachable"], false, "{s3}");
    let pg = item(&st, "database", "st-pg");
    assert_eq!(pg["health"], "unknown", "{pg}");
    assert!(pg["why"].as_str().unwrap().contains("server s3 could not be read"), "{pg}");
    assert_eq!(item(&st, "lb", "st-ha")["health"], "up");
    assert!(Command::new("ip").args(["link", "set", "vlab-s3", "up"]).status().unwrap().success());
    wait_for(Duration::from_secs(60), "s3 read again", || {
        let (_, st) = status(inv);
        st["servers"].as_array().unwrap().iter().all(|s| s["reachable"] == true)
    });
}

/// Puts s3's LAN link back up, also when the test fails.
struct LinkUp;
impl Drop for LinkUp {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "set", "vlab-s3", "up"]).status();
    }
}
