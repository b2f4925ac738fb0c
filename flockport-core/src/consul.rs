//! Consul's HTTP API, as flockport reads it: a thin typed layer on reqwest
//! (timeouts on every request), reached through a tunnel of the endpoint's
//! server ([`crate::transport::Transport::open_tunnel`]: an SSH local
//! forward, so this machine needs no route to the container subnets).
//!
//! Reads go out without a token: the anonymous policy may read services and
//! nodes (and so their health), which is all `services` shows. Changes are
//! made in the endpoints' containers with Consul's CLI and the management
//! token from a 0600 file (see [`crate::ep::steps`]), so that every change is
//! a step of a plan (`--dry-run`, progress, the one place errors are made).

use crate::error::{Error, Result};
use crate::transport::Transport;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

/// Consul's HTTP port on an endpoint.
pub const HTTP_PORT: u16 = 8500;
/// How long one request may take in all.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the liveness question (`/v1/status/leader`) may take: an
/// endpoint that does not answer within it counts as down.
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A client of one endpoint's HTTP API through its server's tunnel; call
/// [`ConsulClient::close`] when done (a dropped client leaves the forward
/// until the SSH master exits).
#[derive(Debug)]
pub struct ConsulClient {
    transport: Arc<dyn Transport>,
    local: SocketAddr,
    target: SocketAddrV4,
    http: reqwest::Client,
}

/// A node of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Node {
    /// Its name (an endpoint's is the endpoint's).
    pub node: String,
    /// Its address.
    pub address: String,
}

/// A service instance as the catalog holds it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AgentService {
    /// Its ID (unique on its node).
    #[serde(rename = "ID")]
    pub id: String,
    /// The service's name.
    pub service: String,
    /// Its address (empty: the node's).
    #[serde(default)]
    pub address: String,
    /// Its port.
    #[serde(default)]
    pub port: u16,
    /// Its tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Its metadata.
    #[serde(default)]
    pub meta: Option<BTreeMap<String, String>>,
}

/// A health check as the catalog holds it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthCheck {
    /// The node that runs it.
    pub node: String,
    /// Its ID.
    #[serde(rename = "CheckID")]
    pub check_id: String,
    /// Its name.
    pub name: String,
    /// `passing`, `warning` or `critical`.
    pub status: String,
    /// What it last printed.
    #[serde(default)]
    pub output: String,
    /// The service it belongs to (empty: the node's).
    #[serde(rename = "ServiceID", default)]
    pub service_id: String,
}

/// One instance of a service with its node and checks (`/v1/health/service`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceEntry {
    /// The node it is registered on.
    pub node: Node,
    /// The instance.
    pub service: AgentService,
    /// Its checks and its node's.
    pub checks: Vec<HealthCheck>,
}

/// A gossip member as `/v1/agent/members` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Member {
    /// Its node name (an endpoint's container name, a server's agent).
    pub name: String,
    /// Its address.
    pub addr: String,
    /// Serf's status: 1 alive, 2 leaving, 3 left, 4 failed.
    pub status: u8,
}

impl Member {
    /// The status as `consul members` prints it.
    pub fn status_word(&self) -> &'static str {
        match self.status {
            1 => "alive",
            2 => "leaving",
            3 => "left",
            4 => "failed",
            _ => "unknown",
        }
    }
}

/// One request of [`ConsulClient::call`].
#[derive(Debug)]
pub struct Call<'a> {
    /// GET, PUT, DELETE.
    pub method: reqwest::Method,
    /// The path below `/v1/`, segment by segment (each escaped).
    pub segments: &'a [&'a str],
    /// Query parameters.
    pub query: &'a [(&'a str, &'a str)],
    /// The body, if any.
    pub body: Option<Vec<u8>>,
    /// The ACL token, sent in `X-Consul-Token`.
    pub token: Option<&'a crate::secrets::Secret>,
    /// Non-2xx statuses that are answers, not errors (404 for a missing key).
    pub accept: &'a [u16],
    /// How long it may take.
    pub limit: Duration,
}

impl<'a> Call<'a> {
    /// `method` on `segments`, no query, body or token, within [`REQUEST_TIMEOUT`].
    pub fn new(method: reqwest::Method, segments: &'a [&'a str]) -> Self {
        Call { method, segments, query: &[], body: None, token: None, accept: &[], limit: REQUEST_TIMEOUT }
    }
}

/// What [`ConsulClient::call`] got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `X-Consul-Index` (0 when absent): what a blocking query waits past.
    pub index: u64,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body decoded from JSON.
    pub fn json<T: DeserializeOwned>(&self, server: &str, context: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Parse {
            server: server.to_string(),
            command: context.to_string(),
            reason: e.to_string(),
        })
    }
}

impl ConsulClient {
    /// A client of the endpoint at `address` on the server of `transport`.
    pub async fn connect(transport: Arc<dyn Transport>, address: std::net::Ipv4Addr) -> Result<Self> {
        let target = SocketAddrV4::new(address, HTTP_PORT);
        let local = transport.open_tunnel(target).await?;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .no_proxy()
            .build()
            .map_err(|e| Error::Http {
                server: transport.server().to_string(),
                context: "making an HTTP client".into(),
                source: e,
            })?;
        Ok(ConsulClient { transport, local, target, http })
    }

    /// Ends the tunnel.
    pub async fn close(self) -> Result<()> {
        self.transport.close_tunnel(self.local, self.target).await
    }

