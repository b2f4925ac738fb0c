//! The list of every generated `Cluster` operation ([`for_each_operation!`](crate::for_each_operation)):
//! one entry per operation, which the core, both bindings, the stubs and the
//! parity tests expand.

/// Every generated `Cluster` operation, each once: the declaration that the
/// core ([`crate::api::ops`]), the bindings' methods, `flockport.pyi`, `index.d.ts` and
/// the parity tests follow.
///
/// An entry: doc comment; `read` or `edit`; `fn NAME(POSITIONAL; KEYWORD)`
/// where a keyword parameter has a default; `[dry_run, progress]` (either,
/// both or absent); `spec NAME` when Node takes the parameters as one object
/// (interface NAME); `-> RETURN`; and `|cluster, ctx| CORE CALL`, where the
/// parameters are locals and `ctx` is a [`crate::api::Ctx`].
#[macro_export]
macro_rules! for_each_operation {
    ($cb:path) => {
        $cb! {
            {
                /// Adds a server to the inventory (`addserver`). Nothing is contacted.
                edit fn add_server(name: String, subnet: String, host: Option<String> = None;
                    local: bool = false, user: Option<String> = None, port: Option<u16> = None,
                    identity: Option<PathBuf> = None, known_hosts: Option<PathBuf> = None,
                    ssh_config: Option<PathBuf> = None, bridge: Option<String> = None) spec AddServer
                    -> ServerConfig
                    = |c, _x| c.add_server(AddServer { name, subnet, host, local, user, port, identity, known_hosts, ssh_config, bridge })
            }
            {
                /// Removes a server from the inventory (`delserver`); refused while the
                /// state records containers on it.
                edit fn del_server(name: String) -> () = |c, _x| c.del_server(&name).await
            }
            {
                /// `state migrate --to consul|file`: moves the state between this
                /// machine's file and Consul's KV on the cluster's endpoints (shared by
                /// every operator), and switches the inventory's `[state]` to it.
                edit fn migrate_state(to: String) [dry_run] -> Applied<StateMove>
                    = |c, x| c.migrate_state(&to, x.opts).await
            }
            {
                /// Probes one server (one round trip): LXC version, overlay support, containers.
                read fn probe(server: String) -> ServerFacts = |c, _x| c.probe(&server).await
            }
            {
                /// `listservers`: every server contacted in parallel, one round trip each.
                /// An unreachable server is reported in its status, not raised.
                read fn list_servers() -> Vec<ServerStatus> = |c, _x| Ok(c.list_servers().await)
            }
            {
                /// `status`: one view of everything deployed: every server read once (one
                /// round trip each) with Consul's catalog, joined with every family's
                /// records: what runs where, address, published ports, health with why,
                /// and drift. An unreachable server makes its items `unknown`.
                read fn status() -> Status = |c, _x| c.status().await
            }
            {
                /// `listcontainers`: containers (images excluded) on one server or all, in parallel.
                read fn containers(server: Option<String> = None) -> Vec<ContainerInfo>
                    = |c, _x| c.containers(server.as_deref()).await
            }
            {
                /// Writes a file (bytes or text) inside a container with `mode`.
                read fn push(container: String, path: String, contents: Contents, mode: u32 = 0o644) -> ()
                    = |c, _x| c.push(&container, &path, &contents.0, mode).await
            }
            {
                /// Builds (or reuses) an image with `packages` on a server; the record is
                /// its template name. The progress callback is called before each step.
                read fn build_image(server: String, packages: Vec<String>) [dry_run, progress] -> Applied<String>
                    = |c, x| c.build_image(&server, packages, x.opts, x.progress).await
            }
            {
                /// Creates a managed container (`addcontainer`): image (built if
                /// missing), clone, static address, start.
                read fn add_container(server: String, name: String; packages: Vec<String> = (Vec::new()),
                    address: Option<String> = None, role: Option<String> = None, no_start: bool = false)
                    [dry_run, progress] spec ContainerSpec -> Applied<ContainerRecord>
                    = |c, x| c.add_container(ContainerSpec { server, name, packages, address, role, no_start }, x.opts, x.progress).await
            }
            {
                /// Destroys a managed container (`delcontainer`).
                read fn del_container(name: String) [dry_run] -> Applied<ContainerRecord>
                    = |c, x| c.del_container(&name, x.opts).await
            }
            {
                /// Starts (`running` true) or stops a container.
                read fn set_running(name: String, running: bool) [dry_run] -> Applied<ContainerInfo>
                    = |c, x| c.set_running(&name, running, x.opts).await
            }
            {
                /// `addlb`: a load balancer (`kind` `haproxy` or `nginx`) in its own container
                /// on `server`, configured and running. Nginx needs `url`; `cert` and `key`
                /// (PEM files) turn TLS on.
                read fn add_lb(kind: LbKindName, server: String; name: Option<String> = None, url: Option<String> = None,
                    backends: Vec<String> = (Vec::new()), cert: Option<PathBuf> = None, key: Option<PathBuf> = None)
                    [dry_run, progress] spec LbSpec -> Applied<LbRecord>
                    = |c, x| c.add_lb(LbSpec { kind: kind.0, server, name, url, backends, cert, key }, x.opts, x.progress).await
            }
            {
                /// `listlbs`: every load balancer with live backend health.
                read fn lbs() -> Vec<LbInfo> = |c, _x| c.lbs().await
            }
            {
                /// `addbackends`: HAProxy `name:ip:port` or Nginx `ip:port`/`host:port`.
                read fn add_backends(lb: String, backends: Vec<String>) [dry_run] -> Applied<LbRecord>
                    = |c, x| c.add_backends(&lb, backends, x.opts).await
            }
            {
                /// `delbackends`: HAProxy drains then deletes, Nginx reloads.
                read fn del_backends(lb: String, backends: Vec<String>) [dry_run] -> Applied<LbRecord>
                    = |c, x| c.del_backends(&lb, backends, x.opts).await
            }
            {
                /// `setlb LB SETTING VALUE...`: `setting` is `mode`, `url`, `ssl` (values
                /// cert, key), `workers` or `resolvers`; `values` one string or a list.
                read fn set_lb(lb: String, setting: LbSettingName, values: Values) [dry_run] -> Applied<LbRecord>
                    = |c, x| c.set_lb(&lb, LbSetting::parse(&setting.0, &values.0)?, x.opts).await
            }
            {
                /// `pub [SERVER:]NAME PORT[:TO_PORT]`: forwards `port` on the service
                /// container's server to its `to_port` (default the same port).
                read fn publish(target: String, port: u16, to_port: Option<u16> = None) [dry_run] -> Applied<ServiceContainer>
                    = |c, x| c.publish(&target, &format!("{port}:{}", to_port.unwrap_or(port)), x.opts).await
            }
            {
                /// `unpub [SERVER:]NAME PORT`: removes the forward of host port `port`.
                read fn unpublish(target: String, port: u16) [dry_run] -> Applied<ServiceContainer>
                    = |c, x| c.unpublish(&target, port, x.opts).await
            }
            {
                /// `dellb`: removes the forwards, the container and the state.
                read fn del_lb(lb: String) [dry_run] -> Applied<LbRecord> = |c, x| c.del_lb(&lb, x.opts).await
            }
            {
                /// `addws`: an Nginx webserver in its own container on `server`, serving no
                /// app yet; `name` generated (`nginx1`, ...) when absent.
                read fn add_ws(server: String; name: Option<String> = None) [dry_run, progress] -> Applied<WsRecord>
                    = |c, x| c.add_ws(&server, name.as_deref(), x.opts, x.progress).await
            }
            {
                /// `listws`: every webserver with its apps and each upstream's live health.
                read fn webservers() -> Vec<WsInfo> = |c, _x| c.webservers().await
            }
            {
                /// `pubapp`: publishes `upstream` (`IP:PORT`, a container as `NAME.app:PORT`,
                /// or `HOST:PORT`) under `url` on webserver `ws`; `cert` and `key` (PEM
                /// files), or `self_signed`, serve it on 443 with port 80 redirecting.
                read fn pub_app(ws: String, url: String, upstream: String; cert: Option<PathBuf> = None,
                    key: Option<PathBuf> = None, self_signed: bool = false) [dry_run, progress] -> Applied<WsRecord>
                    = |c, x| c.pub_app(AppSpec { ws, url, upstream, cert, key, self_signed }, x.opts, x.progress).await
            }
            {
                /// `delapp`: removes the app served under `url` from webserver `ws`.
                read fn del_app(ws: String, url: String) [dry_run] -> Applied<WsRecord>
                    = |c, x| c.del_app(&ws, &url, x.opts).await
            }
            {
                /// `delws`: removes a webserver: its forwards, its container and its state.
                read fn del_ws(ws: String) [dry_run] -> Applied<WsRecord> = |c, x| c.del_ws(&ws, x.opts).await
            }
            {
                /// `addhosts`: `ip url` in flockport's block of this machine's `/etc/hosts`
                /// (or `file`); idempotent, other lines untouched.
                read fn add_hosts(url: String, ip: String; file: Option<PathBuf> = None) [dry_run] -> HostsChange
                    = |c, x| c.add_hosts(&url, &ip, file.as_deref(), x.opts)
            }
            {
                /// `delhosts`: removes `url`'s entry that addhosts made.
                read fn del_hosts(url: String; file: Option<PathBuf> = None) [dry_run] -> HostsChange
                    = |c, x| c.del_hosts(&url, file.as_deref(), x.opts)
            }
            {
                /// `addvip`: a floating IP held by `server1` (master) and `server2` (backup)
                /// with keepalived on both; `advert_int` in seconds (fractions use VRRPv3),
                /// `track` ports whose service must answer on the holder.
                read fn add_vip(server1: String, server2: String, ip: String; name: Option<String> = None,
                    advert_int: Option<f64> = None, track: Vec<u16> = (Vec::new())) [dry_run, progress] -> Applied<Vip>
                    = |c, x| c.add_vip(VipSpec { server1, server2, ip, name, advert_int, track }, x.opts, x.progress).await
            }
            {
                /// `listvips`: every floating IP, which server holds it now and keepalived's
                /// state on both.
                read fn vips() -> Vec<VipInfo> = |c, _x| c.vips().await
            }
            {
                /// `delvip`: removes a floating IP from both servers.
                read fn del_vip(name: String) [dry_run] -> Applied<Vip> = |c, x| c.del_vip(&name, x.opts).await
            }
            {
                /// `adddb`: a database instance (`engine` `mysql` or `postgresql`) on `server`, or
                /// the existing instance `name`, with `user` owning `database`, reachable from
                /// `allowed` (CIDRs; default the server's container subnet) with `password`
                /// (default generated, kept in a 0600 file; see `db_password`). Idempotent.
                read fn add_db(engine: DbEngineName, server: String, user: String, database: String;
                    name: Option<String> = None, allowed: Vec<String> = (Vec::new()), password: Option<Secret> = None)
                    [dry_run, progress] spec DbSpec -> Applied<DbAdded>
                    = |c, x| c.add_db(DbSpec { engine: engine.0, server, user, database, name, allowed, password },
                        x.opts, x.progress).await
            }
            {
                /// `listdbs`: every database instance with its databases, users, allowed ranges,
                /// sizes, version and whether it answers now.
                read fn dbs() -> Vec<DbInfo> = |c, _x| c.dbs().await
            }
            {
                /// `listdbs --show-password`: the password of the user owning `database` on
                /// `instance`, from its 0600 file on this machine.
                read fn db_password(instance: String, database: String) -> String
                    = |c, _x| c.db_password(&instance, &database).map(|s| s.expose().to_string())
            }
            {
                /// `addep`: a Consul endpoint (server agent) on `server` at the static `ip`;
                /// `name` defaults to `consul-` and the address's last number. The first
                /// bootstraps the cluster (gossip encryption, ACLs default deny), the next join.
                read fn add_ep(server: String, ip: String; name: Option<String> = None) [dry_run, progress] -> Applied<EpRecord>
                    = |c, x| c.add_ep(&server, &ip, name.as_deref(), x.opts, x.progress).await
            }
            {
                /// `listep`: every endpoint with its raft role and health read from Consul
                /// now, the peer count, fault tolerance and a warning below three.
                read fn endpoints() -> EpListing = |c, _x| c.endpoints().await
            }
            {
                /// `delep`: the endpoint leaves the cluster, then its container goes; refused
                /// without `force` when fewer than two would remain or some are down.
                read fn del_ep(name: String; force: bool = false) [dry_run] -> Applied<EpRecord>
                    = |c, x| c.del_ep(&name, force, x.opts).await
            }
            {
                /// `pubservice`: an ad-hoc service instance `name` at `address` (IP:PORT),
                /// registered by every endpoint (`NAME.service.consul`).
                read fn pub_service(name: String, address: String) [dry_run] -> Applied<AdhocService>
                    = |c, x| c.pub_service(&name, &address, x.opts).await
            }
            {
                /// `pubcheck`: a check `name` (`kind` tcp with `target` IP:PORT, or http with a
                /// URL) of the ad-hoc instance it targets (or of `service`), run every
                /// `interval` seconds (default 3) by every endpoint.
                read fn pub_check(name: String, kind: String, target: String; service: Option<String> = None,
                    interval: Option<u32> = None) [dry_run] -> Applied<AdhocService>
                    = |c, x| c.pub_check(&name, &kind, &target, service.as_deref(), interval, x.opts).await
            }
            {
                /// `unpubservice`: withdraws ad-hoc service `name` (every instance, or the one at
                /// `address`) and its checks.
                read fn unpub_service(name: String; address: Option<String> = None) [dry_run] -> Applied<Vec<AdhocService>>
                    = |c, x| c.unpub_service(&name, address.as_deref(), x.opts).await
            }
            {
                /// `unpubcheck`: withdraws ad-hoc check `name`.
                read fn unpub_check(name: String) [dry_run] -> Applied<AdhocService>
                    = |c, x| c.unpub_check(&name, x.opts).await
            }
            {
                /// `services`: every service instance and check the endpoints know now (read
                /// through Consul's HTTP API), and published ad-hoc services Consul lacks.
                read fn services() -> ServiceListing = |c, _x| c.services().await
            }
            {
                /// `addservice`: service `name` of `container` on `port`, registered with its
                /// server's Consul agent while the container runs (`NAME.service.consul`).
                read fn add_service(container: String, name: String, port: u32) [dry_run] -> Applied<ContainerServices>
                    = |c, x| c.add_service(&container, &name, port, x.opts).await
            }
            {
                /// `listservice`: `container`'s services and checks as defined, and their
                /// instances in Consul's catalog now.
                read fn list_service(container: String) -> ContainerServiceListing
                    = |c, _x| c.list_service(&container).await
            }
            {
                /// `delservice`: removes service `name` of `container`, or every one (and then
                /// its checks).
                read fn del_service(container: String; name: Option<String> = None) [dry_run] -> Applied<ContainerServices>
                    = |c, x| c.del_service(&container, name.as_deref(), x.opts).await
            }
            {
                /// `addcheck`: check `name` of `container`'s services (`kind` tcp with `target`
                /// a port, or http with a URL or a host name asked at the container's address),
                /// run every `interval` seconds (default 3) by its server's agent.
                read fn add_check(container: String, name: String, kind: String, target: String;
                    interval: Option<u32> = None) [dry_run] -> Applied<ContainerServices>
                    = |c, x| c.add_check(&container, &name, &kind, &target, interval, x.opts).await
            }
            {
                /// `delcheck`: removes check `name` of `container`.
                read fn del_check(container: String, name: String) [dry_run] -> Applied<ContainerServices>
                    = |c, x| c.del_check(&container, &name, x.opts).await
            }
            {
                /// `deldb`: drops `database` and its user, or without it removes the whole
                /// instance (container, forwards, state, passwords).
                read fn del_db(instance: String; database: Option<String> = None) [dry_run] -> Applied<DbRecord>
                    = |c, x| c.del_db(&instance, database.as_deref(), x.opts).await
            }
            {
                /// `addjob`: `count` instances of container `base` placed across the servers
                /// by free capacity (strategy `resource`): `network` the bridge they join,
                /// `group` jobs sharing one server, `replicas` instances per chosen server,
                /// `memory` (e.g. 512M) and `cpus` (e.g. 0.5) each instance's limits, `port`
                /// the TCP port that says an instance is healthy, `lb` (`LB:PORT`) a load
                /// balancer whose backends they are while they run.
                read fn add_job(base: String, count: u32; network: Option<String> = None,
                    group: Option<String> = None, replicas: Option<u32> = None,
                    strategy: Option<String> = None, memory: Option<String> = None,
                    cpus: Option<String> = None, port: Option<u16> = None, lb: Option<String> = None)
                    [dry_run, progress] spec JobSpec -> Applied<JobRecord>
                    = |c, x| c.add_job(JobSpec { base, count, network, group, replicas, strategy, memory, cpus, port, lb }, x.opts, x.progress).await
            }
            {
                /// `listjobs`: every job with each instance's server, address, state, version
                /// and health; an instance whose server cannot be read or whose container is
                /// gone is `lost`.
                read fn jobs() -> Vec<JobInfo> = |c, _x| c.jobs().await
            }
            {
                /// `scalejob`: sets job `base` to `count` instances (`+N`/`-N` change it by N;
                /// new ones join `group`); lost instances are replaced, and scaling down removes
                /// instances from the fullest servers first.
                read fn scale_job(base: String, count: String; group: Option<String> = None)
                    [dry_run, progress] -> Applied<JobRecord>
                    = |c, x| c.scale_job(&base, &count, group, x.opts, x.progress).await
            }
            {
                /// `upgradejob`: a new version from the base container, rolled out one instance at
                /// a time (`interval` seconds between them); an instance that does not answer is
                /// rolled back and stops the rollout.
                read fn upgrade_job(base: String; interval: Option<u32> = None) [dry_run, progress]
                    -> Applied<JobRecord>
                    = |c, x| c.upgrade_job(&base, interval, x.opts, x.progress).await
            }
            {
                /// `deljob`: removes every instance (drained out of its load balancer first) and
                /// the job's snapshots; the base container is untouched.
                read fn del_job(base: String) [dry_run] -> Applied<JobRecord> = |c, x| c.del_job(&base, x.opts).await
            }
        }
    };
}
