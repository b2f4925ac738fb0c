"""Flockport: managed services on clusters of LXC hosts, from Python.

Type stubs of the native module, checked against it by mypy's stubtest
(flockport-py/ci.sh). GENERATED from the core's declaration
(flockport-core/src/api.rs, template flockport-core/templates/bindings/):
regenerate with `FLOCKPORT_REGEN=1 cargo test -p flockport-core api::`.
Every operation of the core's ``Cluster`` is a method of the same name; those
that do I/O block with the GIL released and have an ``*_async`` twin that
returns an awaitable for asyncio.
"""

from collections.abc import Awaitable, Callable, Sequence
from os import PathLike
from typing import Any, Generic, Literal, TypeVar, final

__version__: str

__all__ = [
    "AdhocCheck",
    "AdhocService",
    "AlreadyExists",
    "App",
    "AppHealth",
    "AppTls",
    "Applied",
    "Backend",
    "BackendHealth",
    "CheckState",
    "Cluster",
    "ConfigRejected",
    "ContainerCheck",
    "ContainerInfo",
    "ContainerRecord",
    "ContainerService",
    "ContainerServiceListing",
    "ContainerServices",
    "Database",
    "DbAdded",
    "DbInfo",
    "DbRecord",
    "EpInfo",
    "EpListing",
    "EpRecord",
    "FlockportError",
    "Forward",
    "HostsChange",
    "ImageConfig",
    "Interrupted",
    "InvalidInput",
    "LbInfo",
    "LbRecord",
    "LocalError",
    "NotFound",
    "Output",
    "Plan",
    "ProbeResult",
    "RemoteCommandFailed",
    "ServerConfig",
    "ServerFacts",
    "ServerStatus",
    "ServiceContainer",
    "ServiceInstance",
    "ServiceListing",
    "State",
    "Step",
    "TrackStatus",
    "Transport",
    "Unreachable",
    "Upstream",
    "Vip",
    "VipInfo",
    "VipMember",
    "VipRecord",
    "VipServerStatus",
    "WsInfo",
    "WsRecord",
    "_Record",
    "__version__",
    "_api",
    "interrupt",
]

_T = TypeVar("_T")
_Path = str | PathLike[str]
_Progress = Callable[[int, int, Step], object]

def interrupt() -> bool:
    """Asks the change under way in this process to stop starting steps and
    roll back what it did; it then raises ``Interrupted``. What Ctrl-C does
    during a blocking call. Returns whether a change was running (without
    one, nothing is left pending)."""

def _api() -> str:
    """The core's declaration as JSON (operations, records, hand-written
    members), for the parity tests."""

class _Record:
    """The base of every record class (made at import from the core's
    declaration)."""

class FlockportError(Exception):
    """Root of every flockport error.

    ``kind`` is the core's ErrorKind name (``"InvalidInput"``, ...,
    ``"Local"``); ``details`` the fields of the core error (plus
    ``"variant"``); ``causes`` the messages of its source chain, outermost
    first (also linked as ``__cause__``); ``errors`` one exception per server
    when several failed.
    """

    kind: str
    details: dict[str, Any]
    causes: list[str]
    errors: list[FlockportError]

class InvalidInput(FlockportError):
    """A value given by the user is not acceptable; nothing was touched."""

class NotFound(FlockportError):
    """A named thing (server, container, ...) does not exist."""

class AlreadyExists(FlockportError):
    """A named thing exists already."""

class Unreachable(FlockportError):
    """A server could not be reached (connection, SSH, host key)."""

class RemoteCommandFailed(FlockportError):
    """A command on a server exited non-zero, or its output was not understood."""

class ConfigRejected(FlockportError):
    """A service's checker refused a rendered configuration; the old one keeps running."""

class LocalError(FlockportError):
    """A local file (inventory, state, key) could not be used."""

class Interrupted(FlockportError):
    """The change was interrupted (KeyboardInterrupt, a signal) and rolled back; nothing was recorded."""

@final
class ProbeResult:
    """One server's answer to ``probe_all``: its facts or its exception."""

    @property
    def server(self) -> ServerConfig: ...
    @property
    def facts(self) -> ServerFacts | None: ...
    @property
    def error(self) -> FlockportError | None: ...
    @property
    def millis(self) -> int: ...
    @property
    def ok(self) -> bool: ...

