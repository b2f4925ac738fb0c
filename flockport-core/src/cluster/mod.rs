//! [`Cluster`]: the facade. Opens an inventory and a state store, hands out
//! typed operations; every mutating one is validate -> plan -> execute ->
//! commit, and can stop after the plan (`dry_run`). `records.rs`: the
//! records its operations take and return (options, results, server rows).

mod records;

pub use records::{AddServer, Applied, ApplyOptions, ContainerSpec, Listing, ServerStatus};

use crate::error::{Error, Result};
use crate::image::ImageSpec;
use crate::inventory::{Inventory, ServerConfig, TransportKind};
use crate::lxc::{self, ContainerInfo, ServerFacts};
use crate::names;
use crate::plan::{NoProgress, Plan, Progress};
use crate::state::{ContainerRecord, State, StateStore};
use crate::transport::{DefaultTransportFactory, Output, Transport, TransportFactory, TransportPool};
use ipnet::Ipv4Net;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The facade over a cluster.
#[derive(Debug)]
pub struct Cluster {
    inventory_path: PathBuf,
    inventory: Inventory,
    store: Arc<dyn StateStore>,
    pool: Arc<TransportPool>,
    /// Whether the store is the inventory's (not one given to `open_with`).
    own_store: bool,
}

impl Cluster {
    /// Opens the inventory at `config` (or `$FLOCKPORT_CONFIG`, or `./flockport.toml`)
    /// and its state file.
    pub fn open(config: Option<&Path>) -> Result<Self> {
        let path = Inventory::resolve_path(config);
        Self::open_with(&path, Arc::new(DefaultTransportFactory), None)
    }

    /// Opens with an explicit transport factory and optional state store (tests, embedding).
    pub fn open_with(
        path: &Path,
        factory: Arc<dyn TransportFactory>,
        store: Option<Arc<dyn StateStore>>,
    ) -> Result<Self> {
        let inventory = Inventory::load(path)?;
        let pool = Arc::new(TransportPool::new(factory));
        let own_store = store.is_none();
        let store = match store {
            Some(s) => s,
            None => crate::state::open_store(&inventory, path, &pool)?,
        };
        Ok(Cluster { inventory_path: path.to_path_buf(), inventory, store, pool, own_store })
    }

    /// The same cluster opened anew: the inventory file read again (after an
    /// edit elsewhere, e.g. another process's `addserver`), the store the
    /// inventory names now (or the one given to `open_with`), the same
    /// transport factory, no connection carried over.
    pub fn reopen(&self) -> Result<Cluster> {
        let inventory = Inventory::load(&self.inventory_path)?;
        let pool = Arc::new(TransportPool::new(self.pool.factory().clone()));
        // The inventory's store anew (another run may have moved the state).
        let store = if self.own_store {
            crate::state::open_store(&inventory, &self.inventory_path, &pool)?
        } else {
            self.store.clone()
        };
        Ok(Cluster { inventory_path: self.inventory_path.clone(), inventory, store, pool, own_store: self.own_store })
    }

    /// The inventory.
    pub(crate) fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// The inventory file's path.
    pub fn inventory_path(&self) -> &Path {
        &self.inventory_path
    }

    /// The servers in the inventory.
    pub fn servers(&self) -> &[ServerConfig] {
        &self.inventory.servers
    }

    /// The server called `name`.
    pub fn server(&self, name: &str) -> Result<&ServerConfig> {
        self.inventory.server(name)
    }

    /// The state store.
    pub(crate) fn store(&self) -> &Arc<dyn StateStore> {
        &self.store
    }

    /// The transports of this cluster's servers.
    pub(crate) fn pool(&self) -> &Arc<TransportPool> {
        &self.pool
    }

    /// After the inventory's `[state]` changed: the new inventory and store.
    pub(crate) fn switch_store(&mut self, inventory: Inventory, store: Arc<dyn StateStore>) {
        self.inventory = inventory;
        self.store = store;
    }

