//! Service discovery, part 2: containers' services and checks
//! (`addservice`, `listservice`, `delservice`, `addcheck`, `delcheck`).
//!
//! A container's services are kept in state and, on its server, as one
//! agent-config document (`defs/NAME.json`, see [`super::agents`]). The
//! server's LXC hooks copy it into the server's Consul client agent's
//! config directory when the container starts and remove it when it stops,
//! so publication follows the container's life whoever starts or stops it,
//! with no flockport process running. A change on a running container is
//! applied at once (the same hook, run by flockport) and awaited in the
//! catalog when the server has an agent.

use super::agents;
use super::catalog::{self, check_label, CheckKind};
use super::services::ServiceInstance;
use crate::cluster::{Applied, ApplyOptions, Cluster};
use crate::error::{Error, Result};
use crate::inventory::ServerConfig;
use crate::plan::{Content, NoProgress, Plan, Step};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// The tag of every container service (what `services` calls `container`).
pub const TAG: &str = "flockport-container";

/// A service of a container (`addservice CONTAINER NAME PORT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct ContainerService {
    /// Its name (`NAME.service.consul`).
    pub name: String,
    /// The port it serves on the container's address.
    pub port: u16,
}

/// A check of a container's services (`addcheck CONTAINER NAME tcp PORT |
/// http URL`), run by its server's agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct ContainerCheck {
    /// Its name (unique on the container).
    pub name: String,
    /// tcp or http.
    pub kind: CheckKind,
    /// tcp: the port; http: the URL, or a bare host name (`http://ADDRESS/`
    /// with that Host header).
    pub target: String,
    /// Seconds between runs.
    pub interval_secs: u32,
}

/// A container's services and checks, as recorded in state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[record(repr(container, server, address, services, checks))]
pub struct ContainerServices {
    /// The container.
    pub container: String,
    /// Its server.
    pub server: String,
    /// Its address (where the services answer).
    pub address: Ipv4Addr,
    /// Its services.
    pub services: Vec<ContainerService>,
    /// Its checks (each applies to every service of the container).
    #[serde(default)]
    pub checks: Vec<ContainerCheck>,
}

/// `listservice CONTAINER`: what is defined and what Consul holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
#[record(repr(record, registered, note))]
pub struct ContainerServiceListing {
    /// The definitions.
    pub record: ContainerServices,
    /// Its instances in Consul's catalog now.
    pub registered: Vec<ServiceInstance>,
    /// Why Consul could not be read, or what to expect (no endpoint yet).
    pub note: Option<String>,
}

impl ContainerServices {
    /// Consul's ID of service `name` of this container.
    pub fn service_id(&self, name: &str) -> String {
        format!("{}:{name}", self.container)
    }

    /// The agent config document the container's server registers while it
    /// runs (no token: the agent's default token registers it).
    pub fn agent_config(&self) -> String {
        let defs: Vec<serde_json::Value> = self
            .services
            .iter()
            .map(|s| {
                let checks: Vec<serde_json::Value> =
                    self.checks.iter().map(|c| self.check_json(&self.service_id(&s.name), c)).collect();
                serde_json::json!({
                    "id": self.service_id(&s.name),
                    "name": s.name,
                    "address": self.address.to_string(),
                    "port": s.port,
                    "tags": [TAG, self.container],
                    "meta": {"flockport": "container", "flockport-container": self.container, "flockport-server": self.server},
                    "checks": checks,
                })
            })
            .collect();
        let doc = serde_json::json!({ "services": defs });
        // A `Value` always serialises; the fallback is never taken.
        serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into()) + "\n"
    }

    fn check_json(&self, service_id: &str, c: &ContainerCheck) -> serde_json::Value {
        let mut v = serde_json::json!({
            "id": format!("{service_id}:{}", c.name),
            "name": c.name,
            "interval": format!("{}s", c.interval_secs),
            "timeout": format!("{}s", c.interval_secs.clamp(1, 5)),
        });
        match c.kind {
            CheckKind::Tcp => v["tcp"] = format!("{}:{}", self.address, c.target).into(),
            CheckKind::Http if c.target.contains("://") => v["http"] = c.target.clone().into(),
            CheckKind::Http => {
                v["http"] = format!("http://{}/", self.address).into();
                v["header"] = serde_json::json!({ "Host": [c.target] });
            }
        }
        v
    }
}

/// A port of a service or tcp check: 1-65535.
pub fn check_port(field: &'static str, port: u32) -> Result<u16> {
    u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| Error::invalid(field, port.to_string(), "give a port from 1 to 65535"))
}