    /// Ends the tunnel and returns `r` (its error first, then the close's).
    pub async fn finish<T>(self, r: Result<T>) -> Result<T> {
        let closed = self.close().await;
        let v = r?;
        closed?;
        Ok(v)
    }

    /// GET `/v1/SEGMENTS...` (each segment escaped by the URL builder),
    /// decoded from JSON.
    async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T> {
        self.get_within(segments, REQUEST_TIMEOUT).await
    }

    /// [`ConsulClient::get`] with its own time limit.
    async fn get_within<T: DeserializeOwned>(&self, segments: &[&str], limit: Duration) -> Result<T> {
        let answer = self.call(Call { limit, ..Call::new(reqwest::Method::GET, segments) }).await?;
        let context = format!("Consul at {} GET /v1/{}", self.target, segments.join("/"));
        answer.json(self.transport.server(), &context)
    }

    /// The URL of `/v1/SEGMENTS...` on the tunnel (each segment escaped).
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<reqwest::Url> {
        let mut url = reqwest::Url::parse(&format!("http://{}/v1/", self.local))
            .map_err(|e| Error::invalid("tunnel address", self.local.to_string(), e.to_string()))?;
        url.path_segments_mut()
            .map_err(|()| Error::invalid("tunnel address", self.local.to_string(), "not a base URL"))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// The tunnel's local end (for a request made outside this client's runtime).
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The endpoint this client talks to.
    pub fn target(&self) -> SocketAddrV4 {
        self.target
    }

    /// Any request: `method` on `/v1/SEGMENTS...?QUERY` with `body` and, when
    /// given, the token in its header (never in the URL). A status in
    /// `accept` or 2xx is an [`Answer`]; any other is [`Error::ApiStatus`].
    pub async fn call(&self, req: Call<'_>) -> Result<Answer> {
        let server = self.transport.server().to_string();
        let context = format!("Consul at {} {} /v1/{}", self.target, req.method, req.segments.join("/"));
        let mut rb = self.http.request(req.method.clone(), self.url(req.segments, req.query)?).timeout(req.limit);
        if let Some(t) = req.token {
            rb = rb.header("X-Consul-Token", t.expose());
        }
        if let Some(b) = req.body {
            rb = rb.body(b);
        }
        let resp =
            rb.send().await.map_err(|e| Error::Http { server: server.clone(), context: context.clone(), source: e })?;
        let status = resp.status().as_u16();
        let index = resp
            .headers()
            .get("X-Consul-Index")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let body = resp.bytes().await.map_err(|e| Error::Http {
            server: server.clone(),
            context: context.clone(),
            source: e,
        })?;
        if !(200..300).contains(&status) && !req.accept.contains(&status) {
            return Err(Error::ApiStatus {
                server,
                context,
                status,
                body: String::from_utf8_lossy(&body).chars().take(300).collect(),
            });
        }
        Ok(Answer { status, index, body: body.to_vec() })
    }

    /// The raft leader's address as this endpoint knows it (empty: none).
    pub async fn leader(&self) -> Result<String> {
        self.get_within(&["status", "leader"], STATUS_TIMEOUT).await
    }

    /// The raft peers' addresses (`IP:8300`) as this endpoint knows them.
    pub async fn peers(&self) -> Result<Vec<String>> {
        self.get_within(&["status", "peers"], STATUS_TIMEOUT).await
    }

    /// The gossip members this endpoint sees.
    pub async fn members(&self) -> Result<Vec<Member>> {
        self.get_within(&["agent", "members"], STATUS_TIMEOUT).await
    }

    /// Every service name in the catalog with its tags.
    pub async fn catalog_services(&self) -> Result<BTreeMap<String, Vec<String>>> {
        self.get(&["catalog", "services"]).await
    }

    /// Every instance of service `name` with its node and checks (healthy
    /// or not).
    pub async fn health_service(&self, name: &str) -> Result<Vec<ServiceEntry>> {
        self.get(&["health", "service", name]).await
    }

    /// Every service instance and its checks, service by service.
    pub async fn all_services(&self) -> Result<BTreeMap<String, Vec<ServiceEntry>>> {
        let names = self.catalog_services().await?;
        let futs = names.keys().map(|n| async move { (n.clone(), self.health_service(n).await) });
        let mut out = BTreeMap::new();
        for (n, r) in futures::future::join_all(futs).await {
            out.insert(n, r?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_answers_decode() {
        let text = r#"[{"Node":{"ID":"x","Node":"consul-10","Address":"10.0.4.10","Datacenter":"dc1"},
            "Service":{"ID":"minio-10-0-7-20-9000","Service":"minio","Tags":["flockport"],"Address":"10.0.7.20","Meta":{"flockport":"pubservice"},"Port":9000},
            "Checks":[{"Node":"consul-10","CheckID":"serfHealth","Name":"Serf Health Status","Status":"passing","Output":"ok","ServiceID":""},
                      {"Node":"consul-10","CheckID":"minio-check","Name":"minio-check","Status":"critical","Output":"dial tcp: refused","ServiceID":"minio-10-0-7-20-9000"}]}]"#;
        let e: Vec<ServiceEntry> = serde_json::from_str(text).unwrap();
        assert_eq!(e[0].node.node, "consul-10");
        assert_eq!((e[0].service.address.as_str(), e[0].service.port), ("10.0.7.20", 9000));
        assert_eq!(e[0].checks[1].status, "critical");
        assert_eq!(e[0].checks[1].service_id, "minio-10-0-7-20-9000");
    }
}