    /// Probes every server in parallel. A server in `needed` (the change
    /// runs there) that cannot be probed is an error; any other is left out
    /// of the result with a warning, so a change on s1 is not held up by s3
    /// being down (the names checked against it are then the state's only).
    pub(crate) async fn probe_for(&self, needed: &[&str]) -> Result<BTreeMap<String, ServerFacts>> {
        let all: Vec<&ServerConfig> = self.inventory.servers.iter().collect();
        let mut out = BTreeMap::new();
        for (srv, r, _) in self.probe_all(&all).await {
            match r {
                Ok(f) => {
                    out.insert(srv.name.clone(), f);
                }
                Err(e) if needed.contains(&srv.name.as_str()) => return Err(e),
                Err(e) => tracing::warn!(server = %srv.name, error = %e, "server not reachable; going on without it"),
            }
        }
        Ok(out)
    }

    /// The current state.
    pub async fn state(&self) -> Result<State> {
        self.store.load().await
    }

    /// The current state, read on the calling thread: [`Cluster::state`] for
    /// callers outside an async runtime (it blocks while the state is read
    /// and parsed; it does not wait for the transaction lock).
    pub fn state_blocking(&self) -> Result<State> {
        self.store.load_blocking()
    }

    /// The transport for a server (one per server per process, reused).
    pub fn transport(&self, server: &ServerConfig) -> Result<Arc<dyn Transport>> {
        self.pool.get(server)
    }