@final
class Output:
    """What a command produced. A non-zero status is not an error here."""

    @property
    def status(self) -> int: ...
    @property
    def stdout(self) -> bytes: ...
    @property
    def stderr(self) -> bytes: ...
    def stdout_str(self) -> str: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Transport:
    """Runs commands on one server (SSH or local, as the inventory says)."""

    def server(self) -> str: ...
    def exec(self, argv: Sequence[str], stdin: bytes | None = None) -> Output: ...
    def exec_async(self, argv: Sequence[str], stdin: bytes | None = None) -> Awaitable[Output]: ...

@final
class ServerConfig:
    """One server of the cluster."""

    @property
    def name(self) -> str: ...
    @property
    def host(self) -> str | None: ...
    @property
    def port(self) -> int: ...
    @property
    def user(self) -> str: ...
    @property
    def identity(self) -> str | None: ...
    @property
    def known_hosts(self) -> str | None: ...
    @property
    def ssh_config(self) -> str | None: ...
    @property
    def subnet(self) -> str: ...
    @property
    def bridge(self) -> str: ...
    @property
    def transport(self) -> Literal["ssh", "local"]: ...
    @property
    def lxcpath(self) -> str: ...
    @property
    def image(self) -> ImageConfig: ...
    @property
    def command_timeout_secs(self) -> int | None: ...
    @property
    def gateway(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ImageConfig:
    """How images (template containers) are built on a server."""

    @property
    def template(self) -> str: ...
    @property
    def args(self) -> list[str]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ServerFacts:
    """What one round trip tells about a server."""

    @property
    def lxc_version(self) -> str: ...
    @property
    def overlay(self) -> bool: ...
    @property
    def containers(self) -> list[ContainerInfo]: ...
    def container(self, name: str) -> ContainerInfo | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ContainerInfo:
    """A container as seen on a server."""

    @property
    def name(self) -> str: ...
    @property
    def server(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def ipv4(self) -> list[str]: ...
    @property
    def configured_ipv4(self) -> str | None: ...
    @property
    def address(self) -> str | None: ...
    @property
    def is_image(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ServerStatus:
    """A server as `listservers` shows it."""

    @property
    def name(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def subnet(self) -> str: ...
    @property
    def reachable(self) -> bool: ...
    @property
    def error(self) -> str | None: ...
    @property
    def lxc_version(self) -> str | None: ...
    @property
    def containers(self) -> int: ...
    @property
    def images(self) -> int: ...
    @property
    def millis(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Applied(Generic[_T]):
    """What a mutating operation did (or, with `dry_run`, would do)."""

    @property
    def plan(self) -> Plan: ...
    @property
    def executed(self) -> bool: ...
    @property
    def record(self) -> _T: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Plan:
    """Everything a mutating operation will do."""

    @property
    def operation(self) -> str: ...
    @property
    def steps(self) -> list[Step]: ...
    @property
    def rollback(self) -> list[Step]: ...
    @property
    def state_changes(self) -> list[str]: ...
    def render(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Step:
    """A described action on a named server."""

    @property
    def server(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def checks_config_of(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def argv(self) -> list[str] | None: ...
    @property
    def stdin(self) -> str | None: ...
    @property
    def path(self) -> str | None: ...
    @property
    def mode(self) -> int | None: ...
    @property
    def content(self) -> str | None: ...
    def render(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ContainerRecord:
    """A container flockport created and manages."""

    @property
    def server(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def image(self) -> str: ...
    @property
    def role(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class LbRecord:
    """A load balancer as recorded in state."""

    @property
    def family(self) -> Literal["lb", "ws", "db", "ep"]: ...
    @property
    def name(self) -> str: ...
    @property
    def server(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def image(self) -> str: ...
    @property
    def forwards(self) -> list[Forward]: ...
    @property
    def published(self) -> list[int]: ...
    @property
    def kind(self) -> Literal["haproxy", "nginx"]: ...
    @property
    def mode(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def backends(self) -> list[Backend]: ...
    @property
    def tls(self) -> str | None: ...
    @property
    def workers(self) -> int | None: ...
    @property
    def resolvers(self) -> list[str]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Forward:
    """A port forward: `host_port` on the server's host addresses to `port` of the container."""

    @property
    def host_port(self) -> int: ...
    @property
    def port(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Backend:
    """A backend: HAProxy's `name:ip:port` or Nginx's `ip:port` / `host:port`."""

    @property
    def name(self) -> str | None: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def spec(self) -> str: ...
    def key(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class LbInfo:
    """A load balancer as `listlbs` shows it."""

    @property
    def record(self) -> LbRecord: ...
    @property
    def health(self) -> list[BackendHealth]: ...
    @property
    def error(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class BackendHealth:
    """A backend's health as the LB sees it."""

    @property
    def backend(self) -> str: ...
    @property
    def health(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ServiceContainer:
    """A container that a service owns, as every family's record holds it."""

    @property
    def family(self) -> Literal["lb", "ws", "db", "ep"]: ...
    @property
    def name(self) -> str: ...
    @property
    def server(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def image(self) -> str: ...
    @property
    def forwards(self) -> list[Forward]: ...
    @property
    def published(self) -> list[int]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class WsRecord:
    """A webserver as recorded in state."""

    @property
    def family(self) -> Literal["lb", "ws", "db", "ep"]: ...
    @property
    def name(self) -> str: ...
    @property
    def server(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def image(self) -> str: ...
    @property
    def forwards(self) -> list[Forward]: ...
    @property
    def published(self) -> list[int]: ...
    @property
    def apps(self) -> dict[str, App]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class App:
    """An app published on a webserver."""

    @property
    def url(self) -> str: ...
    @property
    def upstream(self) -> Upstream: ...
    @property
    def tls(self) -> AppTls | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Upstream:
    """Where an app's requests go."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def container(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class AppTls:
    """An app's TLS: served on 443 with this certificate, port 80 redirects."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def source(self) -> Literal["given", "self-signed"]: ...
    @property
    def not_after(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class WsInfo:
    """A webserver as `listws` shows it."""

    @property
    def record(self) -> WsRecord: ...
    @property
    def health(self) -> list[AppHealth]: ...
    @property
    def error(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class AppHealth:
    """An app's live health: does its upstream answer a TCP connection from the webserver."""

    @property
    def url(self) -> str: ...
    @property
    def health(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class HostsChange:
    """What `addhosts`/`delhosts` did (or, dry, would do)."""

    @property
    def file(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def ip(self) -> str | None: ...
    @property
    def changed(self) -> bool: ...
    @property
    def executed(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Vip:
    """A floating IP as the API returns it (the record without its VRRP password)."""

    @property
    def name(self) -> str: ...
    @property
    def ip(self) -> str: ...
    @property
    def network(self) -> str: ...
    @property
    def master(self) -> VipMember: ...
    @property
    def backup(self) -> VipMember: ...
    @property
    def vrid(self) -> int: ...
    @property
    def advert_centis(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def track(self) -> list[int]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class VipMember:
    """One of the two servers of a floating IP, as found on the server."""

    @property
    def server(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def interface(self) -> str: ...
    @property
    def priority(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class VipInfo:
    """A floating IP as `listvips` shows it: read from the servers, not from state."""

    @property
    def vip(self) -> Vip: ...
    @property
    def holder(self) -> str | None: ...
    @property
    def address_on(self) -> list[str]: ...
    @property
    def servers(self) -> list[VipServerStatus]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class VipServerStatus:
    """One server of a floating IP as `listvips` reads it."""

    @property
    def server(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def keepalived(self) -> str: ...
    @property
    def has_address(self) -> bool: ...
    @property
    def tracks(self) -> list[TrackStatus]: ...
    @property
    def error(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class TrackStatus:
    """A tracked port as a server sees it now."""

    @property
    def port(self) -> int: ...
    @property
    def up(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class DbAdded:
    """What `adddb` did."""

    @property
    def instance(self) -> DbRecord: ...
    @property
    def database(self) -> str: ...
    @property
    def changes(self) -> list[str]: ...
    @property
    def generated_password(self) -> bool: ...
    @property
    def password_file(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class DbRecord:
    """A database instance: its container and its databases."""

    @property
    def family(self) -> Literal["lb", "ws", "db", "ep"]: ...
    @property
    def name(self) -> str: ...
    @property
    def server(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def image(self) -> str: ...
    @property
    def forwards(self) -> list[Forward]: ...
    @property
    def published(self) -> list[int]: ...
    @property
    def engine(self) -> Literal["mysql", "postgresql"]: ...
    @property
    def port(self) -> int: ...
    @property
    def databases(self) -> dict[str, Database]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Database:
    """A database of an instance and the user that owns it."""

    @property
    def name(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def allowed(self) -> list[str]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class DbInfo:
    """An instance as `listdbs` shows it: the record and what it says now."""

    @property
    def instance(self) -> DbRecord: ...
    @property
    def answers(self) -> bool: ...
    @property
    def version(self) -> str | None: ...
    @property
    def sizes(self) -> dict[str, int]: ...
    @property
    def error(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class EpRecord:
    """A Consul server agent in its own container, as recorded in state."""

    @property
    def family(self) -> Literal["lb", "ws", "db", "ep"]: ...
    @property
    def name(self) -> str: ...
    @property
    def server(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def image(self) -> str: ...
    @property
    def forwards(self) -> list[Forward]: ...
    @property
    def published(self) -> list[int]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class EpListing:
    """`listep`: every endpoint and the cluster's health."""

    @property
    def endpoints(self) -> list[EpInfo]: ...
    @property
    def leader(self) -> str | None: ...
    @property
    def peers(self) -> int: ...
    @property
    def fault_tolerance(self) -> int: ...
    @property
    def warning(self) -> str | None: ...
    @property
    def ui(self) -> list[str]: ...
    @property
    def dns(self) -> list[str]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class EpInfo:
    """One endpoint as Consul sees it now."""

    @property
    def record(self) -> EpRecord: ...
    @property
    def role(self) -> str | None: ...
    @property
    def voter(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def answers(self) -> bool: ...
    @property
    def error(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class AdhocService:
    """An ad-hoc service instance (`pubservice NAME IP:PORT`) and its checks."""

    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def checks(self) -> list[AdhocCheck]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class AdhocCheck:
    """A check of an ad-hoc service, run by every endpoint's agent."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> Literal["tcp", "http"]: ...
    @property
    def target(self) -> str: ...
    @property
    def interval_secs(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ServiceListing:
    """`services`: every service instance and check the endpoints know."""

    @property
    def services(self) -> list[ServiceInstance]: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def missing(self) -> list[str]: ...
    @property
    def stale(self) -> list[str]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ServiceInstance:
    """One service instance as Consul knows it now."""

    @property
    def name(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def origin(self) -> str: ...
    @property
    def container(self) -> str | None: ...
    @property
    def server(self) -> str | None: ...
    @property
    def nodes(self) -> list[str]: ...
    @property
    def checks(self) -> list[CheckState]: ...
    @property
    def healthy(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class CheckState:
    """A check of a service instance as the endpoints run it now."""

    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def passing(self) -> int: ...
    @property
    def runs(self) -> int: ...
    @property
    def output(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ContainerServices:
    """A container's services and checks, as recorded in state."""

    @property
    def container(self) -> str: ...
    @property
    def server(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def services(self) -> list[ContainerService]: ...
    @property
    def checks(self) -> list[ContainerCheck]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ContainerService:
    """A service of a container (`addservice CONTAINER NAME PORT`)."""

    @property
    def name(self) -> str: ...
    @property
    def port(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ContainerCheck:
    """A check of a container's services (`addcheck CONTAINER NAME tcp PORT | http URL`), run
    by its server's agent.
    """

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> Literal["tcp", "http"]: ...
    @property
    def target(self) -> str: ...
    @property
    def interval_secs(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ContainerServiceListing:
    """`listservice CONTAINER`: what is defined and what Consul holds now."""

    @property
    def record(self) -> ContainerServices: ...
    @property
    def registered(self) -> list[ServiceInstance]: ...
    @property
    def note(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class State:
    """Everything flockport remembers about a cluster."""

    @property
    def schema(self) -> int: ...
    @property
    def containers(self) -> dict[str, ContainerRecord]: ...
    @property
    def counters(self) -> dict[str, int]: ...
    @property
    def lbs(self) -> dict[str, LbRecord]: ...
    @property
    def ws(self) -> dict[str, WsRecord]: ...
    @property
    def vips(self) -> dict[str, VipRecord]: ...
    @property
    def dbs(self) -> dict[str, DbRecord]: ...
    @property
    def eps(self) -> dict[str, EpRecord]: ...
    @property
    def adhoc(self) -> dict[str, AdhocService]: ...
    @property
    def container_services(self) -> dict[str, ContainerServices]: ...
    @property
    def agents(self) -> list[str]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class VipRecord:
    """A floating IP as recorded in state: the [`Vip`] and its VRRP password."""

    @property
    def name(self) -> str: ...
    @property
    def ip(self) -> str: ...
    @property
    def network(self) -> str: ...
    @property
    def master(self) -> VipMember: ...
    @property
    def backup(self) -> VipMember: ...
    @property
    def vrid(self) -> int: ...
    @property
    def advert_centis(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def track(self) -> list[int]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Cluster:
    """A cluster: an inventory of servers and a state store."""

    @staticmethod
    def open(config: _Path | None = None) -> Cluster: ...
    @staticmethod
    def open_with(path: _Path, state: _Path | None = None) -> Cluster: ...
    def reopen(self) -> Cluster: ...
    def inventory_path(self) -> str: ...
    def servers(self) -> list[ServerConfig]: ...
    def server(self, name: str) -> ServerConfig: ...
    def transport(self, server: str) -> Transport: ...
    def state(self) -> State: ...
    def state_blocking(self) -> State: ...
    def state_async(self) -> Awaitable[State]: ...
    def probe_all(self, servers: Sequence[str] | None = None) -> list[ProbeResult]: ...
    def probe_all_async(self, servers: Sequence[str] | None = None) -> Awaitable[list[ProbeResult]]: ...
    def containers_listing(
        self, server: str | None = None
    ) -> tuple[list[ContainerInfo], list[tuple[str, str]]]: ...
    def containers_listing_async(
        self, server: str | None = None
    ) -> Awaitable[tuple[list[ContainerInfo], list[tuple[str, str]]]]: ...
    def locate(self, name: str) -> tuple[ServerConfig, ContainerInfo]: ...
    def locate_async(self, name: str) -> Awaitable[tuple[ServerConfig, ContainerInfo]]: ...
    def exec(self, container: str, argv: Sequence[str]) -> Output: ...
    def exec_async(self, container: str, argv: Sequence[str]) -> Awaitable[Output]: ...
    def add_server(
        self,
        name: str,
        subnet: str,
        host: str | None = None,
        *,
        local: bool = False,
        user: str | None = None,
        port: int | None = None,
        identity: _Path | None = None,
        known_hosts: _Path | None = None,
        ssh_config: _Path | None = None,
        bridge: str | None = None,
    ) -> ServerConfig: ...
    def add_server_async(
        self,
        name: str,
        subnet: str,
        host: str | None = None,
        *,
        local: bool = False,
        user: str | None = None,
        port: int | None = None,
        identity: _Path | None = None,
        known_hosts: _Path | None = None,
        ssh_config: _Path | None = None,
        bridge: str | None = None,
    ) -> Awaitable[ServerConfig]: ...
    def del_server(self, name: str) -> None: ...
    def del_server_async(self, name: str) -> Awaitable[None]: ...
    def probe(self, server: str) -> ServerFacts: ...
    def probe_async(self, server: str) -> Awaitable[ServerFacts]: ...
    def list_servers(self) -> list[ServerStatus]: ...
    def list_servers_async(self) -> Awaitable[list[ServerStatus]]: ...
    def containers(self, server: str | None = None) -> list[ContainerInfo]: ...
    def containers_async(self, server: str | None = None) -> Awaitable[list[ContainerInfo]]: ...
    def push(self, container: str, path: str, contents: bytes | str, mode: int = 0o644) -> None: ...
    def push_async(
        self,
        container: str,
        path: str,
        contents: bytes | str,
        mode: int = 0o644,
    ) -> Awaitable[None]: ...
    def build_image(
        self,
        server: str,
        packages: Sequence[str],
        *,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Applied[str]: ...
    def build_image_async(
        self,
        server: str,
        packages: Sequence[str],
        *,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Awaitable[Applied[str]]: ...
    def add_container(
        self,
        server: str,
        name: str,
        *,
        packages: Sequence[str] = ...,
        address: str | None = None,
        role: str | None = None,
        no_start: bool = False,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Applied[ContainerRecord]: ...
    def add_container_async(
        self,
        server: str,
        name: str,
        *,
        packages: Sequence[str] = ...,
        address: str | None = None,
        role: str | None = None,
        no_start: bool = False,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Awaitable[Applied[ContainerRecord]]: ...
    def del_container(self, name: str, *, dry_run: bool = False) -> Applied[ContainerRecord]: ...
    def del_container_async(
        self,
        name: str,
        *,
        dry_run: bool = False,
    ) -> Awaitable[Applied[ContainerRecord]]: ...
    def set_running(
        self,
        name: str,
        running: bool,
        *,
        dry_run: bool = False,
    ) -> Applied[ContainerInfo]: ...
    def set_running_async(
        self,
        name: str,
        running: bool,
        *,
        dry_run: bool = False,
    ) -> Awaitable[Applied[ContainerInfo]]: ...
    def add_lb(
        self,
        kind: Literal["haproxy", "nginx"],
        server: str,
        *,
        name: str | None = None,
        url: str | None = None,
        backends: Sequence[str] = ...,
        cert: _Path | None = None,
        key: _Path | None = None,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Applied[LbRecord]: ...
    def add_lb_async(
        self,
        kind: Literal["haproxy", "nginx"],
        server: str,
        *,
        name: str | None = None,
        url: str | None = None,
        backends: Sequence[str] = ...,
        cert: _Path | None = None,
        key: _Path | None = None,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Awaitable[Applied[LbRecord]]: ...
    def lbs(self) -> list[LbInfo]: ...
    def lbs_async(self) -> Awaitable[list[LbInfo]]: ...
    def add_backends(
        self,
        lb: str,
        backends: Sequence[str],
        *,
        dry_run: bool = False,
    ) -> Applied[LbRecord]: ...
    def add_backends_async(
        self,
        lb: str,
        backends: Sequence[str],
        *,
        dry_run: bool = False,
    ) -> Awaitable[Applied[LbRecord]]: ...
    def del_backends(
        self,
        lb: str,
        backends: Sequence[str],
        *,
        dry_run: bool = False,
    ) -> Applied[LbRecord]: ...
    def del_backends_async(
        self,
        lb: str,
        backends: Sequence[str],
        *,
        dry_run: bool = False,
    ) -> Awaitable[Applied[LbRecord]]: ...
    def set_lb(
        self,
        lb: str,
        setting: Literal["mode", "url", "ssl", "workers", "resolvers"],
        values: str | Sequence[str],
        *,
        dry_run: bool = False,
    ) -> Applied[LbRecord]: ...
    def set_lb_async(
        self,
        lb: str,
        setting: Literal["mode", "url", "ssl", "workers", "resolvers"],
        values: str | Sequence[str],
        *,
        dry_run: bool = False,
    ) -> Awaitable[Applied[LbRecord]]: ...
    def publish(
        self,
        target: str,
        port: int,
        to_port: int | None = None,
        *,
        dry_run: bool = False,
    ) -> Applied[ServiceContainer]: ...
    def publish_async(
        self,
        target: str,
        port: int,
        to_port: int | None = None,
        *,
        dry_run: bool = False,
    ) -> Awaitable[Applied[ServiceContainer]]: ...
    def unpublish(
        self,
        target: str,
        port: int,
        *,
        dry_run: bool = False,
    ) -> Applied[ServiceContainer]: ...
    def unpublish_async(
        self,
        target: str,
        port: int,
        *,
        dry_run: bool = False,
    ) -> Awaitable[Applied[ServiceContainer]]: ...
    def del_lb(self, lb: str, *, dry_run: bool = False) -> Applied[LbRecord]: ...
    def del_lb_async(self, lb: str, *, dry_run: bool = False) -> Awaitable[Applied[LbRecord]]: ...
    def add_ws(
        self,
        server: str,
        *,
        name: str | None = None,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Applied[WsRecord]: ...
    def add_ws_async(
        self,
        server: str,
        *,
        name: str | None = None,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Awaitable[Applied[WsRecord]]: ...
    def webservers(self) -> list[WsInfo]: ...
    def webservers_async(self) -> Awaitable[list[WsInfo]]: ...
    def pub_app(
        self,
        ws: str,
        url: str,
        upstream: str,
        *,
        cert: _Path | None = None,
        key: _Path | None = None,
        self_signed: bool = False,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Applied[WsRecord]: ...
    def pub_app_async(
        self,
        ws: str,
        url: str,
        upstream: str,
        *,
        cert: _Path | None = None,
        key: _Path | None = None,
        self_signed: bool = False,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Awaitable[Applied[WsRecord]]: ...
    def del_app(self, ws: str, url: str, *, dry_run: bool = False) -> Applied[WsRecord]: ...
    def del_app_async(
        self,
        ws: str,
        url: str,
        *,
        dry_run: bool = False,
    ) -> Awaitable[Applied[WsRecord]]: ...
    def del_ws(self, ws: str, *, dry_run: bool = False) -> Applied[WsRecord]: ...
    def del_ws_async(self, ws: str, *, dry_run: bool = False) -> Awaitable[Applied[WsRecord]]: ...
    def add_hosts(
        self,
        url: str,
        ip: str,
        *,
        file: _Path | None = None,
        dry_run: bool = False,
    ) -> HostsChange: ...
    def add_hosts_async(
        self,
        url: str,
        ip: str,
        *,
        file: _Path | None = None,
        dry_run: bool = False,
    ) -> Awaitable[HostsChange]: ...
    def del_hosts(
        self,
        url: str,
        *,
        file: _Path | None = None,
        dry_run: bool = False,
    ) -> HostsChange: ...
    def del_hosts_async(
        self,
        url: str,
        *,
        file: _Path | None = None,
        dry_run: bool = False,
    ) -> Awaitable[HostsChange]: ...
    def add_vip(
        self,
        server1: str,
        server2: str,
        ip: str,
        *,
        name: str | None = None,
        advert_int: float | None = None,
        track: Sequence[int] = ...,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Applied[Vip]: ...
    def add_vip_async(
        self,
        server1: str,
        server2: str,
        ip: str,
        *,
        name: str | None = None,
        advert_int: float | None = None,
        track: Sequence[int] = ...,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Awaitable[Applied[Vip]]: ...
    def vips(self) -> list[VipInfo]: ...
    def vips_async(self) -> Awaitable[list[VipInfo]]: ...
    def del_vip(self, name: str, *, dry_run: bool = False) -> Applied[Vip]: ...
    def del_vip_async(self, name: str, *, dry_run: bool = False) -> Awaitable[Applied[Vip]]: ...
    def add_db(
        self,
        engine: Literal["mysql", "postgresql"],
        server: str,
        user: str,
        database: str,
        *,
        name: str | None = None,
        allowed: Sequence[str] = ...,
        password: str | None = None,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Applied[DbAdded]: ...
    def add_db_async(
        self,
        engine: Literal["mysql", "postgresql"],
        server: str,
        user: str,
        database: str,
        *,
        name: str | None = None,
        allowed: Sequence[str] = ...,
        password: str | None = None,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Awaitable[Applied[DbAdded]]: ...
    def dbs(self) -> list[DbInfo]: ...
    def dbs_async(self) -> Awaitable[list[DbInfo]]: ...
    def db_password(self, instance: str, database: str) -> str: ...
    def db_password_async(self, instance: str, database: str) -> Awaitable[str]: ...
    def add_ep(
        self,
        server: str,
        ip: str,
        *,
        name: str | None = None,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Applied[EpRecord]: ...
    def add_ep_async(
        self,
        server: str,
        ip: str,
        *,
        name: str | None = None,
        dry_run: bool = False,
        progress: _Progress | None = None,
    ) -> Awaitable[Applied[EpRecord]]: ...
    def endpoints(self) -> EpListing: ...
    def endpoints_async(self) -> Awaitable[EpListing]: ...
    def del_ep(
        self,
        name: str,
        *,
        force: bool = False,
        dry_run: bool = False,
    ) -> Applied[EpRecord]: ...
    def del_ep_async(
        self,
        name: str,
        *,
        force: bool = False,
        dry_run: bool = False,
    ) -> Awaitable[Applied[EpRecord]]: ...
    def pub_service(
        self,
        name: str,
        address: str,
        *,
        dry_run: bool = False,
    ) -> Applied[AdhocService]: ...
    def pub_service_async(
        self,
        name: str,
        address: str,
        *,
        dry_run: bool = False,
    ) -> Awaitable[Applied[AdhocService]]: ...
    def pub_check(
        self,
        name: str,
        kind: str,
        target: str,
        *,
        service: str | None = None,
        interval: int | None = None,
        dry_run: bool = False,
    ) -> Applied[AdhocService]: ...
    def pub_check_async(
        self,
        name: str,
        kind: str,
        target: str,
        *,
        service: str | None = None,
        interval: int | None = None,
        dry_run: bool = False,
    ) -> Awaitable[Applied[AdhocService]]: ...
    def unpub_service(
        self,
        name: str,
        *,
        address: str | None = None,
        dry_run: bool = False,
    ) -> Applied[list[AdhocService]]: ...
    def unpub_service_async(
        self,
        name: str,
        *,
        address: str | None = None,
        dry_run: bool = False,
    ) -> Awaitable[Applied[list[AdhocService]]]: ...
    def unpub_check(self, name: str, *, dry_run: bool = False) -> Applied[AdhocService]: ...
    def unpub_check_async(
        self,
        name: str,
        *,
        dry_run: bool = False,
    ) -> Awaitable[Applied[AdhocService]]: ...
    def services(self) -> ServiceListing: ...
    def services_async(self) -> Awaitable[ServiceListing]: ...
    def add_service(
        self,
        container: str,
        name: str,
        port: int,
        *,
        dry_run: bool = False,
    ) -> Applied[ContainerServices]: ...
    def add_service_async(
        self,
        container: str,
        name: str,
        port: int,
        *,
        dry_run: bool = False,
    ) -> Awaitable[Applied[ContainerServices]]: ...
    def list_service(self, container: str) -> ContainerServiceListing: ...
    def list_service_async(self, container: str) -> Awaitable[ContainerServiceListing]: ...
    def del_service(
        self,
        container: str,
        *,
        name: str | None = None,
        dry_run: bool = False,
    ) -> Applied[ContainerServices]: ...
    def del_service_async(
        self,
        container: str,
        *,
        name: str | None = None,
        dry_run: bool = False,
    ) -> Awaitable[Applied[ContainerServices]]: ...
    def add_check(
        self,
        container: str,
        name: str,
        kind: str,
        target: str,
        *,
        interval: int | None = None,
        dry_run: bool = False,
    ) -> Applied[ContainerServices]: ...
    def add_check_async(
        self,
        container: str,
        name: str,
        kind: str,
        target: str,
        *,
        interval: int | None = None,
        dry_run: bool = False,
    ) -> Awaitable[Applied[ContainerServices]]: ...
    def del_check(
        self,
        container: str,
        name: str,
        *,
        dry_run: bool = False,
    ) -> Applied[ContainerServices]: ...
    def del_check_async(
        self,
        container: str,
        name: str,
        *,
        dry_run: bool = False,
    ) -> Awaitable[Applied[ContainerServices]]: ...
    def del_db(
        self,
        instance: str,
        *,
        database: str | None = None,
        dry_run: bool = False,
    ) -> Applied[DbRecord]: ...
    def del_db_async(
        self,
        instance: str,
        *,
        database: str | None = None,
        dry_run: bool = False,
    ) -> Awaitable[Applied[DbRecord]]: ...