/// An http check's target: an `http://`/`https://` URL, or a host name
/// (the seed's `mywordpress.org`: the container's address with that Host).
pub fn check_http_target(target: &str) -> Result<()> {
    if target.contains("://") {
        return catalog::parse_check_url(target).map(|_| ());
    }
    if crate::names::is_dns_name(target) {
        return Ok(());
    }
    Err(Error::invalid(
        "check target",
        target,
        "an http check takes an http:// or https:// URL, or a host name such as mywordpress.org (asked at the container's address)",
    ))
}

fn defs_path(container: &str) -> String {
    format!("{}/{container}.json", agents::DEFS_DIR)
}

/// Removes `container`'s definitions and registration on `server` (the
/// container is gone or going; the agent re-reads its config).
pub fn forget_container_services_step(server: &ServerConfig, container: &str) -> Step {
    Step::run(
        &server.name,
        format!("forget the service definitions of {container}"),
        vec![
            "sh".into(),
            "-c".into(),
            r#"rm -f "$1" && { [ ! -x "$2" ] || "$2" stop "$3" "$4"; }"#.into(),
            "sh".into(),
            defs_path(container),
            agents::SERVICES_HOOK.into(),
            container.into(),
            server.lxcpath.clone(),
        ],
    )
}

fn no_services(container: &str) -> Error {
    Error::not_found(
        "container services",
        container,
        format!("{container} has no services; flockport addservice {container} NAME PORT"),
    )
}

/// The steps that make `container`'s definitions on its server `rec` (none:
/// removed) and apply them at once (registered while the container runs),
/// then, with `wait`, until the catalog shows its services `present` and
/// not `absent` from that server (it has an agent and the container runs).
fn container_services_steps(
    server: &ServerConfig,
    container: &str,
    rec: Option<&ContainerServices>,
    running: bool,
    wait: Option<(&[String], &[String])>,
) -> Vec<Step> {
    let mut steps = agents::hook_steps(server);
    steps.push(crate::lxc::hooks_step(server, container));
    match rec {
        Some(r) => steps.push(Step::write_file(
            &server.name,
            format!("write the service definitions of {container}"),
            defs_path(container),
            0o644,
            Content::text(r.agent_config()),
        )),
        None => steps.push(Step::run(
            &server.name,
            format!("remove the service definitions of {container}"),
            vec!["rm".into(), "-f".into(), defs_path(container)],
        )),
    }
    steps.push(Step::run(
        &server.name,
        format!("apply {container}'s services now ({})", if running { "it runs" } else { "it does not run" }),
        vec![agents::SERVICES_HOOK.into(), "sync".into(), container.into(), server.lxcpath.clone()],
    ));
    if let Some((present, absent)) = wait {
        steps.push(agents::wait_catalog_step(server, container, present, absent));
    }
    steps
}

impl Cluster {
    async fn services_change(
        &self,
        operation: String,
        container: &str,
        change: impl FnOnce(Option<ContainerServices>, Ipv4Addr, &str) -> Result<(Option<ContainerServices>, String)>,
        opts: ApplyOptions,
    ) -> Result<Applied<ContainerServices>> {
        crate::names::check_name("container name", container)?;
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        let current = state.container_services.get(container).cloned();
        let (server, info) = self.locate(container).await?;
        let address = info.address().or(current.as_ref().map(|c| c.address)).ok_or_else(|| {
            Error::invalid(
                "container",
                container,
                "it has no IPv4 address to publish; give it a static one (flockport addcontainer --ip) or start it",
            )
        })?;
        let (next, what) = change(current.clone(), address, &server.name)?;
        let running = info.state == crate::lxc::ContainerState::Running;
        let before: Vec<String> = current.iter().flat_map(|c| c.services.iter().map(|s| s.name.clone())).collect();
        let after: Vec<String> = next.iter().flat_map(|c| c.services.iter().map(|s| s.name.clone())).collect();
        let absent: Vec<String> = before.iter().filter(|n| !after.contains(n)).cloned().collect();
        let mut plan = Plan::new(operation);
        let wait = (running && state.agents.contains(&server.name)).then_some((after.as_slice(), absent.as_slice()));
        plan.steps = container_services_steps(&server, container, next.as_ref(), running, wait);
        plan.state_changes.push(what);
        if state.eps.is_empty() {
            plan.state_changes
                .push("no Consul endpoint yet: published once the first one exists (flockport addep)".into());
        } else if !running {
            plan.state_changes.push(format!("{container} does not run: published when it starts"));
        }
        let record = next.clone().or(current).ok_or_else(|| no_services(container))?;
        let name = container.to_string();
        self.finish(plan, txn, record, opts, &NoProgress, move |st| {
            match next {
                Some(n) => st.container_services.insert(name, n),
                None => st.container_services.remove(&name),
            };
            Ok(())
        })
        .await
    }

