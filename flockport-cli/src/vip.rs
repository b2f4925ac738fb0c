//! The floating-IP verbs (Flockport's "High availability" section):
//! `addvip`, `listvips` (alias `listvip`), `delvip`. Kept apart from
//! `main.rs`, which only flattens [`VipCommand`] into its verbs.

use crate::output::StepProgress;
use crate::{ChangeOpts, ListOpts};
use clap::Subcommand;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use flockport_core::vip::{spec, VipInfo, VipSpec};
use flockport_core::{Cluster, Error};

/// The floating-IP verbs.
#[derive(Debug, Subcommand)]
pub enum VipCommand {
    /// Add a floating IP held by SERVER1 (master) and taken over by SERVER2 (keepalived on both).
    Addvip {
        /// The server that holds it while both run.
        server1: String,
        /// The server that takes it over.
        server2: String,
        /// The floating IPv4 address, in both servers' LAN (reserve it beforehand).
        ip: String,
        /// Name (default: generated, e.g. vip1).
        #[arg(short = 'n', long = "name")]
        name: Option<String>,
        /// VRRP advert interval in seconds: whole seconds (VRRPv2, default 1) or a fraction such
        /// as 0.1 (VRRPv3, sub-second failover).
        #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
        advert_int: Option<String>,
        /// A port whose local service must answer for a server to hold the address; repeatable.
        #[arg(long = "track", value_name = "PORT")]
        track: Vec<u16>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// List floating IPs: which server holds each now, keepalived's state on both, tracked ports.
    #[command(alias = "listvip")]
    Listvips(ListOpts),
    /// Remove a floating IP from both servers.
    Delvip {
        /// Its name (see listvips).
        name: String,
        #[command(flatten)]
        change: ChangeOpts,
    },
}

/// Runs a floating-IP verb; the exit code.
pub async fn run(cluster: &Cluster, cmd: VipCommand, progress: &StepProgress) -> Result<u8, Error> {
    match cmd {
        VipCommand::Addvip { server1, server2, ip, name, advert_int, track, change } => {
            let advert_int = advert_int.as_deref().map(spec::parse_advert).transpose()?;
            let vs = VipSpec { server1, server2, ip, name, advert_int, track };
            let a = cluster.add_vip(vs, change.apply(), progress).await?;
            crate::output::applied(&a, change.json, |v| {
                format!(
                    "floating IP {} ({}) on {} (master) and {} (backup), vrid {}, VRRPv{}, advert {} s",
                    v.name,
                    v.ip,
                    v.master.server,
                    v.backup.server,
                    v.vrid,
                    v.version,
                    v.advert_text()
                )
            })?;
        }
        VipCommand::Listvips(o) => {
            let rows = cluster.vips().await?;
            print_vips(&rows, o.json)?;
            let unread: Vec<(String, String)> = rows
                .iter()
                .flat_map(|v| v.servers.iter())
                .filter_map(|s| s.error.as_ref().map(|e| (s.server.clone(), e.clone())))
                .collect();
            let mut seen = std::collections::BTreeSet::new();
            let unread: Vec<(String, String)> = unread.into_iter().filter(|(s, _)| seen.insert(s.clone())).collect();
            if !unread.is_empty() {
                crate::output::unread(&unread);
                return Ok(3);
            }
        }
        VipCommand::Delvip { name, change } => {
            let a = cluster.del_vip(&name, change.apply()).await?;
            crate::output::applied(&a, change.json, |v| {
                format!("removed floating IP {} ({}) from {} and {}", v.name, v.ip, v.master.server, v.backup.server)
            })?;
        }
    }
    Ok(0)
}

fn print_vips(rows: &[VipInfo], as_json: bool) -> Result<(), Error> {
    if as_json {
        let s = serde_json::to_string_pretty(rows).map_err(|e| Error::invalid("output", "", e.to_string()))?;
        println!("{s}");
        return Ok(());
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "NAME",
        "IP",
        "SERVERS",
        "HOLDER",
        "KEEPALIVED",
        "TRACKED",
        "ADVERT",
        "VRID",
    ]);
    for v in rows {
        let keepalived: Vec<String> = v
            .servers
            .iter()
            .map(|s| match &s.error {
                Some(_) => format!("{}: unreadable", s.server),
                None => format!("{}: {}", s.server, s.keepalived),
            })
            .collect();
        let tracked: Vec<String> = v
            .vip
            .track
            .iter()
            .map(|p| {
                let on: Vec<String> = v
                    .servers
                    .iter()
                    .filter(|s| s.error.is_none())
                    .map(|s| {
                        let up = s.tracks.iter().any(|t| t.port == *p && t.up);
                        format!("{}:{}", s.server, if up { "up" } else { "down" })
                    })
                    .collect();
                format!("{p} ({})", on.join(" "))
            })
            .collect();
        let holder = match (&v.holder, v.address_on.len()) {
            (Some(h), 2) => format!(
                "{h} (also left on {})",
                v.address_on.iter().filter(|s| *s != h).cloned().collect::<Vec<_>>().join(",")
            ),
            (Some(h), _) => h.clone(),
            (None, 0) => "nobody".into(),
            (None, _) => format!("split: {}", v.address_on.join(",")),
        };
        t.add_row(vec![
            v.vip.name.clone(),
            v.vip.ip.to_string(),
            format!("{} -> {}", v.vip.master.server, v.vip.backup.server),
            holder,
            keepalived.join("\n"),
            if tracked.is_empty() { "-".into() } else { tracked.join("\n") },
            format!("{} s (v{})", v.vip.advert_text(), v.vip.version),
            v.vip.vrid.to_string(),
        ]);
    }
    println!("{t}");
    Ok(())
}
