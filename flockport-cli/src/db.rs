//! The database verbs (Flockport's "Databases" section): adddb (alias addb),
//! listdbs, deldb. `pub`/`unpub` are the shared service-container verbs.

use crate::output::{self, StepProgress};
use crate::ChangeOpts;
use clap::Subcommand;
use flockport_core::db::{DbAdded, DbInfo, DbSpec};
use flockport_core::secrets::Secret;
use flockport_core::{Cluster, Error};
use std::io::{BufRead, IsTerminal, Write};

/// The database verbs.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Deploy a database instance (or add to one with -n) and create USER owning DATABASE:
    /// adddb mysql|postgresql SERVER USER DATABASE [-n NAME] [-a CIDR,...] [-p PASSWORD].
    #[command(visible_alias = "addb")]
    Adddb {
        /// mysql (MariaDB) or postgresql.
        engine: String,
        /// Server of the instance.
        server: String,
        /// The user that owns the database.
        user: String,
        /// The database.
        database: String,
        /// Instance name: a new one, or an existing instance of the same type to add to
        /// (default: a new instance with a generated name, e.g. mysql1).
        #[arg(short = 'n', long = "name")]
        name: Option<String>,
        /// Ranges the user may log in from, CIDR, comma separated (default: the server's
        /// container subnet; unchanged for an existing user).
        #[arg(short = 'a', long = "allow", value_name = "CIDR[,CIDR...]")]
        allow: Vec<String>,
        /// The user's password; `-` reads it from stdin (keeps it out of this machine's
        /// process list). Default: generated (and shown once) for a new user, unchanged
        /// for an existing one.
        #[arg(short = 'p', long = "password")]
        password: Option<String>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// List database instances with their databases, users, allowed ranges, sizes and
    /// whether each answers now.
    Listdbs {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Show the password of a database's user: INSTANCE/DATABASE (or INSTANCE when it
        /// holds one database).
        #[arg(long, value_name = "INSTANCE[/DATABASE]")]
        show_password: Option<String>,
    },
    /// Drop a database and its user, or without DATABASE remove the whole instance.
    Deldb {
        /// Instance.
        instance: String,
        /// Database (omit to remove the instance: container, forwards, state).
        database: Option<String>,
        /// Remove a whole instance without asking.
        #[arg(short = 'y', long)]
        yes: bool,
        #[command(flatten)]
        change: ChangeOpts,
    },
}

fn read_password(given: Option<String>) -> Result<Option<Secret>, Error> {
    match given.as_deref() {
        Some("-") => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| Error::io("reading the password from", "stdin", e))?;
            Ok(Some(Secret::new(line.trim_end_matches(['\n', '\r']))))
        }
        Some(p) => Ok(Some(Secret::new(p))),
        None => Ok(None),
    }
}

fn listing(rows: &[DbInfo], as_json: bool) -> Result<(), Error> {
    if as_json {
        return output::json(rows);
    }
    let mut t = output::table(&[
        "INSTANCE",
        "TYPE",
        "SERVER",
        "ADDRESS",
        "PORT",
        "VERSION",
        "PUBLISHED",
        "DATABASE",
        "USER",
        "ALLOWED",
        "SIZE",
        "ANSWERS",
    ]);
    for d in rows {
        let r = &d.instance;
        let published: Vec<String> =
            r.container.published.iter().map(|f| format!("{}:{}", r.container.server, f)).collect();
        let head = vec![
            r.container.name.clone(),
            r.engine.to_string(),
            r.container.server.clone(),
            r.container.address.to_string(),
            r.port.to_string(),
            d.version.clone().unwrap_or_else(|| "-".into()),
            if published.is_empty() { "-".into() } else { published.join(", ") },
        ];
        let answers = if d.answers { "yes".to_string() } else { "no".to_string() };
        if r.databases.is_empty() {
            let mut row = head.clone();
            row.extend(["(none)".into(), "-".into(), "-".into(), "-".into(), answers.clone()]);
            t.add_row(row);
        }
        for (i, db) in r.databases.values().enumerate() {
            let mut row = if i == 0 { head.clone() } else { vec![String::new(); head.len()] };
            let size = d.sizes.get(&db.name).map_or("-".to_string(), |b| human(*b));
            row.extend([db.name.clone(), db.user.clone(), db.allowed.join(", "), size, answers.clone()]);
            t.add_row(row);
        }
    }
    println!("{t}");
    Ok(())
}

