//! The webserver verbs (Flockport's "Webservers" section): addws, listws,
//! pubapp, delapp, delws, addhosts, delhosts. `pub`/`unpub` are the shared
//! service-container verbs.

use crate::output::{self, StepProgress};
use crate::{ChangeOpts, ListOpts};
use clap::Subcommand;
use flockport_core::ws::{App, AppSpec, TlsSource, WsInfo, WsRecord};
use flockport_core::{Cluster, Error};
use std::path::PathBuf;

/// The webserver verbs.
#[derive(Debug, Subcommand)]
pub enum WsCommand {
    /// Deploy an Nginx webserver on a server; it publishes apps with pubapp.
    Addws {
        /// Server.
        server: String,
        /// Name (default: generated, e.g. nginx1).
        #[arg(short = 'n', long = "name")]
        name: Option<String>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// List webservers with their apps (URL, upstream, TLS, health) and published ports.
    Listws(ListOpts),
    /// Publish an app on a webserver: pubapp WS URL UPSTREAM [-c CERT -k KEY | -s].
    /// UPSTREAM is IP:PORT, a container as NAME.app:PORT, or a DNS name HOST:PORT.
    Pubapp {
        /// Webserver.
        ws: String,
        /// The host name to serve the app under, e.g. myminio.org.
        url: String,
        /// IP:PORT, NAME.app:PORT (a container of the cluster) or HOST:PORT.
        upstream: String,
        /// TLS certificate (PEM): the app is served on 443, 80 redirects.
        #[arg(short = 'c', long = "cert")]
        cert: Option<PathBuf>,
        /// TLS key (PEM), with -c.
        #[arg(short = 'k', long = "key")]
        key: Option<PathBuf>,
        /// A self-signed certificate for URL, made here.
        #[arg(short = 's', long = "self-signed")]
        self_signed: bool,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Remove an app from a webserver.
    Delapp {
        /// Webserver.
        ws: String,
        /// The app's URL.
        url: String,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Remove a webserver: its forwards, its container and its state.
    Delws {
        /// Webserver.
        ws: String,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Point URL at IP in this machine's /etc/hosts (in a block marked as flockport's).
    Addhosts {
        /// Host name.
        url: String,
        /// Address, e.g. the webserver's or, after pub, its server's.
        ip: String,
        /// Another hosts file.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Remove URL's entry that addhosts made.
    Delhosts {
        /// Host name.
        url: String,
        /// Another hosts file.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        #[command(flatten)]
        change: ChangeOpts,
    },
}

fn app_line(a: &App) -> String {
    let tls = match &a.tls {
        Some(t) if t.source == TlsSource::SelfSigned => format!(", https (self-signed, expires {})", t.not_after),
        Some(t) => format!(", https (expires {})", t.not_after),
        None => String::new(),
    };
    format!("{} -> {}{tls}", a.url, a.upstream)
}

fn ws_line(r: &WsRecord) -> String {
    let apps: Vec<String> = r.apps.values().map(app_line).collect();
    format!(
        "webserver {} on {} at {}: {}",
        r.container.name,
        r.container.server,
        r.container.address,
        if apps.is_empty() { "no apps".into() } else { apps.join("; ") }
    )
}

fn listing(rows: &[WsInfo], as_json: bool) -> Result<(), Error> {
    if as_json {
        return output::json(rows);
    }
    let mut t = output::table(&["NAME", "SERVER", "ADDRESS", "PUBLISHED", "APP", "UPSTREAM", "TLS", "HEALTH"]);
    for w in rows {
        let r = &w.record;
        let published: Vec<String> = r
            .container
            .published
            .iter()
            .map(|f| format!("{}:{} -> {}", r.container.server, f.host_port, f.port))
            .collect();
        let head = vec![
            r.container.name.clone(),
            r.container.server.clone(),
            r.container.address.to_string(),
            if published.is_empty() { "-".into() } else { published.join(", ") },
        ];
        if r.apps.is_empty() {
            let mut row = head.clone();
            row.extend(["(no apps)".into(), "-".into(), "-".into(), "-".into()]);
            t.add_row(row);
        }
        for (i, a) in r.apps.values().enumerate() {
            let mut row = if i == 0 { head.clone() } else { vec![String::new(); 4] };
            let health = w.health.iter().find(|h| h.url == a.url).map_or("unknown", |h| h.health.as_str());
            let tls = match &a.tls {
                Some(t) if t.source == TlsSource::SelfSigned => format!("self-signed, expires {}", t.not_after),
                Some(t) => format!("given, expires {}", t.not_after),
                None => "-".into(),
            };
            row.extend([a.url.clone(), a.upstream.to_string(), tls, health.to_string()]);
            t.add_row(row);
        }
    }
    println!("{t}");
    Ok(())
}

/// Runs a webserver verb; the exit code.
pub async fn run(cluster: &Cluster, cmd: WsCommand, progress: &StepProgress) -> Result<u8, Error> {
    match cmd {
        WsCommand::Addws { server, name, change } => {
            let a = cluster.add_ws(&server, name.as_deref(), change.apply(), progress).await?;
            output::applied(&a, change.json, |r| {
                format!("webserver {} ready on {} at {}", r.container.name, r.container.server, r.container.address)
            })?;
        }
        WsCommand::Listws(o) => {
            let rows = cluster.webservers().await?;
            listing(&rows, o.json)?;
            let code = output::unread_rows(
                rows.iter()
                    .map(|w| (w.record.container.server.as_str(), w.record.container.name.as_str(), w.error.as_ref())),
            );
            if code != 0 {
                return Ok(code);
            }
        }
        WsCommand::Pubapp { ws, url, upstream, cert, key, self_signed, change } => {
            let spec = AppSpec { ws, url, upstream, cert, key, self_signed };
            let a = cluster.pub_app(spec, change.apply(), progress).await?;
            output::applied(&a, change.json, ws_line)?;
        }
        WsCommand::Delapp { ws, url, change } => {
            let a = cluster.del_app(&ws, &url, change.apply()).await?;
            output::applied(&a, change.json, ws_line)?;
        }
        WsCommand::Delws { ws, change } => {
            let a = cluster.del_ws(&ws, change.apply()).await?;
            output::applied(&a, change.json, |r| {
                format!("removed webserver {} from {}", r.container.name, r.container.server)
            })?;
        }
        WsCommand::Addhosts { url, ip, file, change } => {
            let c = cluster.add_hosts(&url, &ip, file.as_deref(), change.apply())?;
            hosts_result(&c, change.json, "added")?;
        }
        WsCommand::Delhosts { url, file, change } => {
            let c = cluster.del_hosts(&url, file.as_deref(), change.apply())?;
            hosts_result(&c, change.json, "removed")?;
        }
    }
    Ok(0)
}

fn hosts_result(c: &flockport_core::ws::HostsChange, as_json: bool, verb: &str) -> Result<(), Error> {
    if as_json {
        return output::json(c);
    }
    let ip = c.ip.map(|i| i.to_string()).unwrap_or_default();
    let what = format!("{ip} {} in {}", c.url, c.file.display());
    match (c.changed, c.executed) {
        (false, _) => println!("{what}: already so, nothing changed"),
        (true, false) => println!("would have {verb} {what} (dry run)"),
        (true, true) => println!("{verb} {what}"),
    }
    Ok(())
}