    /// `addservice CONTAINER NAME PORT`: a service of the container,
    /// registered with its server's agent while it runs.
    pub async fn add_service(
        &self,
        container: &str,
        name: &str,
        port: u32,
        opts: ApplyOptions,
    ) -> Result<Applied<ContainerServices>> {
        check_label("service name", name)?;
        let port = check_port("port", port)?;
        let op = format!("addservice {container} {name} {port}");
        self.services_change(
            op,
            container,
            |cur, address, server| {
                let mut rec = cur.unwrap_or_else(|| ContainerServices {
                    container: container.into(),
                    server: server.into(),
                    address,
                    services: Vec::new(),
                    checks: Vec::new(),
                });
                if let Some(s) = rec.services.iter().find(|s| s.name == name) {
                    return Err(Error::invalid(
                        "service name",
                        name,
                        format!("{container} already has service {name} (port {}); flockport delservice {container} {name} first", s.port),
                    ));
                }
                rec.server = server.into();
                rec.address = address;
                rec.services.push(ContainerService { name: name.into(), port });
                Ok((Some(rec), format!("{container}: service {name} on port {port} ({name}.service.consul)")))
            },
            opts,
        )
        .await
    }

    /// `delservice CONTAINER [NAME]`: removes service NAME of the container,
    /// or every one (and then its checks too).
    pub async fn del_service(
        &self,
        container: &str,
        name: Option<&str>,
        opts: ApplyOptions,
    ) -> Result<Applied<ContainerServices>> {
        let op = format!("delservice {container}{}", name.map(|n| format!(" {n}")).unwrap_or_default());
        self.services_change(
            op,
            container,
            |cur, _, _| {
                let mut rec = cur.ok_or_else(|| no_services(container))?;
                match name {
                    Some(n) => {
                        if !rec.services.iter().any(|s| s.name == n) {
                            let have: Vec<&str> = rec.services.iter().map(|s| s.name.as_str()).collect();
                            return Err(Error::not_found(
                                "service",
                                n,
                                format!("{container} has no service {n} (it has: {})", have.join(", ")),
                            ));
                        }
                        rec.services.retain(|s| s.name != n);
                    }
                    None => rec.services.clear(),
                }
                if rec.services.is_empty() {
                    let checks = rec.checks.len();
                    Ok((None, format!("{container}: no services left (and its {checks} check(s) go)")))
                } else {
                    Ok((Some(rec), format!("{container}: service {} removed", name.unwrap_or_default())))
                }
            },
            opts,
        )
        .await
    }

    /// `addcheck CONTAINER NAME tcp PORT | http URL`: a check of the
    /// container's services, run by its server's agent every `interval`
    /// seconds (default 3).
    pub async fn add_check(
        &self,
        container: &str,
        name: &str,
        kind: &str,
        target: &str,
        interval: Option<u32>,
        opts: ApplyOptions,
    ) -> Result<Applied<ContainerServices>> {
        check_label("check name", name)?;
        let kind = catalog::parse_kind(kind).map_err(|_| {
            Error::invalid("check kind", kind, "a container's check is `tcp PORT` or `http URL|HOSTNAME`")
        })?;
        let target = match kind {
            CheckKind::Tcp => {
                let p: u32 = target.parse().map_err(|_| {
                    Error::invalid("check port", target, "a tcp check takes the container's port, e.g. 80")
                })?;
                check_port("check port", p)?.to_string()
            }
            CheckKind::Http => {
                check_http_target(target)?;
                target.to_string()
            }
        };
        let interval_secs = interval.unwrap_or(catalog::DEFAULT_INTERVAL_SECS);
        if !(1..=3600).contains(&interval_secs) {
            return Err(Error::invalid("interval", interval_secs.to_string(), "give seconds from 1 to 3600"));
        }
        let op =
            format!("addcheck {container} {name} {} {target}", if kind == CheckKind::Tcp { "tcp" } else { "http" });
        self.services_change(
            op,
            container,
            |cur, _, _| {
                let mut rec = cur.ok_or_else(|| no_services(container))?;
                if rec.checks.iter().any(|c| c.name == name) {
                    return Err(Error::invalid(
                        "check name",
                        name,
                        format!("{container} already has check {name}; flockport delcheck {container} {name} first"),
                    ));
                }
                rec.checks.push(ContainerCheck { name: name.into(), kind, target: target.clone(), interval_secs });
                Ok((Some(rec), format!("{container}: check {name} of its services, every {interval_secs}s")))
            },
            opts,
        )
        .await
    }

