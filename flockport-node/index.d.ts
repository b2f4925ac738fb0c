/* tslint:disable */
/* eslint-disable */

/*
 * GENERATED from the core's declaration (flockport-core/src/api.rs, template
 * flockport-core/templates/bindings/): regenerate with
 * `FLOCKPORT_REGEN=1 cargo test -p flockport-core api::`.
 */

/** The kinds of error: the `code` of every error flockport throws or rejects with. */
export enum ErrorKind {
  /** A value given by the user is not acceptable; nothing was touched. */
  InvalidInput = 'InvalidInput',
  /** A named thing (server, container, ...) does not exist. */
  NotFound = 'NotFound',
  /** A named thing exists already. */
  AlreadyExists = 'AlreadyExists',
  /** A server could not be reached (connection, SSH, host key). */
  Unreachable = 'Unreachable',
  /** A command on a server exited non-zero, or its output was not understood. */
  RemoteCommandFailed = 'RemoteCommandFailed',
  /** A service's checker refused a rendered configuration. */
  ConfigRejected = 'ConfigRejected',
  /** A local file (inventory, state, key) could not be used. */
  Local = 'Local',
  /** The change was interrupted and rolled back; nothing was recorded. */
  Interrupted = 'Interrupted'
}
/** Options of mutating operations. */
export interface ApplyOptions {
  /** Build and return the plan; touch nothing. */
  dryRun?: boolean
}
/** What a progress callback receives before each step runs. */
export interface ProgressEvent {
  /** The step's index in the plan. */
  index: number
  /** The number of steps. */
  total: number
  /** The step. */
  step: Step
}
/** One server's answer to `probeAll`: its facts or its error. */
export interface ProbeResult {
  /** The server probed. */
  server: ServerConfig
  /** What the probe saw, when it succeeded. */
  facts?: ServerFacts
  /** The error (with `code`, `details`, `causes`), when it failed. */
  error?: Error
  /** Time of the round trip, including connecting. */
  millis: number
}
/** Where `locate` found a container. */
export interface Located {
  /** The server that holds it. */
  server: ServerConfig
  /** The container. */
  container: ContainerInfo
}
/** A server a listing could not read, and why. */
export interface UnreadServer {
  /** The server. */
  server: string
  /** Why it could not be read. */
  error: string
}
/** What `containersListing` returns. */
export interface ContainerListing {
  /** The containers of the servers that answered. */
  items: Array<ContainerInfo>
  /** The servers that could not be read. */
  unread: Array<UnreadServer>
}
/** What a command produced. A non-zero status is not an error here. */
export interface Output {
  /** Exit status; -1 when killed by a signal. */
  status: number
  /** Standard output. */
  stdout: Buffer
  /** Standard error. */
  stderr: Buffer
}
/** The names of 0.1's per-record `Applied` interfaces. */
export type AppliedImage = Applied<string>
export type AppliedContainerRecord = Applied<ContainerRecord>
export type AppliedContainerInfo = Applied<ContainerInfo>
export type AppliedLbRecord = Applied<LbRecord>
export type AppliedServiceContainer = Applied<ServiceContainer>
/** One server of the cluster. */
export interface ServerConfig {
  /** Unique name, e.g. `s1`. */
  name: string
  /** Host name or address (SSH only). */
  host?: string
  /** SSH port. */
  port: number
  /** SSH user. */
  user: string
  /** SSH private key. */
  identity?: string
  /** known_hosts file (strict checking against it). */
  knownHosts?: string
  /**
   * An ssh_config(5) file read instead of `~/.ssh/config` and `/etc/ssh/ssh_config` (e.g.
   * `KexAlgorithms`, `ProxyJump`), included after flockport's own settings, which win: user,
   * port, identity and strict host-key checking against `known_hosts`, for ProxyJump hops
   * too. Trusted like code: it can run commands (`ProxyCommand`, `Match exec`).
   */
  sshConfig?: string
  /** The container subnet. */
  subnet: string
  /** The container bridge on the server. */
  bridge: string
  /** How the server is reached. */
  transport: 'ssh' | 'local'
  /** LXC's container store on the server. */
  lxcpath: string
  /** How images are built there. */
  image: ImageConfig
  /**
   * Longest one command on this server may run, in seconds: default
   * [`crate::transport::DEFAULT_COMMAND_TIMEOUT`] (900 s), `0` for no limit. A command past
   * it is stopped (the local process killed, the SSH channel closed) and fails with
   * [`Error::Timeout`]. Connecting has its own limit, [`crate::transport::CONNECT_TIMEOUT`].
   */
  commandTimeoutSecs?: number
  /** Gateway of the container subnet (its first host address unless set). */
  gateway: string
}
/** How images (template containers) are built on a server. */
export interface ImageConfig {
  /** The `lxc-create` template (`debian`, `download`, ...). */
  template: string
  /** Arguments after `--`, e.g. `["-r", "bookworm"]`. */
  args: Array<string>
}
/** What `state migrate` did (or would do). */
export interface StateMove {
  /** The backend it came from: `file` or `consul`. */
  source: string
  /** The backend it is in now. */
  target: string
  /** Where it is now (`Consul KV flockport/state`, or the file's path). */
  location: string
  /** The Consul endpoints the inventory names (`SERVER/ADDRESS`). */
  endpoints: Array<string>
  /** Whether the state was written (false: the target held it already). */
  wrote: boolean
}
/** What a mutating operation did (or, with `dry_run`, would do). */
export interface Applied<T> {
  /** The plan. */
  plan: Plan
  /** Whether it was executed. */
  executed: boolean
  /** The resulting record (also present for a dry run: what it would be). */
  record: T
}
/** Everything a mutating operation will do. */
export interface Plan {
  /** The operation, e.g. `addcontainer web1`. */
  operation: string
  /** Steps in order (per server order is kept; servers run in parallel). */
  steps: Array<Step>
  /** Best-effort undo steps run on a server whose step failed. */
  rollback: Array<Step>
  /** The state changes committed after success, for people. */
  stateChanges: Array<string>
  /** What `--dry-run` prints. */
  rendered: string
}
/** A described action on a named server. */
export interface Step {
  /** Server name. */
  server: string
  /** What the step does, for people. */
  description: string
  /**
   * When set, this step is the named service's config check: its failure is
   * [`Error::ConfigRejected`] rather than a plain command failure.
   */
  checksConfigOf?: string
  /** `run` or `write_file`. */
  kind: string
  /** The command of a `run` step. */
  argv?: Array<string>
  /** Standard input of a `run` step as shown to people (secrets hidden). */
  stdin?: string
  /** The path of a `write_file` step. */
  path?: string
  /** The file mode of a `write_file` step. */
  mode?: number
  /** The contents of a `write_file` step as shown to people (secrets hidden). */
  content?: string
  /** One line (two with the command) for people. */
  rendered: string
}
/** What one round trip tells about a server. */
export interface ServerFacts {
  /** `lxc-ls --version`. */
  lxcVersion: string
  /** Whether overlayfs snapshot clones are possible. */
  overlay: boolean
  /** Every container in the server's lxcpath, images included. */
  containers: Array<ContainerInfo>
  /**
   * What the server has for the scheduler to place against (absent when the probe's answer
   * did not say).
   */
  host?: HostCapacity
}
/** A container as seen on a server. */
export interface ContainerInfo {
  /** Its name. */
  name: string
  /** The server it lives on. */
  server: string
  /** Run state: `running`, `stopped`, or what LXC said, lowercased. */
  state: string
  /** Live IPv4 addresses (when running). */
  ipv4: Array<string>
  /** The static address in its config, if any. */
  configuredIpv4?: string
  /** The address to show: the live one, else the configured one. */
  address?: string
  /** Whether this is an image template rather than a service container. */
  isImage: boolean
}
/**
 * A server's size as its probe reads it: what the job scheduler places against
 * (`jobs::placement::Capacity`).
 */
