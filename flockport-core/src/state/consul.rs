//! The Consul store: the state in Consul's KV on the cluster's endpoints,
//! shared by every operator whose inventory says `[state] backend = "consul"`.
//!
//! Keys under the prefix (default `flockport`): `PREFIX/state` holds the
//! state's JSON, exactly the bytes the file store writes (so a move between
//! the two round-trips byte for byte); `PREFIX/lock` is held by the run that
//! changes it, its value the holder's line (`pid 12 (flockport addlb) on
//! HOST since unix time T`); `PREFIX/moved` says where the state went when
//! `state migrate --to file` took it out.
//!
//! A transaction: a session (TTL [`SESSION_TTL`], no node checks so it
//! survives the loss of the endpoint that made it, lock-delay 0), the lock
//! acquired with it (waiting with blocking queries, saying once who holds it),
//! renewed by a task every [`RENEW_EVERY`] while the plan runs; the state read
//! with its ModifyIndex; the commit a check-and-set on that index, so a run
//! that lost its lock can never overwrite a newer state. The lock is released
//! and the session destroyed on commit and when the transaction is dropped
//! (failure, interrupt); a killed run's lock goes with its session, at most
//! [`LOCK_TTL`] after its last renewal (Consul invalidates a session between
//! one and two TTLs after it).
//!
//! Every request goes to one endpoint through its server's SSH tunnel; one
//! that cannot be reached, or has no leader, makes the store try the next
//! endpoint, for up to [`FAILOVER_FOR`].

use crate::consul::{Answer, Call, ConsulClient};
use crate::error::{Error, Result};
use crate::inventory::{Inventory, ServerConfig, StateConfig};
use crate::secrets::Secret;
use crate::state::{FileStateStore, State, StateStore, StateTxn, SCHEMA_VERSION};
use crate::transport::TransportPool;
use reqwest::Method;
use serde::Deserialize;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The session's TTL as Consul takes it.
pub const SESSION_TTL: &str = "10s";
/// How long a dead holder's lock can outlive it: Consul invalidates a
/// session between one and two TTLs after its last renewal.
pub const LOCK_TTL: Duration = Duration::from_secs(20);
/// How often a held lock's session is renewed.
pub const RENEW_EVERY: Duration = Duration::from_secs(3);
/// How long one request keeps trying endpoints (a leader election after the
/// leader's loss takes a few seconds).
pub const FAILOVER_FOR: Duration = Duration::from_secs(20);
/// How long a run waits for another's lock unless `lock_wait_secs` says.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(600);

/// One endpoint the store may talk to.
#[derive(Debug, Clone)]
struct Endpoint {
    server: ServerConfig,
    address: Ipv4Addr,
}

/// What the store needs to reach Consul, shared by its transactions and
/// their renewal tasks.
#[derive(Debug)]
struct Inner {
    endpoints: Vec<Endpoint>,
    pool: Arc<TransportPool>,
    token: Secret,
    prefix: String,
    lock_wait: Duration,
    /// The endpoint in use and its client.
    client: tokio::sync::Mutex<Option<(usize, Arc<ConsulClient>)>>,
    /// Where the next connection starts looking.
    next: AtomicUsize,
}

/// The state in Consul KV.
#[derive(Debug, Clone)]
pub struct ConsulStateStore {
    inner: Arc<Inner>,
}

/// An owned request, retried as is on another endpoint.
#[derive(Debug, Clone)]
struct Req {
    method: Method,
    path: Vec<String>,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    accept: Vec<u16>,
    limit: Duration,
}

impl Req {
    fn new(method: Method, path: &[&str]) -> Self {
        Req {
            method,
            path: path.iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            body: None,
            accept: Vec::new(),
            limit: crate::consul::REQUEST_TIMEOUT,
        }
    }
    fn query(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.query.push((k, v.into()));
        self
    }
    fn body(mut self, b: Vec<u8>) -> Self {
        self.body = Some(b);
        self
    }
    fn accept(mut self, status: u16) -> Self {
        self.accept.push(status);
        self
    }
    fn limit(mut self, d: Duration) -> Self {
        self.limit = d;
        self
    }
}

