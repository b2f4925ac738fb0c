//! Webserver types and what the user gives, parsed and validated before
//! anything is contacted: apps, upstreams, TLS choices.

use crate::error::{Error, Result};
use crate::names;
use crate::service::ServiceContainer;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Where an app's requests go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct Upstream {
    /// The address or DNS name Nginx connects to.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The container of the cluster it was named by (`NAME.app:PORT`), whose
    /// address is `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

impl std::fmt::Display for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.container {
            Some(c) => write!(f, "{c}.app:{} ({}:{})", self.port, self.host, self.port),
            None => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

/// An upstream as the user wrote it, before a container name is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamSpec {
    /// `IP:PORT`.
    Address(Ipv4Addr, u16),
    /// `NAME.app:PORT` (or `NAME:PORT`): a container of the cluster.
    Container(String, u16),
    /// A DNS name with dots: resolved by the webserver's resolver when Nginx
    /// loads its config, or, in Consul's domain (`minio.consul:9000` is
    /// written `minio.service.consul:9000`), at each request.
    Dns(String, u16),
}

impl UpstreamSpec {
    /// Parses `IP:PORT`, `NAME.app:PORT`, `NAME:PORT` or `HOST.DOMAIN:PORT`.
    pub fn parse(s: &str) -> Result<Self> {
        let fix = "give IP:PORT, a container as NAME.app:PORT, or a DNS name as HOST:PORT, e.g. 10.0.5.20:9000";
        let (host, port) = s.rsplit_once(':').ok_or_else(|| Error::invalid("upstream", s, fix))?;
        let port = match port.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => {
                return Err(Error::invalid(
                    "upstream",
                    s,
                    format!("port {port:?} is not a number from 1 to 65535; {fix}"),
                ))
            }
        };
        if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
            let ip: Ipv4Addr = host
                .parse()
                .map_err(|_| Error::invalid("upstream", s, format!("{host:?} is not a valid IPv4 address; {fix}")))?;
            if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() {
                return Err(Error::invalid("upstream", s, format!("{ip} cannot be an app's address; {fix}")));
            }
            return Ok(UpstreamSpec::Address(ip, port));
        }
        let container = host.strip_suffix(".app").unwrap_or(host);
        if !container.contains('.') {
            names::check_name("upstream container", container)?;
            return Ok(UpstreamSpec::Container(container.to_string(), port));
        }
        if !names::is_dns_name(host) {
            return Err(Error::invalid(
                "upstream",
                s,
                format!("{host:?} is neither an address nor a host name; {fix}"),
            ));
        }
        // The seed's `NAME.consul` is Consul's `NAME.service.consul`.
        let host = crate::ep::catalog::consul_host(host).unwrap_or_else(|| host.to_string());
        Ok(UpstreamSpec::Dns(host, port))
    }
}

/// Where an app's certificate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[serde(rename_all = "kebab-case")]
pub enum TlsSource {
    /// `-c CERT -k KEY`.
    Given,
    /// `-s`: made by flockport for the app's URL.
    SelfSigned,
}

/// An app's TLS: served on 443 with this certificate, port 80 redirects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct AppTls {
    /// The certificate's fingerprint (names its files in the container).
    pub fingerprint: String,
    /// Given or self-signed.
    pub source: TlsSource,
    /// When the certificate expires (`Dec  2 06:50:20 2027 GMT`).
    pub not_after: String,
}

/// An app published on a webserver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct App {
    /// The host name it is served under.
    pub url: String,
    /// Where its requests go.
    pub upstream: Upstream,
    /// TLS, when on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<AppTls>,
}

/// A webserver as recorded in state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[record(repr(name, server, address, apps, published))]
pub struct WsRecord {
    /// Its service container: name, server, address, image, published ports
    /// (flattened into the record's JSON).
    #[serde(flatten)]
    pub container: ServiceContainer,
    /// Its apps by URL.
    #[serde(default)]
    pub apps: BTreeMap<String, App>,
}

/// An app's live health: does its upstream answer a TCP connection from the
/// webserver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct AppHealth {
    /// The app's URL.
    pub url: String,
    /// `UP`, `DOWN` or `unknown`.
    pub health: String,
}

/// A webserver as `listws` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct WsInfo {
    /// The record.
    #[serde(flatten)]
    #[record(nested)]
    pub record: WsRecord,
    /// Health per app.
    pub health: Vec<AppHealth>,
    /// Why health could not be read (server unreachable, container stopped).
    pub error: Option<String>,
}

/// What `pubapp` takes.
#[derive(Debug, Clone, Default)]
pub struct AppSpec {
    /// The webserver.
    pub ws: String,
    /// The host name to serve the app under.
    pub url: String,
    /// `IP:PORT`, `NAME.app:PORT` or `HOST:PORT`.
    pub upstream: String,
    /// Certificate file (PEM), with `key`.
    pub cert: Option<PathBuf>,
    /// Key file (PEM), with `cert`.
    pub key: Option<PathBuf>,
    /// A self-signed certificate made for the URL.
    pub self_signed: bool,
}

/// The TLS choice of an [`AppSpec`], checked.
pub(crate) fn tls_choice(spec: &AppSpec) -> Result<Option<(crate::service::TlsFiles, TlsSource)>> {
    use crate::service::TlsFiles;
    match (&spec.cert, &spec.key, spec.self_signed) {
        (Some(_), _, true) | (_, Some(_), true) => Err(Error::invalid(
            "self-signed",
            "-s",
            "-s makes a certificate; give either -s or -c CERT -k KEY, not both",
        )),
        (Some(c), Some(k), false) => Ok(Some((TlsFiles::load(c, k)?, TlsSource::Given))),
        (Some(c), None, false) => Err(Error::invalid("key", c.display().to_string(), "-c CERT needs -k KEY")),
        (None, Some(k), false) => Err(Error::invalid("cert", k.display().to_string(), "-k KEY needs -c CERT")),
        (None, None, true) => Ok(Some((TlsFiles::self_signed(&spec.url)?, TlsSource::SelfSigned))),
        (None, None, false) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_parse_by_form() {
        assert_eq!(UpstreamSpec::parse("10.0.5.20:9000").unwrap(), UpstreamSpec::Address([10, 0, 5, 20].into(), 9000));
        assert_eq!(UpstreamSpec::parse("wordpress.app:80").unwrap(), UpstreamSpec::Container("wordpress".into(), 80));
        assert_eq!(UpstreamSpec::parse("c3:80").unwrap(), UpstreamSpec::Container("c3".into(), 80));
        assert_eq!(
            UpstreamSpec::parse("minio.service.consul:9000").unwrap(),
            UpstreamSpec::Dns("minio.service.consul".into(), 9000)
        );
        assert_eq!(
            UpstreamSpec::parse("minio.consul:9000").unwrap(),
            UpstreamSpec::Dns("minio.service.consul".into(), 9000)
        );
        for bad in [
            "10.0.5.300:80",
            "10.0.5.20:0",
            "10.0.5.20:65536",
            "10.0.5.20",
            "10.0.5.20:x",
            "0.0.0.0:80",
            "a b:80",
            "x;y.org:80",
            "-x.org:80",
            ":80",
        ] {
            let e = UpstreamSpec::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad}: {e}");
        }
        assert!(UpstreamSpec::parse("10.0.5.300:80").unwrap_err().to_string().contains("10.0.5.300"));
    }
}