    pub(crate) fn transports_for<'a>(
        &self,
        servers: impl IntoIterator<Item = &'a str>,
    ) -> Result<BTreeMap<String, Arc<dyn Transport>>> {
        let mut out = BTreeMap::new();
        for name in servers {
            let s = self.server(name)?;
            out.insert(name.to_string(), self.transport(s)?);
        }
        Ok(out)
    }

    /// The end of every change: with `dry_run` the plan and the record it
    /// would make; otherwise the plan runs on its servers, `update` makes
    /// the new state from the one read under the lock, and it is committed.
    pub(crate) async fn finish<T>(
        &self,
        plan: Plan,
        txn: Box<dyn crate::state::StateTxn>,
        record: T,
        opts: ApplyOptions,
        progress: &dyn Progress,
        update: impl FnOnce(&mut State) -> Result<()>,
    ) -> Result<Applied<T>> {
        if opts.dry_run {
            return Ok(Applied { plan, executed: false, record });
        }
        plan.execute(&self.transports_for(plan.servers())?, progress).await?;
        let mut st = txn.state().clone();
        update(&mut st)?;
        txn.commit(st).await?;
        Ok(Applied { plan, executed: true, record })
    }

    // ---- servers -------------------------------------------------------

    /// Adds a server to the inventory (`addserver`). Nothing is contacted.
    pub fn add_server(&mut self, spec: AddServer) -> Result<ServerConfig> {
        names::check_name("server name", &spec.name)?;
        let subnet = names::parse_subnet(&spec.subnet)?;
        let transport = if spec.local { TransportKind::Local } else { TransportKind::Ssh };
        if spec.local && spec.host.is_some() {
            return Err(Error::invalid("host", spec.host.unwrap_or_default(), "a --local server takes no host"));
        }
        if !spec.local && spec.host.is_none() {
            return Err(Error::invalid("host", "", "give the server's host, or --local for this machine"));
        }
        let config = ServerConfig {
            name: spec.name.clone(),
            host: spec.host,
            port: spec.port.unwrap_or(22),
            user: spec.user.unwrap_or_else(|| "root".into()),
            identity: spec.identity.map(absolute),
            known_hosts: spec.known_hosts.map(absolute),
            ssh_config: spec.ssh_config.map(absolute),
            subnet,
            gateway: None,
            bridge: spec.bridge.unwrap_or_else(|| "lxcbr0".into()),
            transport,
            lxcpath: "/var/lib/lxc".into(),
            image: Default::default(),
            command_timeout_secs: None,
        };
        config.validate()?;
        config.check_files()?;
        let (inv, ()) = Inventory::update(&self.inventory_path, |inv| {
            if inv.servers.iter().any(|s| s.name == config.name) {
                return Err(Error::exists(
                    "server",
                    &config.name,
                    "pick another name or `flockport delserver` it first",
                ));
            }
            if let Some(other) = inv
                .servers
                .iter()
                .find(|s| s.subnet == config.subnet && s.transport == config.transport && s.host == config.host)
            {
                return Err(Error::invalid(
                    "subnet",
                    config.subnet.to_string(),
                    format!("server {} already uses it on the same host", other.name),
                ));
            }
            inv.servers.push(config.clone());
            Ok(())
        })?;
        self.inventory = inv;
        Ok(config)
    }

    /// Removes a server from the inventory (`delserver`). Refused while state
    /// records containers on it.
    pub async fn del_server(&mut self, name: &str) -> Result<()> {
        self.server(name)?;
        let state = self.store.load().await?;
        let on: Vec<&String> = state
            .containers
            .iter()
            .filter(|(_, c)| c.server == name)
            .map(|(n, _)| n)
            .chain(state.services().filter(|s| s.server == name).map(|s| &s.name))
            .collect();
        if !on.is_empty() {
            let list: Vec<&str> = on.iter().map(|s| s.as_str()).collect();
            return Err(Error::invalid(
                "server",
                name,
                format!("it still hosts managed containers ({}); delete them first", list.join(", ")),
            ));
        }
        let (inv, ()) = Inventory::update(&self.inventory_path, |inv| {
            let before = inv.servers.len();
            inv.servers.retain(|s| s.name != name);
            if inv.servers.len() == before {
                return Err(Error::not_found("server", name, ""));
            }
            Ok(())
        })?;
        self.inventory = inv;
        self.pool.forget(name)?;
        Ok(())
    }

    /// Probes one server (one round trip).
    pub async fn probe(&self, server: &str) -> Result<ServerFacts> {
        let s = self.server(server)?;
        let t = self.transport(s)?;
        lxc::probe(t.as_ref(), s).await
    }

    /// Probes servers in parallel; each result separately.
    pub async fn probe_all<'a>(
        &self,
        servers: &[&'a ServerConfig],
    ) -> Vec<(&'a ServerConfig, Result<ServerFacts>, u64)> {
        let futs = servers.iter().map(|s| async move {
            let started = Instant::now();
            let r = match self.transport(s) {
                Ok(t) => lxc::probe(t.as_ref(), s).await,
                Err(e) => Err(e),
            };
            (*s, r, started.elapsed().as_millis() as u64)
        });
        futures::future::join_all(futs).await
    }

    /// `listservers`: every server contacted in parallel, one round trip each.
    pub async fn list_servers(&self) -> Vec<ServerStatus> {
        let servers: Vec<&ServerConfig> = self.inventory.servers.iter().collect();
        self.probe_all(&servers)
            .await
            .into_iter()
            .map(|(s, r, millis)| ServerStatus::read(s, r.as_ref(), millis))
            .collect()
    }

    // ---- containers ----------------------------------------------------

    /// `listcontainers`: containers (images excluded) on one server or all,
    /// in parallel; any server that could not be read is an error.
    pub async fn containers(&self, server: Option<&str>) -> Result<Vec<ContainerInfo>> {
        let mut listing = self.containers_listing(server).await?;
        match listing.unread.len() {
            0 => Ok(listing.items),
            1 => Err(listing.unread.remove(0).1),
            _ => Err(Error::Many(listing.unread.into_iter().map(|(_, e)| e).collect())),
        }
    }

    /// `listcontainers` as the CLI shows it: what the servers that answered
    /// hold, and the servers that could not be read with why.
    pub async fn containers_listing(&self, server: Option<&str>) -> Result<Listing<ContainerInfo>> {
        let servers: Vec<&ServerConfig> = match server {
            Some(n) => vec![self.server(n)?],
            None => self.inventory.servers.iter().collect(),
        };
        let mut listing = Listing { items: Vec::new(), unread: Vec::new() };
        for (s, r, _) in self.probe_all(&servers).await {
            match r {
                Ok(f) => listing.items.extend(f.containers.into_iter().filter(|c| !c.is_image())),
                Err(e) => listing.unread.push((s.name.clone(), e)),
            }
        }
        Ok(listing)
    }

    /// Finds the server that holds container `name` (state first, then a probe of every server).
    pub async fn locate(&self, name: &str) -> Result<(ServerConfig, ContainerInfo)> {
        names::check_name("container name", name)?;
        let state = self.store.load().await?;
        let candidates: Vec<&ServerConfig> = match state.containers.get(name) {
            Some(rec) => vec![self.server(&rec.server)?],
            None => self.inventory.servers.iter().collect(),
        };
        let mut unreachable = Vec::new();
        for (s, r, _) in self.probe_all(&candidates).await {
            match r {
                Ok(f) => {
                    if let Some(c) = f.container(name) {
                        return Ok((s.clone(), c.clone()));
                    }
                }
                Err(e) => unreachable.push(e.to_string()),
            }
        }
        let hint = if unreachable.is_empty() {
            "see `flockport listcontainers`".to_string()
        } else {
            format!("some servers could not be asked: {}", unreachable.join("; "))
        };
        Err(Error::not_found("container", name, hint))
    }

    /// Runs `argv` inside a container; the output whatever the exit status.
    pub async fn exec(&self, container: &str, argv: &[String]) -> Result<Output> {
        if argv.is_empty() {
            return Err(Error::invalid("command", "", "give a command to run inside the container"));
        }
        let (server, _) = self.locate(container).await?;
        let t = self.transport(&server)?;
        lxc::exec(t.as_ref(), &server, container, argv).await
    }

    /// Writes a file inside a container.
    pub async fn push(&self, container: &str, path: &str, contents: &[u8], mode: u32) -> Result<()> {
        names::check_abs_path("path", path)?;
        let (server, _) = self.locate(container).await?;
        let t = self.transport(&server)?;
        lxc::push(t.as_ref(), &server, container, path, contents, mode).await
    }

    /// Builds (or reuses) an image on a server; returns its template name.
    pub async fn build_image(
        &self,
        server: &str,
        packages: Vec<String>,
        opts: ApplyOptions,
        progress: &dyn Progress,
    ) -> Result<Applied<String>> {
        let s = self.server(server)?.clone();
        let spec = ImageSpec::with_packages(packages)?;
        let facts = self.probe(server).await?;
        let name = spec.template_name(&s);
        let mut plan = Plan::new(format!("buildimage {server} {}", spec.packages.join(",")));
        plan.steps = spec.ensure_steps(&s, &facts);
        if !plan.steps.is_empty() {
            plan.rollback = spec.rollback_steps(&s);
        }
        if opts.dry_run {
            return Ok(Applied { plan, executed: false, record: name });
        }
        let txn = self.store.begin().await?;
        plan.execute(&self.transports_for([server])?, progress).await?;
        drop(txn);
        Ok(Applied { plan, executed: true, record: name })
    }

    /// Checks a container spec without contacting anything.
    pub(crate) fn check_container_spec(&self, spec: &ContainerSpec, state: &State) -> Result<()> {
        names::check_name("container name", &spec.name)?;
        let s = self.server(&spec.server)?;
        for p in &spec.packages {
            names::check_package(p)?;
        }
        if let Some(a) = spec.address.as_deref() {
            let a = names::parse_ipv4("address", a)?;
            names::check_in_subnet("address", a, s.subnet, s.gateway())?;
        }
        if let Some(sc) = state.service(&spec.name) {
            return Err(Error::exists(
                "container",
                &spec.name,
                format!("it is the container of {} {}; names are unique across the cluster", sc.family.noun(), sc.name),
            ));
        }
        if state.containers.contains_key(&spec.name) {
            return Err(Error::exists("container", &spec.name, "names are unique across the cluster"));
        }
        Ok(())
    }

    /// Plans a new container from probed facts: image (built if missing),
    /// clone, static address, start.
    pub(crate) fn plan_container_with(
        &self,
        spec: &ContainerSpec,
        state: &State,
        facts: &BTreeMap<String, ServerFacts>,
    ) -> Result<(Plan, ContainerRecord)> {
        self.check_container_spec(spec, state)?;
        let s = self.server(&spec.server)?.clone();
        let image = ImageSpec::with_packages(spec.packages.clone())?;
        let requested = spec.address.as_deref().map(|a| names::parse_ipv4("address", a)).transpose()?;
        crate::service::check_name_free(state, facts, "container", &spec.name)?;
        let facts = facts.get(&s.name).ok_or_else(|| Error::not_found("server", &s.name, "it was not probed"))?;
        let used: Vec<Ipv4Addr> = facts.used_addresses().chain(state.addresses_on(&s.name)).collect();
        let address = match requested {
            Some(a) if used.contains(&a) => {
                return Err(Error::invalid(
                    "address",
                    a.to_string(),
                    format!("it is already used on server {}; omit it to get a free one", s.name),
                ))
            }
            Some(a) => a,
            None => pick_free_address(&s.name, s.subnet, s.gateway(), &used)?,
        };
        let template = image.template_name(&s);
        let mut plan = Plan::new(format!("addcontainer {} on {}", spec.name, s.name));
        plan.steps.extend(image.ensure_steps(&s, facts));
        plan.steps.extend(lxc::clone_steps(&s, &template, &spec.name, address, facts.overlay));
        if !spec.no_start {
            plan.steps.extend(lxc::start_steps(&s, &spec.name));
        }
        plan.rollback = lxc::destroy_steps(&s, &spec.name);
        let record = ContainerRecord {
            server: s.name.clone(),
            address,
            image: template,
            role: spec.role.clone().unwrap_or_else(|| "app".into()),
        };
        plan.state_changes.push(format!("add container {} ({} on {})", spec.name, address, s.name));
        Ok((plan, record))
    }

    /// Plans a new container: checks, then one probe of every server.
    async fn plan_container(&self, spec: &ContainerSpec, state: &State) -> Result<(Plan, ContainerRecord)> {
        self.check_container_spec(spec, state)?;
        let facts = self.probe_for(&[&spec.server]).await?;
        self.plan_container_with(spec, state, &facts)
    }

    /// Creates a managed container (`addcontainer`).
    pub async fn add_container(
        &self,
        spec: ContainerSpec,
        opts: ApplyOptions,
        progress: &dyn Progress,
    ) -> Result<Applied<ContainerRecord>> {
        let txn = self.store.begin().await?;
        let (plan, record) = self.plan_container(&spec, txn.state()).await?;
        if opts.dry_run {
            return Ok(Applied { plan, executed: false, record });
        }
        plan.execute(&self.transports_for([spec.server.as_str()])?, progress).await?;
        let mut st = txn.state().clone();
        st.containers.insert(spec.name.clone(), record.clone());
        txn.commit(st).await?;
        Ok(Applied { plan, executed: true, record })
    }

    /// Destroys a managed container (`delcontainer`).
    pub async fn del_container(&self, name: &str, opts: ApplyOptions) -> Result<Applied<ContainerRecord>> {
        names::check_name("container name", name)?;
        let txn = self.store.begin().await?;
        if let Some(sc) = txn.state().service(name) {
            return Err(crate::service::owned_error(name, sc));
        }
        let record = txn.state().containers.get(name).cloned().ok_or_else(|| {
            Error::not_found(
                "managed container",
                name,
                "only containers flockport created can be deleted; see `flockport listcontainers`",
            )
        })?;
        let s = self.server(&record.server)?.clone();
        let mut plan = Plan::new(format!("delcontainer {name}"));
        plan.steps = lxc::destroy_steps(&s, name);
        plan.state_changes.push(format!("remove container {name}"));
        let had_services = txn.state().container_services.contains_key(name);
        if had_services {
            // Its services go with it (the stop withdrew them; the definitions too).
            plan.steps.push(crate::ep::forget_container_services_step(&s, name));
            plan.state_changes.push(format!("forget the services of {name}"));
        }
        if opts.dry_run {
            return Ok(Applied { plan, executed: false, record });
        }
        let facts = self.probe(&s.name).await?;
        if facts.container(name).is_some() {
            plan.execute(&self.transports_for([s.name.as_str()])?, &NoProgress).await?;
        }
        let mut st = txn.state().clone();
        st.containers.remove(name);
        st.container_services.remove(name);
        txn.commit(st).await?;
        Ok(Applied { plan, executed: true, record })
    }

    /// Starts or stops a container.
    pub async fn set_running(&self, name: &str, running: bool, opts: ApplyOptions) -> Result<Applied<ContainerInfo>> {
        let (s, info) = self.locate(name).await?;
        let mut plan = Plan::new(format!("{} {name}", if running { "start" } else { "stop" }));
        let is_running = info.state == lxc::ContainerState::Running;
        if running && !is_running {
            plan.steps = lxc::start_steps(&s, name);
        } else if !running && is_running {
            plan.steps = lxc::stop_steps(&s, name);
        }
        if opts.dry_run || plan.steps.is_empty() {
            let executed = !opts.dry_run;
            return Ok(Applied { plan, executed, record: info });
        }
        plan.execute(&self.transports_for([s.name.as_str()])?, &NoProgress).await?;
        let facts = self.probe(&s.name).await?;
        let info = facts.container(name).cloned().unwrap_or(info);
        Ok(Applied { plan, executed: true, record: info })
    }
}