/// A KV entry as Consul returns it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KvEntry {
    modify_index: u64,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    session: Option<String>,
}

/// `body` as "true" / "false" (what KV writes answer).
fn truth(a: &Answer) -> bool {
    a.body.trim_ascii() == b"true"
}

impl ConsulStateStore {
    /// The store of an inventory whose `[state]` says Consul: its endpoints
    /// (servers of the inventory), its token file (mode 0600, read now).
    pub fn open(cfg: &StateConfig, inv: &Inventory, inv_path: &Path, pool: Arc<TransportPool>) -> Result<Self> {
        cfg.validate(&inv.servers)?;
        let token_file = cfg.token_file.as_deref().ok_or_else(|| {
            Error::invalid("[state] token_file", "", "the Consul store needs a token file (mode 0600)")
        })?;
        let token =
            crate::secrets::read_private("[state] token_file", &crate::inventory::relative_to(inv_path, token_file))?;
        let endpoints = cfg
            .endpoints
            .iter()
            .map(|e| Ok(Endpoint { server: inv.server(&e.server)?.clone(), address: e.address }))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::with(endpoints, pool, token, cfg.prefix().to_string(), cfg.lock_wait_secs.map(Duration::from_secs)))
    }

    fn with(
        endpoints: Vec<Endpoint>,
        pool: Arc<TransportPool>,
        token: Secret,
        prefix: String,
        lock_wait: Option<Duration>,
    ) -> Self {
        ConsulStateStore {
            inner: Arc::new(Inner {
                endpoints,
                pool,
                token,
                prefix,
                lock_wait: lock_wait.unwrap_or(DEFAULT_LOCK_WAIT),
                client: tokio::sync::Mutex::new(None),
                next: AtomicUsize::new(0),
            }),
        }
    }

    /// The same store over a new pool (for a read on another runtime).
    fn detached(&self) -> Self {
        let i = &self.inner;
        Self::with(
            i.endpoints.clone(),
            Arc::new(TransportPool::new(i.pool.factory().clone())),
            i.token.clone(),
            i.prefix.clone(),
            Some(i.lock_wait),
        )
    }

    /// What people call it: `Consul KV flockport/state`.
    pub fn describe(&self) -> String {
        self.inner.describe()
    }

    /// A transaction: the lock held (waiting for another holder), the
    /// state read. Its drop releases the lock.
    pub async fn lock(&self) -> Result<ConsulTxn> {
        let inner = self.inner.clone();
        let holder = crate::fsutil::holder_line();
        let session = inner.session(&holder).await?;
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = renew(inner.clone(), session.clone(), lost.clone());
        let mut txn =
            ConsulTxn { inner: inner.clone(), session, index: 0, state: State::default(), renewer, lost, done: false };
        inner.acquire(&txn.session, &holder).await?;
        let (state, index) = inner.read_state().await?;
        txn.state = state;
        txn.index = index;
        Ok(txn)
    }

    /// The state and the index its key was last written at (0: no state
    /// yet), read without the lock.
    pub async fn read(&self) -> Result<(State, u64)> {
        self.inner.read_state().await
    }

    /// Writes `bytes` as the state if the key is still at `index` (0: only if
    /// absent); whether it was written.
    pub async fn put_if(&self, bytes: Vec<u8>, index: u64) -> Result<bool> {
        let a = self.inner.request(&self.inner.kv("state").query("cas", index.to_string()).body(bytes)).await?;
        Ok(truth(&a))
    }

    /// Marks the state as moved out (`line` says where and by whom) and
    /// deletes it if still at `index`; whether it was deleted.
    pub async fn move_out(&self, line: &str, index: u64) -> Result<bool> {
        self.inner.request(&self.inner.kv("moved").body(line.as_bytes().to_vec())).await?;
        let r =
            Req::new(Method::DELETE, &["kv", &format!("{}/state", self.inner.prefix)]).query("cas", index.to_string());
        Ok(truth(&self.inner.request(&r).await?))
    }

    /// Forgets a `moved` mark (the state came back).
    pub async fn clear_moved(&self) -> Result<()> {
        self.inner.request(&Req::new(Method::DELETE, &["kv", &format!("{}/moved", self.inner.prefix)])).await?;
        Ok(())
    }
}