export interface HostCapacity {
  /** CPUs (`nproc`). */
  cpus: number
  /** Memory, MiB (`MemTotal`). */
  memoryMib: number
  /** Size of the filesystem holding the lxcpath, MiB. */
  diskMib: number
  /** `v1` when the memory and CPU controllers are cgroup v1 ones, else `v2`. */
  cgroup: string
  /** Bridges containers can join, with the server's address on each. */
  networks: Array<Bridge>
  /**
   * Whether `zstd` is there (snapshots then travel zstd-compressed, about 5x faster than
   * gzip here; else gzip).
   */
  zstd: boolean
}
/** A bridge on a server and the server's IPv4 address and prefix on it. */
export interface Bridge {
  /** The bridge's name. */
  name: string
  /** The server's address on it (the containers' gateway), `ADDR/PREFIX`. */
  address: string
}
/** A server as `listservers` shows it. */
export interface ServerStatus {
  /** Name. */
  name: string
  /** Host, or `local`. */
  host: string
  /** Container subnet. */
  subnet: string
  /** Whether the probe succeeded. */
  reachable: boolean
  /** Why not, when unreachable. */
  error?: string
  /** LXC version. */
  lxcVersion?: string
  /** Service containers (images not counted). */
  containers: number
  /** Image templates. */
  images: number
  /** Time of the round trip, including connecting. */
  millis: number
}
/** `status`: the whole cluster in one read. */
export interface Status {
  /** Every server, as `listservers` shows it. */
  servers: Array<ServerStatus>
  /** Every deployed thing of every family, in [`FAMILIES`] order. */
  items: Array<StatusItem>
  /** Differences between the state and the servers. */
  drift: Array<Drift>
  /** Families this build does not have, each with a sentence. */
  absent: Array<string>
  /** Every server read, every item up, no missing or stale drift. */
  healthy: boolean
  /** Time of the whole read. */
  millis: number
}
/** One deployed thing as `status` shows it. */
export interface StatusItem {
  /** Its family: container, lb, webserver, database, vip, endpoint, service, job. */
  family: string
  /** Its name. */
  name: string
  /** The server it runs on now (a floating IP: the server holding it; empty when none does). */
  server: string
  /** Its address (a service: `ADDRESS:PORT`). */
  address: string
  /** Ports published on its server, `HOSTPORT:PORT` (or `PORT` when equal). */
  ports: Array<string>
  /** `up`, `degraded`, `down` or `unknown`. */
  health: string
  /** Why, when not up. */
  why?: string
  /** What it is, in a few words (kind and mode, engine, URLs, role). */
  detail: string
  /**
   * What it sends traffic to: a load balancer's backends, a webserver's apps' upstreams
   * (`ADDRESS:PORT`, or a name), each with the name of the container at that address when
   * one is known.
   */
  targets: Array<string>
}
/** A difference between the state and the servers. */
export interface Drift {
  /**
   * `missing` (in state, not on its server) or `unmanaged` (on a server, not in state;
   * shown, not counted as unhealthy).
   */
  kind: string
  /** The family of the record, or `container`. */
  family: string
  /** The container's (or service's) name. */
  name: string
  /** Its server. */
  server: string
  /** What to do about it. */
  hint: string
}
/** A container flockport created and manages. */
export interface ContainerRecord {
  /** The server it lives on. */
  server: string
  /** Its static address. */
  address: string
  /** The image (template container) it was cloned from. */
  image: string
  /** What it is for (`app`, ...). */
  role: string
}
/** A load balancer as recorded in state. */
export interface LbRecord {
  /** The family that owns it. */
  family: 'lb' | 'ws' | 'db' | 'ep'
  /** Its name (also the service's). */
  name: string
  /** The server it runs on. */
  server: string
  /** Its static address. */
  address: string
  /** The image (template container) it was cloned from. */
  image: string
  /** Ports forwarded from the server's host addresses. */
  forwards: Array<Forward>
  /**
   * Host ports forwarded from the server's host addresses (see `forwards` for where each
   * goes).
   */
  published: Array<number>
  /** HAProxy or Nginx. */
  kind: 'haproxy' | 'nginx'
  /** Balancing mode. */
  mode: string
  /** The served name (required for Nginx). */
  url?: string
  /** Backends. */
  backends: Array<Backend>
  /** Fingerprint of the installed certificate, when TLS is on. */
  tls?: string
  /** Worker processes (Nginx) or threads (HAProxy). */
  workers?: number
  /** DNS resolvers. */
  resolvers: Array<string>
}
/** A port forward: `host_port` on the server's host addresses to `port` of the container. */
export interface Forward {
  /** The port on the server. */
  hostPort: number
  /** The container's port. */
  port: number
}
/** A backend: HAProxy's `name:ip:port` or Nginx's `ip:port` / `host:port`. */
export interface Backend {
  /** The HAProxy server name (none for Nginx). */
  name?: string
  /** IP address or DNS name. */
  host: string
  /** Port. */
  port: number
  /** As the CLI writes it (`name:ip:port` or `host:port`). */
  spec: string
  /** What identifies it in its LB: the name (HAProxy) or host:port (Nginx). */
  key: string
}
/** A load balancer as `listlbs` shows it. */
export interface LbInfo {
  /** The record. */
  record: LbRecord
  /** Health per backend. */
  health: Array<BackendHealth>
  /**
   * Why its health could not be read (its server unreachable, its container stopped, ...);
   * `None` when it was.
   */
  error?: string
}
/** A backend's health as the LB sees it. */
export interface BackendHealth {
  /** The backend. */
  backend: string
  /** UP, DOWN, MAINT, DRAIN, ... or `unknown`. */
  health: string
}
/** A container that a service owns, as every family's record holds it. */
export interface ServiceContainer {
  /** The family that owns it. */
  family: 'lb' | 'ws' | 'db' | 'ep'
  /** Its name (also the service's). */
  name: string
  /** The server it runs on. */
  server: string
  /** Its static address. */
  address: string
  /** The image (template container) it was cloned from. */
  image: string
  /** Ports forwarded from the server's host addresses. */
  forwards: Array<Forward>
  /**
   * Host ports forwarded from the server's host addresses (see `forwards` for where each
   * goes).
   */
  published: Array<number>
}
/** A webserver as recorded in state. */
export interface WsRecord {
  /** The family that owns it. */
  family: 'lb' | 'ws' | 'db' | 'ep'
  /** Its name (also the service's). */
  name: string
  /** The server it runs on. */
  server: string
  /** Its static address. */
  address: string
  /** The image (template container) it was cloned from. */
  image: string
  /** Ports forwarded from the server's host addresses. */
  forwards: Array<Forward>
  /**
   * Host ports forwarded from the server's host addresses (see `forwards` for where each
   * goes).
   */
  published: Array<number>
  /** Its apps by URL. */
  apps: Record<string, App>
}
/** An app published on a webserver. */
export interface App {
  /** The host name it is served under. */
  url: string
  /** Where its requests go. */
  upstream: Upstream
  /** TLS, when on. */
  tls?: AppTls
}
/** Where an app's requests go. */
export interface Upstream {
  /** The address or DNS name Nginx connects to. */
  host: string
  /** The port. */
  port: number
  /** The container of the cluster it was named by (`NAME.app:PORT`), whose address is `host`. */
  container?: string
}
/** An app's TLS: served on 443 with this certificate, port 80 redirects. */
export interface AppTls {
  /** The certificate's fingerprint (names its files in the container). */
  fingerprint: string
  /** Given or self-signed. */
  source: 'given' | 'self-signed'
  /** When the certificate expires (`Dec 2 06:50:20 2027 GMT`). */
  notAfter: string
}
/** A webserver as `listws` shows it. */
export interface WsInfo {
  /** The record. */
  record: WsRecord
  /** Health per app. */
  health: Array<AppHealth>
  /** Why health could not be read (server unreachable, container stopped). */
  error?: string
}
/** An app's live health: does its upstream answer a TCP connection from the webserver. */
export interface AppHealth {
  /** The app's URL. */
  url: string
  /** `UP`, `DOWN` or `unknown`. */
  health: string
}
/** What `addhosts`/`delhosts` did (or, dry, would do). */
export interface HostsChange {
  /** The file. */
  file: string
  /** The host name. */
  url: string
  /** The address (addhosts), or the one removed (delhosts). */
  ip?: string
  /** Whether the file changes (false: it already said so). */
  changed: boolean
  /** Whether it was written. */
  executed: boolean
}
/** A floating IP as the API returns it (the record without its VRRP password). */
export interface Vip {
  /** Name. */
  name: string
  /** The floating address. */
  ip: string
  /** The LAN both servers share (the floating address's prefix). */
  network: string
  /** The server that holds it while both run. */
  master: VipMember
  /** The server that takes it over. */
  backup: VipMember
  /** VRRP virtual router id, unique among the floating IPs of `network`. */
  vrid: number
  /** Advert interval in hundredths of a second. */
  advertCentis: number
  /** VRRP version (2 for whole seconds, 3 for fractions). */
  version: number
  /** Tracked ports. */
  track: Array<number>
}
/** One of the two servers of a floating IP, as found on the server. */
export interface VipMember {
  /** The server's name. */
  server: string
  /** Its own LAN address (the VRRP unicast source; its peer's unicast peer). */
  address: string
  /** The interface holding that address (where the floating IP goes). */
  interface: string
  /** VRRP priority. */
  priority: number
}
/** A floating IP as `listvips` shows it: read from the servers, not from state. */
export interface VipInfo {
  /** The floating IP. */
  vip: Vip
  /**
   * The server that holds the address now: the one whose keepalived is MASTER with the
   * address on its interface (or, when keepalived was killed and left it behind, the only
   * one that has it); `None` when neither holds it, or both claim it.
   */
  holder?: string
  /** Every server whose interface has the address now. */
  addressOn: Array<string>
  /** The two servers, master first. */
  servers: Array<VipServerStatus>
}
/** One server of a floating IP as `listvips` reads it. */
export interface VipServerStatus {
  /** The server. */
  server: string
  /** `master` or `backup`: its configured role (priority). */
  role: string
  /**
   * keepalived's state of this VRRP instance: `MASTER`, `BACKUP`, `FAULT`, `STOPPED`
   * (keepalived is not running), or `unknown`.
   */
  keepalived: string
  /** Whether the floating address is on the server's interface now. */
  hasAddress: boolean
  /** The tracked ports. */
  tracks: Array<TrackStatus>
  /** Why the server could not be read; `None` when it was. */
  error?: string
}
/** A tracked port as a server sees it now. */
export interface TrackStatus {
  /** The port. */
  port: number
  /** Whether its service answered a TCP connect on the server's own address. */
  up: boolean
}
/** What `adddb` did. */
export interface DbAdded {
  /** The instance after the change. */
  instance: DbRecord
  /** The database added or updated. */
  database: string
  /**
   * What changed (`created instance`, `created user and database`, `password`, `allowed
   * ranges`); empty when nothing had to.
   */
  changes: Array<string>
  /** Whether the password was generated here (then it is shown once). */
  generatedPassword: boolean
  /** The file (mode 0600) holding the user's password. */
  passwordFile: string
}
/** A database instance: its container and its databases. */
export interface DbRecord {
  /** The family that owns it. */
  family: 'lb' | 'ws' | 'db' | 'ep'
  /** Its name (also the service's). */
  name: string
  /** The server it runs on. */
  server: string
  /** Its static address. */
  address: string
  /** The image (template container) it was cloned from. */
  image: string
  /** Ports forwarded from the server's host addresses. */
  forwards: Array<Forward>
  /**
   * Host ports forwarded from the server's host addresses (see `forwards` for where each
   * goes).
   */
  published: Array<number>
  /** The engine. */
  engine: 'mysql' | 'postgresql'
  /** The port it listens on at its address. */
  port: number
  /** Its databases by name. */
  databases: Record<string, Database>
}
/** A database of an instance and the user that owns it. */
export interface Database {
  /** The database's name. */
  name: string
  /** The user that owns it (all privileges on it, nothing else). */
  user: string
  /** The ranges (CIDR) the user may log in from. */
  allowed: Array<string>
}
/** An instance as `listdbs` shows it: the record and what it says now. */
export interface DbInfo {
  /** The record. */
  instance: DbRecord
  /** Whether it answered a query and accepts connections at its address now. */
  answers: boolean
  /** The engine's version as it reports it. */
  version?: string
  /** Size in bytes of each database, by name. */
  sizes: Record<string, number>
  /** Why it could not be read, if it could not. */
  error?: string
}
/** A Consul server agent in its own container, as recorded in state. */
export interface EpRecord {
  /** The family that owns it. */
  family: 'lb' | 'ws' | 'db' | 'ep'
  /** Its name (also the service's). */
  name: string
  /** The server it runs on. */
  server: string
  /** Its static address. */
  address: string
  /** The image (template container) it was cloned from. */
  image: string
  /** Ports forwarded from the server's host addresses. */
  forwards: Array<Forward>
  /**
   * Host ports forwarded from the server's host addresses (see `forwards` for where each
   * goes).
   */
  published: Array<number>
}
/** `listep`: every endpoint and the cluster's health. */
export interface EpListing {
  /** Every endpoint. */
  endpoints: Array<EpInfo>
  /** The leader's name, if there is one. */
  leader?: string
  /** Raft peers (voters and not). */
  peers: number
  /** Endpoints that may fail with the cluster still able to elect a leader. */
  faultTolerance: number
  /**
   * A warning about the cluster's resilience (fewer than three endpoints, no leader,
   * endpoints down).
   */
  warning?: string
  /** The UI of each endpoint (`http://ADDRESS:8500/ui/`). */
  ui: Array<string>
  /** The DNS interface of each endpoint (`ADDRESS:8600`). */
  dns: Array<string>
}
/** One endpoint as Consul sees it now. */
export interface EpInfo {
  /** The record. */
  record: EpRecord
  /** `leader` or `follower` in the raft configuration (absent: not a peer). */
  role?: string
  /** Whether it votes. */
  voter: boolean
  /** Its gossip status (`alive`, `failed`, `left`) or `unknown`. */
  status: string
  /** Whether its own agent answered flockport now. */
  answers: boolean
  /** Why it could not be read. */
  error?: string
}
/** An ad-hoc service instance (`pubservice NAME IP:PORT`) and its checks. */
export interface AdhocService {
  /** The service's name (`NAME.service.consul`). */
  name: string
  /** The instance's address. */
  address: string
  /** The instance's port. */
  port: number
  /** Its checks. */
  checks: Array<AdhocCheck>
}
/** A check of an ad-hoc service, run by every endpoint's agent. */
export interface AdhocCheck {
  /** Its name (unique among ad-hoc checks; also its ID in Consul). */
  name: string
  /** tcp or http. */
  kind: 'tcp' | 'http'
  /** `IP:PORT` (tcp) or the URL (http). */
  target: string
  /** Seconds between runs. */
  intervalSecs: number
}
/** `services`: every service instance and check the endpoints know. */
export interface ServiceListing {
  /** Every instance, by name then address. */
  services: Array<ServiceInstance>
  /** The endpoint that answered. */
  endpoint: string
  /**
   * Drift: services flockport published that Consul does not hold (ad-hoc ones: the next
   * change, or the endpoints' watchers, put them back; containers' of running containers:
   * their server's agent is down or its hook did not run).
   */
  missing: Array<string>
  /**
   * Drift: registrations in Consul of containers that are gone or stopped, or whose services
   * are no longer defined.
   */
  stale: Array<string>
}
/** One service instance as Consul knows it now. */
export interface ServiceInstance {
  /** The service's name (`NAME.service.consul`). */
  name: string
  /** The instance's ID. */
  id: string
  /** Its address. */
  address: string
  /** Its port. */
  port: number
  /**
   * Who registered it: `pubservice`, `container` (`addservice`), or `consul` (the endpoints'
   * own), or `other`.
   */
  origin: string
  /** The container it belongs to (`addservice`). */
  container?: string
  /** The server of that container. */
  server?: string
  /** The agents (nodes) that hold it. */
  nodes: Array<string>
  /** Its checks. */
  checks: Array<CheckState>
  /** Whether DNS answers with it now (passing on at least one live agent). */
  healthy: boolean
}
/** A check of a service instance as the endpoints run it now. */
export interface CheckState {
  /** Its name. */
  name: string
  /**
   * `passing` when every agent that runs it passes, `critical` when none does, else
   * `warning`.
   */
  status: string
  /** How many agents run it and see it passing. */
  passing: number
  /** How many agents run it. */
  runs: number
  /** What it last printed (of a failing run, if any). */
  output: string
}
/** A container's services and checks, as recorded in state. */
export interface ContainerServices {
  /** The container. */
  container: string
  /** Its server. */
  server: string
  /** Its address (where the services answer). */
  address: string
  /** Its services. */
  services: Array<ContainerService>
  /** Its checks (each applies to every service of the container). */
  checks: Array<ContainerCheck>
}
/** A service of a container (`addservice CONTAINER NAME PORT`). */
export interface ContainerService {
  /** Its name (`NAME.service.consul`). */
  name: string
  /** The port it serves on the container's address. */
  port: number
}
/**
 * A check of a container's services (`addcheck CONTAINER NAME tcp PORT | http URL`), run
 * by its server's agent.
 */
