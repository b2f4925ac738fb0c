//! Ad-hoc services and checks (`pubservice`, `pubcheck`, `unpubservice`,
//! `unpubcheck`): their records, the validation of what the user gives, and
//! the Consul agent configuration they become.
//!
//! Every endpoint's agent registers every ad-hoc service and runs its checks
//! ("published to any available endpoints"), so losing an endpoint loses no
//! service; Consul's DNS answers an address once however many agents hold
//! it. The set is one JSON document in Consul's KV store ([`KV_KEY`]),
//! written once per change through any endpoint and replicated by raft; a
//! watcher in each endpoint's container applies it to its own agent
//! (see [`super::steps::SYNC_SCRIPT`]), also when an endpoint that was down
//! returns, so no endpoint keeps a service deleted meanwhile.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// The KV key holding the ad-hoc services as an agent config document.
pub const KV_KEY: &str = "flockport/services";
/// The tag of every ad-hoc service (what `services` calls `pubservice`).
pub const TAG: &str = "flockport-pubservice";
/// What each endpoint's watcher replaces with the management token (the
/// token a config-file service is registered and synced with).
pub const TOKEN_PLACEHOLDER: &str = "@flockport-token@";
/// How often a check runs unless `--interval` says otherwise.
pub const DEFAULT_INTERVAL_SECS: u32 = 3;
/// Longest service or check name (a DNS label).
pub const MAX_NAME: usize = 63;

/// The kind of an ad-hoc check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// A TCP connect to `IP:PORT`.
    Tcp,
    /// An HTTP GET of a URL; any 2xx answer passes.
    Http,
}

/// A check of an ad-hoc service, run by every endpoint's agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct AdhocCheck {
    /// Its name (unique among ad-hoc checks; also its ID in Consul).
    pub name: String,
    /// tcp or http.
    pub kind: CheckKind,
    /// `IP:PORT` (tcp) or the URL (http).
    pub target: String,
    /// Seconds between runs.
    pub interval_secs: u32,
}

/// An ad-hoc service instance (`pubservice NAME IP:PORT`) and its checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[record(repr(name, address, port, checks))]
pub struct AdhocService {
    /// The service's name (`NAME.service.consul`).
    pub name: String,
    /// The instance's address.
    pub address: Ipv4Addr,
    /// The instance's port.
    pub port: u16,
    /// Its checks.
    #[serde(default)]
    pub checks: Vec<AdhocCheck>,
}

impl AdhocService {
    /// Its ID in Consul (and key in state): `NAME-A-B-C-D-PORT`.
    pub fn id(&self) -> String {
        instance_id(&self.name, self.address, self.port)
    }
}

/// The ID of the instance of `name` at `address:port`.
pub fn instance_id(name: &str, address: Ipv4Addr, port: u16) -> String {
    format!("{name}-{}-{port}", address.to_string().replace('.', "-"))
}

/// Checks a service or check name: a DNS label (lower-case letters,
/// digits, `-`; no dot, since `NAME.service.consul` must stay one label).
pub fn check_label(field: &'static str, name: &str) -> Result<()> {
    let fix = "use lower-case letters, digits and '-', starting with a letter or digit (a DNS label, at most 63 characters; no dots)";
    let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !first_ok || name.len() > MAX_NAME || name.ends_with('-') {
        return Err(Error::invalid(field, name, fix));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Err(Error::invalid(field, name, format!("character {bad:?} is not allowed; {fix}")));
    }
    Ok(())
}

/// A host in Consul's domain, as flockport writes it: the seed's short
/// `NAME.consul` becomes `NAME.service.consul`; other `*.consul` names
/// (`NAME.service.consul`, `TAG.NAME.service.consul`, `NODE.node.consul`)
/// stay. `None` for a host outside the domain.
pub fn consul_host(host: &str) -> Option<String> {
    let lower = host.to_ascii_lowercase();
    let stem = lower.strip_suffix(".consul")?;
    if stem.is_empty() {
        return None;
    }
    Some(if stem.contains('.') { lower.clone() } else { format!("{stem}.service.consul") })
}

/// The service a Consul host names: `NAME.service.consul` or
/// `TAG.NAME.service.consul` -> `NAME`.
pub fn consul_service_name(host: &str) -> Option<String> {
    let stem = host.strip_suffix(".service.consul")?;
    stem.rsplit('.').next().filter(|s| !s.is_empty()).map(str::to_string)
}

/// Parses `IP:PORT` (an IPv4 address and a port 1-65535).
pub fn parse_addr_port(field: &'static str, s: &str) -> Result<(Ipv4Addr, u16)> {
    let fix = "write IP:PORT, an IPv4 address and a port from 1 to 65535, e.g. 10.0.7.20:9000";
    let (ip, port) = s.rsplit_once(':').ok_or_else(|| Error::invalid(field, s, fix))?;
    let ip: Ipv4Addr = ip.parse().map_err(|_| Error::invalid(field, s, fix))?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0).ok_or_else(|| Error::invalid(field, s, fix))?;
    Ok((ip, port))
}

/// Parses a check's kind (`tcp` or `http`).
pub fn parse_kind(s: &str) -> Result<CheckKind> {
    match s {
        "tcp" => Ok(CheckKind::Tcp),
        "http" => Ok(CheckKind::Http),
        _ => Err(Error::invalid("check kind", s, "a check is `tcp IP:PORT` or `http URL`")),
    }
}