impl Inner {
    fn describe(&self) -> String {
        format!("Consul KV {}/state", self.prefix)
    }

    /// PUT `kv/PREFIX/KEY`.
    fn kv(&self, key: &str) -> Req {
        Req::new(Method::PUT, &["kv", &format!("{}/{key}", self.prefix)])
    }

    /// The client of the endpoint in use, or of the first that answers with
    /// a leader (starting at `next`).
    async fn client(&self) -> Result<(usize, Arc<ConsulClient>)> {
        let mut slot = self.client.lock().await;
        if let Some((i, c)) = slot.as_ref() {
            return Ok((*i, c.clone()));
        }
        let n = self.endpoints.len();
        let start = self.next.load(Ordering::SeqCst);
        let mut why = Vec::new();
        for k in 0..n {
            let i = (start + k) % n;
            let ep = &self.endpoints[i];
            let name = format!("{}/{}", ep.server.name, ep.address);
            let client = match self.pool.get(&ep.server) {
                Ok(t) => ConsulClient::connect(t, ep.address).await,
                Err(e) => Err(e),
            };
            match client {
                Ok(c) => match c.leader().await {
                    Ok(l) if !l.is_empty() => {
                        let c = Arc::new(c);
                        *slot = Some((i, c.clone()));
                        return Ok((i, c));
                    }
                    Ok(_) => why.push(format!("{name}: no leader")),
                    Err(e) => why.push(format!("{name}: {e}")),
                },
                Err(e) => why.push(format!("{name}: {e}")),
            }
        }
        Err(Error::Unreachable {
            server: self.describe(),
            reason: format!("no Consul endpoint answered with a leader ({})", why.join("; ")),
            source: None,
        })
    }

    /// Stops using endpoint `i` (the next connection starts after it).
    async fn drop_client(&self, i: usize) {
        let mut slot = self.client.lock().await;
        if slot.as_ref().is_some_and(|(j, _)| *j == i) {
            *slot = None;
        }
        self.next.store(i + 1, Ordering::SeqCst);
    }