fn human(b: u64) -> String {
    const K: u64 = 1024;
    match b {
        b if b >= K * K * K => format!("{:.1} GiB", b as f64 / (K * K * K) as f64),
        b if b >= K * K => format!("{:.1} MiB", b as f64 / (K * K) as f64),
        b if b >= K => format!("{:.1} KiB", b as f64 / K as f64),
        b => format!("{b} B"),
    }
}

fn added_line(a: &DbAdded) -> String {
    let r = &a.instance;
    let db = &r.databases[&a.database];
    let what = if a.changes.is_empty() { "nothing to change".to_string() } else { a.changes.join("; ") };
    format!(
        "{} {} on {} at {}:{}: database {} owned by {} from {} ({what})",
        r.engine,
        r.container.name,
        r.container.server,
        r.container.address,
        r.port,
        db.name,
        db.user,
        db.allowed.join(", ")
    )
}

fn confirm(question: &str) -> Result<bool, Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::invalid(
            "--yes",
            "",
            format!("{question}: not asked (stdin is not a terminal); pass --yes"),
        ));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| Error::io("reading the answer from", "stdin", e))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// Runs a database verb; the exit code.
pub async fn run(cluster: &Cluster, cmd: DbCommand, progress: &StepProgress) -> Result<u8, Error> {
    match cmd {
        DbCommand::Adddb { engine, server, user, database, name, allow, password, change } => {
            let password = read_password(password)?;
            let spec = DbSpec { engine, server, user, database, name, allowed: allow, password };
            let a = cluster.add_db(spec, change.apply(), progress).await?;
            output::applied(&a, change.json, added_line)?;
            if a.executed && a.record.generated_password && !change.json {
                let r = &a.record.instance;
                let db = &r.databases[&a.record.database];
                let pw = cluster.db_password(&r.container.name, &db.name)?;
                println!(
                    "password of {} (shown once; kept in {}, shown again by `flockport listdbs --show-password {}/{}`): {}",
                    db.user,
                    a.record.password_file,
                    r.container.name,
                    db.name,
                    pw.expose()
                );
            }
        }
        DbCommand::Listdbs { json, show_password: Some(target) } => {
            let (instance, database) = match target.split_once('/') {
                Some((i, d)) => (i.to_string(), d.to_string()),
                None => {
                    let st = cluster.state().await?;
                    let only = st
                        .dbs
                        .get(&target)
                        .and_then(|r| (r.databases.len() == 1).then(|| r.databases.keys().next().cloned()).flatten());
                    match only {
                        Some(d) => (target.clone(), d),
                        None => {
                            return Err(Error::invalid(
                                "--show-password",
                                target,
                                "give INSTANCE/DATABASE (INSTANCE alone only when it holds one database)",
                            ))
                        }
                    }
                }
            };
            let pw = cluster.db_password(&instance, &database)?;
            if json {
                return Err(Error::invalid("--json", "--show-password", "a password is never printed as JSON"));
            }
            println!("{}", pw.expose());
        }
        DbCommand::Listdbs { json, show_password: None } => {
            let rows = cluster.dbs().await?;
            listing(&rows, json)?;
            let code =
                output::unread_rows(rows.iter().map(|d| {
                    (d.instance.container.server.as_str(), d.instance.container.name.as_str(), d.error.as_ref())
                }));
            if code != 0 {
                return Ok(code);
            }
        }
        DbCommand::Deldb { instance, database, yes, change } => {
            if database.is_none() && !yes && !change.dry_run {
                // Validate first, so a typo is an error and not a question.
                let st = cluster.state().await?;
                if let Some(r) = st.dbs.get(&instance) {
                    let q = format!(
                        "remove {} instance {instance} on {} with its {} database(s) and their data?",
                        r.engine,
                        r.container.server,
                        r.databases.len()
                    );
                    if !confirm(&q)? {
                        eprintln!("nothing was changed");
                        return Ok(1);
                    }
                }
            }
            let a = cluster.del_db(&instance, database.as_deref(), change.apply()).await?;
            output::applied(&a, change.json, |r| match &database {
                Some(d) => format!("dropped database {d} and its user from {}", r.container.name),
                None => format!("removed {} instance {} from {}", r.engine, r.container.name, r.container.server),
            })?;
        }
    }
    Ok(0)
}