export interface ContainerCheck {
  /** Its name (unique on the container). */
  name: string
  /** tcp or http. */
  kind: 'tcp' | 'http'
  /**
   * tcp: the port; http: the URL, or a bare host name (`http://ADDRESS/` with that Host
   * header).
   */
  target: string
  /** Seconds between runs. */
  intervalSecs: number
}
/** `listservice CONTAINER`: what is defined and what Consul holds now. */
export interface ContainerServiceListing {
  /** The definitions. */
  record: ContainerServices
  /** Its instances in Consul's catalog now. */
  registered: Array<ServiceInstance>
  /** Why Consul could not be read, or what to expect (no endpoint yet). */
  note?: string
}
/** A job as state keeps it. */
export interface JobRecord {
  /** The base container (the job's name). */
  base: string
  /** The base container's server. */
  baseServer: string
  /** The version new instances are cloned from. */
  version: number
  /** Instances wanted. */
  count: number
  /** `resource`. */
  strategy: string
  /** The bridge instances join (`None`: each server's own). */
  network?: string
  /** The group new instances are placed with. */
  group?: string
  /** Instances per chosen server. */
  replicas?: number
  /** Memory limit of each instance, MiB. */
  memoryMib: number
  /** CPU share of each instance, thousandths of a CPU. */
  cpuMilli: number
  /** Disk each instance is counted for, MiB. */
  diskMib: number
  /** The TCP port that says an instance is healthy. */
  port?: number
  /** The load balancer the instances are backends of. */
  lb?: JobLb
  /** The number the next new instance's name takes. */
  nextIndex: number
  /** Its instances. */
  instances: Array<Instance>
  /** The last rollout. */
  rollout?: Rollout
}
/** A job's load balancer: its instances are `lb`'s backends on `port`. */
export interface JobLb {
  /** The load balancer's name. */
  lb: string
  /** The instances' port it sends to. */
  port: number
}
/** One instance of a job. */
export interface Instance {
  /** Its container's name (`BASE-N`). */
  name: string
  /** Its server. */
  server: string
  /** Its static address. */
  address: string
  /** The job version it was cloned from. */
  version: number
  /** The group it was placed with, if any. */
  group?: string
}
/** The last rollout of a job (`upgradejob`). */
export interface Rollout {
  /** The version replaced. */
  fromVersion: number
  /** The version rolled out. */
  toVersion: number
  /**
   * `done`, `rolled back` (an instance did not become healthy; it was put back on the old
   * version and the rollout stopped) or `interrupted`.
   */
  state: string
  /** How many instances run the new version. */
  replaced: number
  /** What stopped it, if anything. */
  why?: string
}
/** A job as `listjobs` sees it. */
export interface JobInfo {
  /** The base container. */
  base: string
  /** The version new instances get. */
  version: number
  /** Instances wanted. */
  count: number
  /** Instances running. */
  running: number
  /** Instances lost. */
  lost: number
  /** Its record. */
  job: JobRecord
  /** Each instance with what its server says. */
  instances: Array<InstanceInfo>
}
/** One instance as `listjobs` sees it. */
export interface InstanceInfo {
  /** Its record. */
  instance: Instance
  /**
   * `running`, `stopped`, `lost` (its container is gone, or its server cannot be reached) or
   * what LXC said.
   */
  state: string
  /** `up`, `down` (its port does not answer), `-` (no port to ask) or `unknown`. */
  health: string
  /** Why it is lost or unknown. */
  why?: string
}
/** Everything flockport remembers about a cluster. */
export declare class State {
  /** Schema version of the file. */
  get schema(): number
  /**
   * Managed plain containers by name (`addcontainer`); service containers are held by their
   * family's record.
   */
  get containers(): Record<string, ContainerRecord>
  /** Counters for generated names, by prefix. */
  get counters(): Record<string, number>
  /** Load balancers by name. */
  get lbs(): Record<string, LbRecord>
  /** Webservers by name. */
  get ws(): Record<string, WsRecord>
  /** Floating IPs by name (schema 3). */
  get vips(): Record<string, VipRecord>
  /** Database instances by name (schema 4). */
  get dbs(): Record<string, DbRecord>
  /** Consul endpoints by name (schema 5). */
  get eps(): Record<string, EpRecord>
  /** Ad-hoc services (`pubservice`) and their checks by Consul ID (schema 6). */
  get adhoc(): Record<string, AdhocService>
  /** Containers' services and checks (`addservice`) by container (schema 7). */
  get containerServices(): Record<string, ContainerServices>
  /** The servers running a Consul client agent (schema 7). */
  get agents(): Array<string>
  /** Jobs by base container (schema 8). */
  get jobs(): Record<string, JobRecord>
  /** The whole state as plain objects, as the getters give each part. */
  toJSON(): { schema: number; containers: Record<string, ContainerRecord>; counters: Record<string, number>; lbs: Record<string, LbRecord>; ws: Record<string, WsRecord>; vips: Record<string, VipRecord>; dbs: Record<string, DbRecord>; eps: Record<string, EpRecord>; adhoc: Record<string, AdhocService>; containerServices: Record<string, ContainerServices>; agents: Array<string>; jobs: Record<string, JobRecord> }
}
/** A floating IP as recorded in state: the [`Vip`] and its VRRP password. */
export interface VipRecord {
  /** Name. */
  name: string
  /** The floating address. */
  ip: string
  /** The LAN both servers share (the floating address's prefix). */
  network: string
  /** The server that holds it while both run. */
  master: VipMember
  /** The server that takes it over. */
  backup: VipMember
  /** VRRP virtual router id, unique among the floating IPs of `network`. */
  vrid: number
  /** Advert interval in hundredths of a second. */
  advertCentis: number
  /** VRRP version (2 for whole seconds, 3 for fractions). */
  version: number
  /** Tracked ports. */
  track: Array<number>
}
/** What `addServer` takes. */
export interface AddServer {
  name: string
  subnet: string
  host?: string
  local?: boolean
  user?: string
  port?: number
  identity?: string
  knownHosts?: string
  sshConfig?: string
  bridge?: string
}
/** What `addContainer` takes. */
export interface ContainerSpec {
  server: string
  name: string
  packages?: Array<string>
  address?: string
  role?: string
  noStart?: boolean
}
/** What `addLb` takes. */
export interface LbSpec {
  kind: 'haproxy' | 'nginx'
  server: string
  name?: string
  url?: string
  backends?: Array<string>
  cert?: string
  key?: string
}
/** What `addDb` takes. */
export interface DbSpec {
  engine: 'mysql' | 'postgresql'
  server: string
  user: string
  database: string
  name?: string
  allowed?: Array<string>
  password?: string
}
/** What `addJob` takes. */
export interface JobSpec {
  base: string
  count: number
  network?: string
  group?: string
  replicas?: number
  strategy?: string
  memory?: string
  cpus?: string
  port?: number
  lb?: string
}
/**
 * Asks the change under way in this process to stop starting steps and roll
 * back what it did; its Promise then rejects with code `Interrupted`. Wire it
 * to `process.on('SIGINT', ...)` for Ctrl-C. Returns whether a change was
 * running (without one, nothing is left pending).
 */