    /// `req` on the endpoint in use; an endpoint that cannot be reached or
    /// answers 5xx (no leader, an election) is left for the next, for up to
    /// [`FAILOVER_FOR`].
    async fn request(&self, req: &Req) -> Result<Answer> {
        let deadline = Instant::now() + FAILOVER_FOR;
        loop {
            let err = match self.client().await {
                Ok((i, c)) => {
                    let segments: Vec<&str> = req.path.iter().map(String::as_str).collect();
                    let query: Vec<(&str, &str)> = req.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    let call = Call {
                        method: req.method.clone(),
                        segments: &segments,
                        query: &query,
                        body: req.body.clone(),
                        token: Some(&self.token),
                        accept: &req.accept,
                        limit: req.limit,
                    };
                    match c.call(call).await {
                        Ok(a) => return Ok(a),
                        Err(e @ (Error::Http { .. } | Error::Unreachable { .. } | Error::Ssh { .. })) => {
                            self.drop_client(i).await;
                            e
                        }
                        Err(e @ Error::ApiStatus { status: 500..=599, .. }) => {
                            self.drop_client(i).await;
                            e
                        }
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(err);
            }
            tracing::debug!(error = %err, "Consul state store: trying again");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// The entry of `PREFIX/KEY` (None: absent) and the index to wait past.
    async fn entry(&self, key: &str, wait_past: Option<u64>) -> Result<(Option<(KvEntry, Vec<u8>)>, u64)> {
        let mut r = Req::new(Method::GET, &["kv", &format!("{}/{key}", self.prefix)]).accept(404);
        if let Some(i) = wait_past {
            r = r.query("index", i.to_string()).query("wait", "3s").limit(Duration::from_secs(8));
        }
        let a = self.request(&r).await?;
        if a.status == 404 {
            return Ok((None, a.index));
        }
        let ctx = format!("GET kv/{}/{key}", self.prefix);
        let mut entries: Vec<KvEntry> = a.json(&self.describe(), &ctx)?;
        let Some(e) = entries.pop() else { return Ok((None, a.index)) };
        let bytes = match &e.value {
            Some(v) => openssl::base64::decode_block(v).map_err(|err| Error::Parse {
                server: self.describe(),
                command: ctx.clone(),
                reason: format!("the value is not base64: {err}"),
            })?,
            None => Vec::new(),
        };
        Ok((Some((e, bytes)), a.index))
    }

    /// The state and its key's ModifyIndex (0: none yet). A state moved out
    /// by `state migrate --to file` is an error saying so, never an empty one.
    async fn read_state(&self) -> Result<(State, u64)> {
        match self.entry("state", None).await? {
            (Some((e, bytes)), _) => Ok((FileStateStore::parse(Path::new(&self.describe()), &bytes)?, e.modify_index)),
            (None, _) => {
                if let (Some((_, line)), _) = self.entry("moved", None).await? {
                    return Err(Error::StateConflict {
                        store: self.describe(),
                        reason: format!(
                            "it was moved out of Consul ({}); use the inventory it went to, or bring it back there \
                             with `flockport state migrate --to consul`",
                            String::from_utf8_lossy(&line).trim()
                        ),
                    });
                }
                Ok((State::default(), 0))
            }
        }
    }

    /// A new session for the lock.
    async fn session(&self, holder: &str) -> Result<String> {
        let body = serde_json::json!({
            "Name": format!("flockport state lock: {holder}"),
            "TTL": SESSION_TTL,
            "LockDelay": "0s",
            "Behavior": "release",
            "NodeChecks": [],
            "ServiceChecks": [],
        });
        let a =
            self.request(&Req::new(Method::PUT, &["session", "create"]).body(body.to_string().into_bytes())).await?;
        #[derive(Deserialize)]
        struct Created {
            #[serde(rename = "ID")]
            id: String,
        }
        let c: Created = a.json(&self.describe(), "PUT session/create")?;
        Ok(c.id)
    }

    /// Destroys `session`, which releases its lock (behaviour `release`,
    /// lock-delay 0: one request, not a release and a destroy); best effort.
    async fn end_session(&self, session: &str) {
        let r = Req::new(Method::PUT, &["session", "destroy", session]);
        if let Err(e) = self.request(&r).await {
            tracing::warn!(error = %e, "destroying the state lock's Consul session (it expires by itself)");
        }
    }

    /// Acquires the lock with `session`, waiting for its holder (said once)
    /// up to `lock_wait`; an interrupt ends the wait.
    async fn acquire(&self, session: &str, holder: &str) -> Result<()> {
        let started = Instant::now();
        let mut announced = false;
        loop {
            let r = self.kv("lock").query("acquire", session).body(holder.as_bytes().to_vec());
            if truth(&self.request(&r).await?) {
                return Ok(());
            }
            let (entry, index) = self.entry("lock", None).await?;
            let line = entry
                .filter(|(e, _)| e.session.as_deref().is_some_and(|s| !s.is_empty()))
                .map(|(_, b)| crate::fsutil::describe_holder(&String::from_utf8_lossy(&b)));
            let Some(line) = line else { continue };
            if !announced {
                tracing::warn!("waiting for the state lock in {} held by {line}", self.describe());
                announced = true;
            }
            if crate::interrupt::take() {
                return Err(Error::Interrupted {
                    operation: format!("waiting for the state lock in {}", self.describe()),
                    rolled_back: Vec::new(),
                });
            }
            if started.elapsed() >= self.lock_wait {
                return Err(Error::StateLocked {
                    store: self.describe(),
                    holder: line,
                    waited_secs: started.elapsed().as_secs(),
                });
            }
            // Until the lock key changes (released), at most a few seconds.
            self.entry("lock", Some(index)).await?;
        }
    }
}

/// Keeps `session` alive while its transaction lives; says when it is gone.
fn renew(inner: Arc<Inner>, session: String, lost: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(RENEW_EVERY).await;
            let r = Req::new(Method::PUT, &["session", "renew", &session]).accept(404);
            match inner.request(&r).await {
                Ok(a) if a.status == 404 => {
                    tracing::warn!("the state lock's Consul session expired; the commit's check-and-set decides");
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "renewing the state lock's Consul session"),
            }
        }
    })
}

/// A transaction on a [`ConsulStateStore`]: the lock held, the state read.
#[derive(Debug)]
pub struct ConsulTxn {
    inner: Arc<Inner>,
    session: String,
    index: u64,
    state: State,
    renewer: tokio::task::JoinHandle<()>,
    lost: Arc<AtomicBool>,
    done: bool,
}

impl ConsulTxn {
    /// The index the state was read at (0: there was none).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Ends the transaction without writing: the lock released, the session
    /// destroyed.
    pub async fn release(mut self) {
        self.renewer.abort();
        self.inner.end_session(&self.session).await;
        self.done = true;
    }
}

#[async_trait::async_trait]
impl StateTxn for ConsulTxn {
    fn state(&self) -> &State {
        &self.state
    }