/// An http check's URL: `http://` or `https://`, a host (an IPv4 address or
/// a DNS name), an optional port and path; no spaces, quotes or controls.
/// Returns its host and port.
pub fn parse_check_url(url: &str) -> Result<(String, u16)> {
    let fix = "give an http:// or https:// URL, e.g. http://10.0.7.20:9000/health";
    let (rest, default_port) = if let Some(r) = url.strip_prefix("http://") {
        (r, 80)
    } else if let Some(r) = url.strip_prefix("https://") {
        (r, 443)
    } else {
        return Err(Error::invalid("check URL", url, fix));
    };
    if let Some(bad) = url.chars().find(|c| c.is_control() || c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | '`'))
    {
        return Err(Error::invalid("check URL", url, format!("character {bad:?} is not allowed; {fix}")));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => {
            (h, p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| Error::invalid("check URL", url, fix))?)
        }
        None => (authority, default_port),
    };
    if !(host.parse::<Ipv4Addr>().is_ok() || crate::names::is_dns_name(host)) {
        return Err(Error::invalid("check URL", url, format!("{host:?} is not a host; {fix}")));
    }
    Ok((host.to_string(), port))
}

/// The agent config document of `services` (what [`KV_KEY`] holds and each
/// endpoint's watcher writes into its config directory).
pub fn agent_config(services: &[&AdhocService]) -> String {
    let defs: Vec<serde_json::Value> = services
        .iter()
        .map(|s| {
            let checks: Vec<serde_json::Value> = s
                .checks
                .iter()
                .map(|c| {
                    let mut v = serde_json::json!({
                        "id": c.name,
                        "name": c.name,
                        "interval": format!("{}s", c.interval_secs),
                        "timeout": format!("{}s", c.interval_secs.clamp(1, 5)),
                        "token": TOKEN_PLACEHOLDER,
                    });
                    let key = match c.kind {
                        CheckKind::Tcp => "tcp",
                        CheckKind::Http => "http",
                    };
                    v[key] = serde_json::Value::String(c.target.clone());
                    v
                })
                .collect();
            serde_json::json!({
                "id": s.id(),
                "name": s.name,
                "address": s.address.to_string(),
                "port": s.port,
                "tags": [TAG],
                "meta": {"flockport": "pubservice"},
                "token": TOKEN_PLACEHOLDER,
                "checks": checks,
            })
        })
        .collect();
    let doc = serde_json::json!({ "services": defs });
    // A `Value` always serialises; the fallback is never taken.
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_urls_and_addresses_are_checked() {
        assert!(check_label("service name", "minio").is_ok());
        assert!(check_label("service name", "minio-2").is_ok());
        for bad in ["mi.nio", "mi nio", "mi'nio", "Minio", "", "-x", "x-", "a\"b"] {
            let e = check_label("service name", bad).unwrap_err().to_string();
            assert!(e.contains("service name"), "{e}");
        }
        assert_eq!(parse_addr_port("address", "10.0.7.20:9000").unwrap(), (Ipv4Addr::new(10, 0, 7, 20), 9000));
        for bad in ["10.0.7.20", "10.0.7.20:0", "10.0.7.20:70000", "x:80", "10.0.7:80"] {
            assert!(parse_addr_port("address", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_check_url("http://10.0.7.20:9000/health").unwrap(), ("10.0.7.20".into(), 9000));
        assert_eq!(parse_check_url("https://minio.service.consul").unwrap(), ("minio.service.consul".into(), 443));
        for bad in ["ftp://x/", "10.0.7.20:9000", "http://a b/", "http://x:0/", "http://x/'", "http:///"] {
            assert!(parse_check_url(bad).is_err(), "{bad}");
        }
        assert!(parse_kind("udp").is_err());
        assert_eq!(consul_host("minio.consul").as_deref(), Some("minio.service.consul"));
        assert_eq!(consul_host("minio.service.consul").as_deref(), Some("minio.service.consul"));
        assert_eq!(consul_host("minio.example.org"), None);
        assert_eq!(consul_host(".consul"), None);
        assert_eq!(consul_service_name("minio.service.consul").as_deref(), Some("minio"));
        assert_eq!(consul_service_name("v2.minio.service.consul").as_deref(), Some("minio"));
        assert_eq!(consul_service_name("x.node.consul"), None);
    }

    #[test]
    fn the_agent_config_holds_every_service_and_check() {
        let s = AdhocService {
            name: "minio".into(),
            address: Ipv4Addr::new(10, 0, 7, 20),
            port: 9000,
            checks: vec![AdhocCheck {
                name: "minio-check".into(),
                kind: CheckKind::Tcp,
                target: "10.0.7.20:9000".into(),
                interval_secs: 3,
            }],
        };
        let v: serde_json::Value = serde_json::from_str(&agent_config(&[&s])).unwrap();
        assert_eq!(v["services"][0]["id"], "minio-10-0-7-20-9000");
        assert_eq!(v["services"][0]["checks"][0]["tcp"], "10.0.7.20:9000");
        assert_eq!(v["services"][0]["checks"][0]["interval"], "3s");
        assert_eq!(v["services"][0]["tags"][0], TAG);
        assert_eq!(agent_config(&[]).replace([' ', '\n'], ""), r#"{"services":[]}"#);
    }
}
