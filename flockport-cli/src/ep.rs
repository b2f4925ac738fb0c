//! The endpoint verbs (Flockport's "Service discovery" section, part 1):
//! addep, listep, delep.

use crate::output::{self, StepProgress};
use crate::{ChangeOpts, ListOpts};
use clap::Subcommand;
use flockport_core::ep::EpListing;
use flockport_core::{Cluster, Error};

/// The endpoint verbs.
#[derive(Debug, Subcommand)]
pub enum EpCommand {
    /// Deploy a Consul endpoint (server agent) on a server at a static IP in its subnet;
    /// the first bootstraps the cluster, the next ones join it.
    Addep {
        /// Server.
        server: String,
        /// Static address in the server's container subnet, e.g. 10.0.4.10.
        ip: String,
        /// Name (default: consul- and the address's last number, e.g. consul-10).
        #[arg(short = 'n', long = "name")]
        name: Option<String>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// List endpoints: raft role and health read from Consul now, peers, fault tolerance.
    Listep(ListOpts),
    /// Remove an endpoint: it leaves the cluster, then its container goes.
    Delep {
        /// Endpoint.
        name: String,
        /// Remove it even when fewer than two endpoints would remain or some are down.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        change: ChangeOpts,
    },
}

fn listing(l: &EpListing, as_json: bool) -> Result<(), Error> {
    if as_json {
        return output::json(l);
    }
    let mut t = output::table(&["NAME", "SERVER", "ADDRESS", "ROLE", "VOTER", "STATUS", "UI", "DNS"]);
    for e in &l.endpoints {
        let r = &e.record.container;
        t.add_row(vec![
            r.name.clone(),
            r.server.clone(),
            r.address.to_string(),
            e.role.clone().unwrap_or_else(|| "-".into()),
            if e.voter { "yes".into() } else { "no".into() },
            if e.answers { e.status.clone() } else { format!("{} (not answering)", e.status) },
            format!("http://{}:8500/ui/", r.address),
            format!("{}:8600", r.address),
        ]);
    }
    println!("{t}");
    println!(
        "leader: {}; peers: {}; fault tolerance: {}",
        l.leader.as_deref().unwrap_or("none"),
        l.peers,
        l.fault_tolerance
    );
    if let Some(w) = &l.warning {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// Runs an endpoint verb; the exit code.
pub async fn run(cluster: &Cluster, cmd: EpCommand, progress: &StepProgress) -> Result<u8, Error> {
    match cmd {
        EpCommand::Addep { server, ip, name, change } => {
            let a = cluster.add_ep(&server, &ip, name.as_deref(), change.apply(), progress).await?;
            output::applied(&a, change.json, |r| {
                format!(
                    "endpoint {} ready on {} at {} (UI http://{}:8500/ui/, DNS {}:8600)",
                    r.container.name, r.container.server, r.container.address, r.container.address, r.container.address
                )
            })?;
        }
        EpCommand::Listep(o) => {
            let l = cluster.endpoints().await?;
            listing(&l, o.json)?;
            let code = output::unread_rows(
                l.endpoints
                    .iter()
                    .map(|e| (e.record.container.server.as_str(), e.record.container.name.as_str(), e.error.as_ref())),
            );
            if code != 0 {
                return Ok(code);
            }
        }
        EpCommand::Delep { name, force, change } => {
            let a = cluster.del_ep(&name, force, change.apply()).await?;
            output::applied(&a, change.json, |r| {
                format!("removed endpoint {} from {}", r.container.name, r.container.server)
            })?;
        }
    }
    Ok(0)
}