    async fn commit(mut self: Box<Self>, mut new: State) -> Result<()> {
        new.schema = SCHEMA_VERSION;
        let store = self.inner.describe();
        let bytes = serde_json::to_vec_pretty(&new)
            .map_err(|e| Error::StateCorrupt { path: store.clone().into(), reason: e.to_string() })?;
        let r = self.inner.kv("state").query("cas", self.index.to_string()).body(bytes.clone());
        let written = truth(&self.inner.request(&r).await?);
        // A retried write whose first try landed answers false: it is ours if the bytes are.
        let landed = written || matches!(self.inner.entry("state", None).await, Ok((Some((_, b)), _)) if b == bytes);
        self.renewer.abort();
        self.inner.end_session(&self.session).await;
        self.done = true;
        if !landed {
            let lost = if self.lost.load(Ordering::SeqCst) { " (this run's lock had expired)" } else { "" };
            return Err(Error::StateConflict {
                store,
                reason: format!(
                    "it changed since this run read it at index {}{lost}; nothing was written: what the run did on \
                     the servers is not recorded, run the same command again",
                    self.index
                ),
            });
        }
        Ok(())
    }
}

impl Drop for ConsulTxn {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.renewer.abort();
        // No commit (failure, interrupt): release now rather than leave the
        // lock to its TTL. Drop cannot await, and the process may exit right
        // after, so the release runs to its end on a thread of its own, with a
        // runtime and HTTP client of its own, through the tunnel in use.
        let Ok(slot) = self.inner.client.try_lock() else { return };
        let Some(local) = slot.as_ref().map(|(_, c)| c.local()) else { return };
        drop(slot);
        let (token, prefix, session) = (self.inner.token.clone(), self.inner.prefix.clone(), self.session.clone());
        let _ = std::thread::spawn(move || release_detached(local, &token, &prefix, &session)).join();
    }
}

/// Releases the lock and destroys `session` through the tunnel at `local`.
fn release_detached(local: SocketAddr, token: &Secret, prefix: &str, session: &str) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
    rt.block_on(async {
        let Ok(http) = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(3)).build() else { return };
        let base = format!("http://{local}/v1");
        let lock = format!("{base}/kv/{prefix}/lock?release={session}");
        let destroy = format!("{base}/session/destroy/{session}");
        for url in [lock, destroy] {
            if let Err(e) = http.put(&url).header("X-Consul-Token", token.expose()).send().await {
                tracing::warn!(error = %e, "releasing the state lock in Consul (it expires with its session)");
            }
        }
    });
}

#[async_trait::async_trait]
impl StateStore for ConsulStateStore {
    async fn load(&self) -> Result<State> {
        Ok(self.inner.read_state().await?.0)
    }

    fn load_blocking(&self) -> Result<State> {
        // A runtime and connections of its own, on a thread of its own: the
        // caller may be on a runtime thread or outside any runtime.
        let detached = self.detached();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::io("starting a runtime to read", "the Consul state", e))?;
            rt.block_on(detached.load())
        })
        .join()
        .map_err(|_| Error::io("reading", "the Consul state", std::io::Error::other("the reading thread panicked")))?
    }

    async fn begin(&self) -> Result<Box<dyn StateTxn>> {
        Ok(Box::new(self.lock().await?))
    }
}

#[cfg(test)]
#[path = "consul_tests.rs"]
mod tests;