    /// `delcheck CONTAINER NAME`: removes a check of the container.
    pub async fn del_check(
        &self,
        container: &str,
        name: &str,
        opts: ApplyOptions,
    ) -> Result<Applied<ContainerServices>> {
        let op = format!("delcheck {container} {name}");
        self.services_change(
            op,
            container,
            |cur, _, _| {
                let mut rec = cur.ok_or_else(|| no_services(container))?;
                if !rec.checks.iter().any(|c| c.name == name) {
                    let have: Vec<&str> = rec.checks.iter().map(|c| c.name.as_str()).collect();
                    return Err(Error::not_found(
                        "check",
                        name,
                        format!(
                            "{container} has no check {name} (it has: {})",
                            if have.is_empty() { "none".to_string() } else { have.join(", ") }
                        ),
                    ));
                }
                rec.checks.retain(|c| c.name != name);
                Ok((Some(rec), format!("{container}: check {name} removed")))
            },
            opts,
        )
        .await
    }

    /// `listservice CONTAINER`: its services and checks as defined, and
    /// their instances in Consul's catalog now.
    pub async fn list_service(&self, container: &str) -> Result<ContainerServiceListing> {
        crate::names::check_name("container name", container)?;
        let state = self.store().load().await?;
        let record = state.container_services.get(container).cloned().ok_or_else(|| no_services(container))?;
        if state.eps.is_empty() {
            return Ok(ContainerServiceListing {
                record,
                registered: Vec::new(),
                note: Some("no Consul endpoint yet: published once the first one exists (flockport addep)".into()),
            });
        }
        match self.catalog_instances(&state).await.0 {
            Ok(all) => Ok(ContainerServiceListing {
                registered: all.into_iter().filter(|i| i.container.as_deref() == Some(container)).collect(),
                record,
                note: None,
            }),
            Err(e) => Ok(ContainerServiceListing {
                record,
                registered: Vec::new(),
                note: Some(format!("Consul could not be read: {e}")),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> ContainerServices {
        ContainerServices {
            container: "c3".into(),
            server: "s2".into(),
            address: Ipv4Addr::new(10, 0, 5, 20),
            services: vec![ContainerService { name: "wordpress".into(), port: 80 }],
            checks: vec![
                ContainerCheck {
                    name: "mycheck".into(),
                    kind: CheckKind::Http,
                    target: "mywordpress.org".into(),
                    interval_secs: 3,
                },
                ContainerCheck { name: "port".into(), kind: CheckKind::Tcp, target: "80".into(), interval_secs: 2 },
            ],
        }
    }

    #[test]
    fn a_container_service_becomes_one_registration_with_its_checks() {
        let v: serde_json::Value = serde_json::from_str(&rec().agent_config()).unwrap();
        let s = &v["services"][0];
        assert_eq!(s["id"], "c3:wordpress");
        assert_eq!((s["address"].as_str(), s["port"].as_u64()), (Some("10.0.5.20"), Some(80)));
        assert_eq!(s["meta"]["flockport-container"], "c3");
        assert_eq!(s["meta"]["flockport-server"], "s2");
        assert_eq!(s["checks"][0]["http"], "http://10.0.5.20/");
        assert_eq!(s["checks"][0]["header"]["Host"][0], "mywordpress.org");
        assert_eq!(s["checks"][0]["id"], "c3:wordpress:mycheck");
        assert_eq!(s["checks"][1]["tcp"], "10.0.5.20:80");
        assert_eq!(s["checks"][1]["interval"], "2s");
        assert!(s.get("token").is_none(), "no token in a container's registration");
    }

    #[test]
    fn ports_and_http_targets_are_checked() {
        assert_eq!(check_port("port", 80).unwrap(), 80);
        for bad in [0, 65536, 99999] {
            let e = check_port("port", bad).unwrap_err().to_string();
            assert!(e.contains(&bad.to_string()), "{e}");
        }
        assert!(check_http_target("mywordpress.org").is_ok());
        assert!(check_http_target("http://10.0.5.20/health").is_ok());
        for bad in ["ftp://x", "my wordpress", "a'b", "http://x y/"] {
            assert!(check_http_target(bad).is_err(), "{bad}");
        }
    }
}