fn absolute(p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
    }
}

/// Picks a free host address in `subnet`: from .100 upwards, then from .2.
pub fn pick_free_address(server: &str, subnet: Ipv4Net, gateway: Ipv4Addr, used: &[Ipv4Addr]) -> Result<Ipv4Addr> {
    let first = u32::from(subnet.network()) + 1;
    let last = u32::from(subnet.broadcast()).saturating_sub(1);
    let start = (first + 99).min(last);
    (start..=last)
        .chain(first..start)
        .map(Ipv4Addr::from)
        .find(|a| *a != gateway && !used.contains(a))
        .ok_or_else(|| Error::SubnetExhausted { server: server.into(), subnet: subnet.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_free_addresses() {
        let net: Ipv4Net = "10.0.4.0/24".parse().unwrap();
        let gw = Ipv4Addr::new(10, 0, 4, 1);
        assert_eq!(pick_free_address("s1", net, gw, &[]).unwrap(), Ipv4Addr::new(10, 0, 4, 100));
        let used = [Ipv4Addr::new(10, 0, 4, 100), Ipv4Addr::new(10, 0, 4, 101)];
        assert_eq!(pick_free_address("s1", net, gw, &used).unwrap(), Ipv4Addr::new(10, 0, 4, 102));
        let small: Ipv4Net = "10.0.9.0/30".parse().unwrap();
        let gw9 = Ipv4Addr::new(10, 0, 9, 1);
        assert_eq!(pick_free_address("s1", small, gw9, &[]).unwrap(), Ipv4Addr::new(10, 0, 9, 2));
        assert!(pick_free_address("s1", small, gw9, &[Ipv4Addr::new(10, 0, 9, 2)]).is_err());
    }
}