export declare function interrupt(): boolean
/** A cluster: an inventory of servers and a state store. */
export declare class Cluster {
  /**
   * Opens the inventory at `config` (or `$FLOCKPORT_CONFIG`, or
   * `./flockport.toml`) and its state file. A missing file is an empty
   * inventory.
   */
  static open(config?: string | undefined | null): Cluster
  /**
   * Opens the inventory at `path` with the state file at `state` (default:
   * where the inventory says).
   */
  static openWith(path: string, state?: string | undefined | null): Cluster
  /**
   * The same cluster opened anew: the inventory file read again (after an
   * edit elsewhere), the same state file, no connection carried over.
   */
  reopen(): Cluster
  /** The inventory file's path. */
  inventoryPath(): string
  /** The servers in the inventory. */
  servers(): Array<ServerConfig>
  /** The server called `name` (a `NotFound` error names the known ones). */
  server(name: string): ServerConfig
  /** The transport for a server (one per server per process, reused). */
  transport(server: string): Transport
  /**
   * The desired state: what flockport manages (`State`: getters convert on
   * access), read on libuv's thread pool.
   */
  state(): Promise<State>
  /** The current state, read on the calling (JS) thread: `state()` without the Promise. */
  stateBlocking(): State
  /**
   * Probes servers in parallel (all, or those named); one result each,
   * holding its facts or its error.
   */
  probeAll(servers?: Array<string> | undefined | null): Promise<Array<ProbeResult>>
  /**
   * `listcontainers` as the CLI shows it: the containers of the servers
   * that answered, and each server that could not be read with why.
   */
  containersListing(server?: string | undefined | null): Promise<ContainerListing>
  /** Finds the server that holds container `name`. */
  locate(name: string): Promise<Located>
  /** Runs `argv` inside a container; the output whatever the exit status. */
  exec(container: string, argv: Array<string>): Promise<Output>
  /** Adds a server to the inventory (`addserver`). Nothing is contacted. */
  addServer(spec: AddServer): Promise<ServerConfig>
  /**
   * Removes a server from the inventory (`delserver`); refused while the state records
   * containers on it.
   */
  delServer(name: string): Promise<void>
  /**
   * `state migrate --to consul|file`: moves the state between this machine's file and
   * Consul's KV on the cluster's endpoints (shared by every operator), and switches the
   * inventory's `[state]` to it.
   */
  migrateState(to: string, options?: ApplyOptions | undefined | null): Promise<Applied<StateMove>>
  /** Probes one server (one round trip): LXC version, overlay support, containers. */
  probe(server: string): Promise<ServerFacts>
  /**
   * `listservers`: every server contacted in parallel, one round trip each. An unreachable
   * server is reported in its status, not raised.
   */
  listServers(): Promise<Array<ServerStatus>>
  /**
   * `status`: one view of everything deployed: every server read once (one round trip each)
   * with Consul's catalog, joined with every family's records: what runs where, address,
   * published ports, health with why, and drift. An unreachable server makes its items
   * `unknown`.
   */
  status(): Promise<Status>
  /** `listcontainers`: containers (images excluded) on one server or all, in parallel. */
  containers(server?: string | undefined | null): Promise<Array<ContainerInfo>>
  /** Writes a file (bytes or text) inside a container with `mode`. */
  push(container: string, path: string, contents: Buffer | string, mode?: number | undefined | null): Promise<void>
  /**
   * Builds (or reuses) an image with `packages` on a server; the record is its template
   * name. The progress callback is called before each step.
   */
  buildImage(server: string, packages: Array<string>, options?: ApplyOptions | undefined | null, progress?: (event: ProgressEvent) => void): Promise<Applied<string>>
  /**
   * Creates a managed container (`addcontainer`): image (built if missing), clone, static
   * address, start.
   */
  addContainer(spec: ContainerSpec, options?: ApplyOptions | undefined | null, progress?: (event: ProgressEvent) => void): Promise<Applied<ContainerRecord>>
  /** Destroys a managed container (`delcontainer`). */
  delContainer(name: string, options?: ApplyOptions | undefined | null): Promise<Applied<ContainerRecord>>
  /** Starts (`running` true) or stops a container. */
  setRunning(name: string, running: boolean, options?: ApplyOptions | undefined | null): Promise<Applied<ContainerInfo>>
  /**
   * `addlb`: a load balancer (`kind` `haproxy` or `nginx`) in its own container on `server`,
   * configured and running. Nginx needs `url`; `cert` and `key` (PEM files) turn TLS on.
   */
  addLb(spec: LbSpec, options?: ApplyOptions | undefined | null, progress?: (event: ProgressEvent) => void): Promise<Applied<LbRecord>>
  /** `listlbs`: every load balancer with live backend health. */
  lbs(): Promise<Array<LbInfo>>
  /** `addbackends`: HAProxy `name:ip:port` or Nginx `ip:port`/`host:port`. */
  addBackends(lb: string, backends: Array<string>, options?: ApplyOptions | undefined | null): Promise<Applied<LbRecord>>
  /** `delbackends`: HAProxy drains then deletes, Nginx reloads. */
  delBackends(lb: string, backends: Array<string>, options?: ApplyOptions | undefined | null): Promise<Applied<LbRecord>>
  /**
   * `setlb LB SETTING VALUE...`: `setting` is `mode`, `url`, `ssl` (values cert, key),
   * `workers` or `resolvers`; `values` one string or a list.
   */
  setLb(lb: string, setting: 'mode' | 'url' | 'ssl' | 'workers' | 'resolvers', values: string | Array<string>, options?: ApplyOptions | undefined | null): Promise<Applied<LbRecord>>
  /**
   * `pub [SERVER:]NAME PORT[:TO_PORT]`: forwards `port` on the service container's server to
   * its `to_port` (default the same port).
   */
  publish(target: string, port: number, toPort?: number | undefined | null, options?: ApplyOptions | undefined | null): Promise<Applied<ServiceContainer>>
  /** `unpub [SERVER:]NAME PORT`: removes the forward of host port `port`. */
  unpublish(target: string, port: number, options?: ApplyOptions | undefined | null): Promise<Applied<ServiceContainer>>
  /** `dellb`: removes the forwards, the container and the state. */
  delLb(lb: string, options?: ApplyOptions | undefined | null): Promise<Applied<LbRecord>>
  /**
   * `addws`: an Nginx webserver in its own container on `server`, serving no app yet; `name`
   * generated (`nginx1`, ...) when absent.
   */
  addWs(server: string, name?: string | undefined | null, options?: ApplyOptions | undefined | null, progress?: (event: ProgressEvent) => void): Promise<Applied<WsRecord>>
  /** `listws`: every webserver with its apps and each upstream's live health. */
  webservers(): Promise<Array<WsInfo>>
  /**
   * `pubapp`: publishes `upstream` (`IP:PORT`, a container as `NAME.app:PORT`, or
   * `HOST:PORT`) under `url` on webserver `ws`; `cert` and `key` (PEM files), or
   * `self_signed`, serve it on 443 with port 80 redirecting.
   */
  pubApp(ws: string, url: string, upstream: string, cert?: string | undefined | null, key?: string | undefined | null, selfSigned?: boolean | undefined | null, options?: ApplyOptions | undefined | null, progress?: (event: ProgressEvent) => void): Promise<Applied<WsRecord>>
  /** `delapp`: removes the app served under `url` from webserver `ws`. */
  delApp(ws: string, url: string, options?: ApplyOptions | undefined | null): Promise<Applied<WsRecord>>
  /** `delws`: removes a webserver: its forwards, its container and its state. */
  delWs(ws: string, options?: ApplyOptions | undefined | null): Promise<Applied<WsRecord>>
  /**
   * `addhosts`: `ip url` in flockport's block of this machine's `/etc/hosts` (or `file`);
   * idempotent, other lines untouched.
   */
  addHosts(url: string, ip: string, file?: string | undefined | null, options?: ApplyOptions | undefined | null): Promise<HostsChange>
  /** `delhosts`: removes `url`'s entry that addhosts made. */
  delHosts(url: string, file?: string | undefined | null, options?: ApplyOptions | undefined | null): Promise<HostsChange>
  /**
   * `addvip`: a floating IP held by `server1` (master) and `server2` (backup) with
   * keepalived on both; `advert_int` in seconds (fractions use VRRPv3), `track` ports whose
   * service must answer on the holder.
   */
  addVip(server1: string, server2: string, ip: string, name?: string | undefined | null, advertInt?: number | undefined | null, track?: Array<number> | undefined | null, options?: ApplyOptions | undefined | null, progress?: (event: ProgressEvent) => void): Promise<Applied<Vip>>
  /** `listvips`: every floating IP, which server holds it now and keepalived's state on both. */
  vips(): Promise<Array<VipInfo>>
  /** `delvip`: removes a floating IP from both servers. */
  delVip(name: string, options?: ApplyOptions | undefined | null): Promise<Applied<Vip>>
  /**
   * `adddb`: a database instance (`engine` `mysql` or `postgresql`) on `server`, or the
   * existing instance `name`, with `user` owning `database`, reachable from `allowed`
   * (CIDRs; default the server's container subnet) with `password` (default generated, kept
   * in a 0600 file; see `db_password`). Idempotent.
   */
  addDb(spec: DbSpec, options?: ApplyOptions | undefined | null, progress?: (event: ProgressEvent) => void): Promise<Applied<DbAdded>>
  /**
   * `listdbs`: every database instance with its databases, users, allowed ranges, sizes,
   * version and whether it answers now.
   */
  dbs(): Promise<Array<DbInfo>>
  /**
   * `listdbs --show-password`: the password of the user owning `database` on `instance`,
   * from its 0600 file on this machine.
   */
  dbPassword(instance: string, database: string): Promise<string>
  /**
   * `addep`: a Consul endpoint (server agent) on `server` at the static `ip`; `name`
   * defaults to `consul-` and the address's last number. The first bootstraps the cluster
   * (gossip encryption, ACLs default deny), the next join.
   */
  addEp(server: string, ip: string, name?: string | undefined | null, options?: ApplyOptions | undefined | null, progress?: (event: ProgressEvent) => void): Promise<Applied<EpRecord>>
  /**
   * `listep`: every endpoint with its raft role and health read from Consul now, the peer
   * count, fault tolerance and a warning below three.
   */
  endpoints(): Promise<EpListing>
  /**
   * `delep`: the endpoint leaves the cluster, then its container goes; refused without
   * `force` when fewer than two would remain or some are down.
   */
  delEp(name: string, force?: boolean | undefined | null, options?: ApplyOptions | undefined | null): Promise<Applied<EpRecord>>
  /**
   * `pubservice`: an ad-hoc service instance `name` at `address` (IP:PORT), registered by
   * every endpoint (`NAME.service.consul`).
   */
  pubService(name: string, address: string, options?: ApplyOptions | undefined | null): Promise<Applied<AdhocService>>
  /**
   * `pubcheck`: a check `name` (`kind` tcp with `target` IP:PORT, or http with a URL) of the
   * ad-hoc instance it targets (or of `service`), run every `interval` seconds (default 3)
   * by every endpoint.
   */
  pubCheck(name: string, kind: string, target: string, service?: string | undefined | null, interval?: number | undefined | null, options?: ApplyOptions | undefined | null): Promise<Applied<AdhocService>>
  /**
   * `unpubservice`: withdraws ad-hoc service `name` (every instance, or the one at
   * `address`) and its checks.
   */
  unpubService(name: string, address?: string | undefined | null, options?: ApplyOptions | undefined | null): Promise<Applied<Array<AdhocService>>>
  /** `unpubcheck`: withdraws ad-hoc check `name`. */
  unpubCheck(name: string, options?: ApplyOptions | undefined | null): Promise<Applied<AdhocService>>
  /**
   * `services`: every service instance and check the endpoints know now (read through
   * Consul's HTTP API), and published ad-hoc services Consul lacks.
   */
  services(): Promise<ServiceListing>
  /**
   * `addservice`: service `name` of `container` on `port`, registered with its server's
   * Consul agent while the container runs (`NAME.service.consul`).
   */
  addService(container: string, name: string, port: number, options?: ApplyOptions | undefined | null): Promise<Applied<ContainerServices>>
  /**
   * `listservice`: `container`'s services and checks as defined, and their instances in
   * Consul's catalog now.
   */
  listService(container: string): Promise<ContainerServiceListing>
  /** `delservice`: removes service `name` of `container`, or every one (and then its checks). */
  delService(container: string, name?: string | undefined | null, options?: ApplyOptions | undefined | null): Promise<Applied<ContainerServices>>
  /**
   * `addcheck`: check `name` of `container`'s services (`kind` tcp with `target` a port, or
   * http with a URL or a host name asked at the container's address), run every `interval`
   * seconds (default 3) by its server's agent.
   */
  addCheck(container: string, name: string, kind: string, target: string, interval?: number | undefined | null, options?: ApplyOptions | undefined | null): Promise<Applied<ContainerServices>>
  /** `delcheck`: removes check `name` of `container`. */
  delCheck(container: string, name: string, options?: ApplyOptions | undefined | null): Promise<Applied<ContainerServices>>
  /**
   * `deldb`: drops `database` and its user, or without it removes the whole instance
   * (container, forwards, state, passwords).
   */
  delDb(instance: string, database?: string | undefined | null, options?: ApplyOptions | undefined | null): Promise<Applied<DbRecord>>
  /**
   * `addjob`: `count` instances of container `base` placed across the servers by free
   * capacity (strategy `resource`): `network` the bridge they join, `group` jobs sharing one
   * server, `replicas` instances per chosen server, `memory` (e.g. 512M) and `cpus` (e.g.
   * 0.5) each instance's limits, `port` the TCP port that says an instance is healthy, `lb`
   * (`LB:PORT`) a load balancer whose backends they are while they run.
   */
  addJob(spec: JobSpec, options?: ApplyOptions | undefined | null, progress?: (event: ProgressEvent) => void): Promise<Applied<JobRecord>>
  /**
   * `listjobs`: every job with each instance's server, address, state, version and health;
   * an instance whose server cannot be read or whose container is gone is `lost`.
   */
  jobs(): Promise<Array<JobInfo>>
  /**
   * `scalejob`: sets job `base` to `count` instances (`+N`/`-N` change it by N; new ones
   * join `group`); lost instances are replaced, and scaling down removes instances from the
   * fullest servers first.
   */
  scaleJob(base: string, count: string, group?: string | undefined | null, options?: ApplyOptions | undefined | null, progress?: (event: ProgressEvent) => void): Promise<Applied<JobRecord>>
  /**
   * `upgradejob`: a new version from the base container, rolled out one instance at a time
   * (`interval` seconds between them); an instance that does not answer is rolled back and
   * stops the rollout.
   */
  upgradeJob(base: string, interval?: number | undefined | null, options?: ApplyOptions | undefined | null, progress?: (event: ProgressEvent) => void): Promise<Applied<JobRecord>>
  /**
   * `deljob`: removes every instance (drained out of its load balancer first) and the job's
   * snapshots; the base container is untouched.
   */
  delJob(base: string, options?: ApplyOptions | undefined | null): Promise<Applied<JobRecord>>
}
/** Runs commands on one server (SSH or local, as the inventory says). */
export declare class Transport {
  /** The server's name. */
  server(): string
  /** Runs `argv` on the server with optional standard input. */
  exec(argv: Array<string>, stdin?: Buffer | undefined | null): Promise<Output>
}
