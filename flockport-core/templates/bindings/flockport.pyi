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
# @ALL@
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

# @RECORDS@
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
    # @OPERATIONS@
