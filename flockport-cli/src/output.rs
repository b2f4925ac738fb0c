//! Printing: tables (comfy-table) for people, `--json` for programs, and a
//! progress line per plan step on stderr.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use flockport_core::cluster::{Applied, ServerStatus};
use flockport_core::plan::{Progress, Step};
use flockport_core::{ContainerInfo, Error, LbInfo, LbRecord};
use serde::Serialize;

pub fn json<T: Serialize + ?Sized>(v: &T) -> Result<(), Error> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Error::invalid("output", "", e.to_string()))?;
    println!("{s}");
    Ok(())
}

pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(header.to_vec());
    t
}

/// `listservers`.
pub fn servers(rows: &[ServerStatus], as_json: bool) -> Result<(), Error> {
    if as_json {
        return json(rows);
    }
    let mut t = table(&["NAME", "HOST", "SUBNET", "STATUS", "LXC", "CONTAINERS", "IMAGES", "MS"]);
    for r in rows {
        let status = if r.reachable {
            "reachable".to_string()
        } else {
            // The row names the server already: "server s2: unreachable: why" -> "unreachable: why".
            let err = r.error.as_deref().unwrap_or("");
            let prefix = format!("server {}: ", r.name);
            let why = err.strip_prefix(&prefix).unwrap_or(err);
            format!("unreachable: {}", why.strip_prefix("unreachable: ").unwrap_or(why))
        };
        t.add_row(vec![
            r.name.clone(),
            r.host.clone(),
            r.subnet.to_string(),
            status,
            r.lxc_version.clone().unwrap_or_else(|| "-".into()),
            r.containers.to_string(),
            r.images.to_string(),
            r.millis.to_string(),
        ]);
    }
    println!("{t}");
    Ok(())
}

/// `listcontainers`.
pub fn containers(rows: &[ContainerInfo], as_json: bool) -> Result<(), Error> {
    if as_json {
        return json(rows);
    }
    let mut t = table(&["NAME", "SERVER", "STATE", "IPV4"]);
    for c in rows {
        let ip = c.address().map(|a| a.to_string()).unwrap_or_else(|| "-".into());
        t.add_row(vec![c.name.clone(), c.server.clone(), c.state.to_string(), ip]);
    }
    println!("{t}");
    Ok(())
}

/// The result of a change, or its plan with `--dry-run`.
pub fn applied<T: Serialize>(a: &Applied<T>, as_json: bool, done: impl Fn(&T) -> String) -> Result<(), Error> {
    if as_json {
        return json(a);
    }
    if a.executed {
        println!("{}", done(&a.record));
    } else {
        print!("{}", a.plan.render());
        println!("(dry run: nothing was changed)");
    }
    Ok(())
}

/// Prints `[i/n] server: description` on stderr as steps start.
pub struct StepProgress {
    bar: Option<indicatif::ProgressBar>,
}

impl StepProgress {
    /// A spinner on a terminal, plain lines otherwise.
    pub fn new() -> Self {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        StepProgress { bar }
    }
}

impl Drop for StepProgress {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for StepProgress {
    fn step(&self, index: usize, total: usize, step: &Step) {
        let line = format!("[{}/{}] {}: {}", index + 1, total, step.server, step.description);
        match &self.bar {
            Some(b) => b.set_message(line),
            None => eprintln!("{line}"),
        }
    }
    fn rolling_back(&self, server: &str, reason: &str) {
        let line = format!("rolling back on {server} ({reason})");
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }
    fn note(&self, message: &str) {
        let line = format!("[{}] {message}", utc_clock());
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }
}

/// The time of day in UTC, `HH:MM:SS.mmm` (milestones' timestamps; the
/// date is not needed there, so no date library).
pub fn utc_clock() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let day = now.as_secs() % 86_400;
    format!("{:02}:{:02}:{:02}.{:03}", day / 3600, day / 60 % 60, day % 60, now.subsec_millis())
}

/// Says on stderr which servers a listing could not read (the caller exits 3).
pub fn unread(servers: &[(String, String)]) {
    for (server, why) in servers {
        eprintln!("flockport: server {server} could not be read: {why}");
    }
}

/// A family's listing rows as (server, name, error): says on stderr which
/// could not be read; the exit code (3 when any, else 0).
pub fn unread_rows<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a String>)>) -> u8 {
    let failed: Vec<(String, String)> = rows
        .into_iter()
        .filter_map(|(server, name, e)| e.map(|e| (server.to_string(), format!("{name}: {e}"))))
        .collect();
    unread(&failed);
    if failed.is_empty() {
        0
    } else {
        3
    }
}

/// `listlbs`.
pub fn lbs(rows: &[LbInfo], as_json: bool) -> Result<(), Error> {
    if as_json {
        return json(rows);
    }
    let mut t = table(&["NAME", "TYPE", "SERVER", "ADDRESS", "MODE", "URL", "BACKENDS (HEALTH)", "PUBLISHED"]);
    for l in rows {
        let r = &l.record;
        let mut backends: Vec<String> = l.health.iter().map(|h| format!("{} ({})", h.backend, h.health)).collect();
        if l.error.is_some() {
            backends.push("(health not read: see below)".into());
        }
        let published: Vec<String> =
            r.container.published.iter().map(|f| format!("{}:{} -> {}", r.server(), f.host_port, f.port)).collect();
        let url = match (&r.url, &r.tls) {
            (Some(u), Some(_)) => format!("{u} (tls)"),
            (Some(u), None) => u.clone(),
            (None, Some(_)) => "(tls)".into(),
            (None, None) => "-".into(),
        };
        t.add_row(vec![
            r.container.name.clone(),
            r.kind.to_string(),
            r.container.server.clone(),
            r.container.address.to_string(),
            r.mode.clone(),
            url,
            if backends.is_empty() { "-".into() } else { backends.join("\n") },
            if published.is_empty() { "-".into() } else { published.join(", ") },
        ]);
    }
    println!("{t}");
    Ok(())
}

/// One line about a load balancer after a change.
pub fn lb_line(r: &LbRecord) -> String {
    let b: Vec<String> = r.backends.iter().map(|b| b.to_string()).collect();
    format!(
        "{} ({}, mode {}): backends {}",
        r.name(),
        r.kind,
        r.mode,
        if b.is_empty() { "none".into() } else { b.join(" ") }
    )
}
