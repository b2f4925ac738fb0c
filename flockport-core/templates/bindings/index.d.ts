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
// @TYPES@
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
  // @OPERATIONS@
}
/** Runs commands on one server (SSH or local, as the inventory says). */
export declare class Transport {
  /** The server's name. */
  server(): string
  /** Runs `argv` on the server with optional standard input. */
  exec(argv: Array<string>, stdin?: Buffer | undefined | null): Promise<Output>
}
