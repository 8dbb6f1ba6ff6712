"""A network receipt printer stand-in on 127.0.0.1: records every job and answers DLE EOT like an ESC/POS printer.

Like a real port-9100 printer it serves one connection at a time (others wait in the backlog). Status bytes follow
the ESC/POS DLE EOT definitions (fixed bits 1 and 4 set, 0x12):

    n=1 printer status   bit 3 offline (also while the cover is open or the paper is out)
    n=2 offline cause    bit 2 cover open, bit 5 printing stopped by paper end
    n=3 error cause      no errors
    n=4 paper sensor     bits 2-3 paper near end, bits 5-6 paper end

python-escpos's Network sends the three bytes with sendall and reads the answer with one recv(16), so an answer is
exactly one byte, sent right when the query has arrived.

Each connection is also noted as a ``Visit``: how many DLE EOT queries it sent and, with ``watch`` set, which
process it came from (looked up in /proc while the connection is open, as ``ss -p`` does): with several server
processes, the test sees which one read the printer.
"""

from __future__ import annotations

import os
import selectors
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from tests.printing.escpos_decode import UnknownCommand, next_token

STATUS_BASE = 0x12
PAPER_STATES = ("ok", "near_end", "out")


@dataclass
class Visit:
    """One connection to the printer."""

    #: the process that opened it (with ``watch``); None if unknown (closed before it was accepted)
    pid: int | None
    status_queries: int = 0


class FakePrinter:
    """Start with ``with FakePrinter() as printer:``; ``close()`` makes the port refuse, ``restart()`` reopens it."""

    def __init__(self, *, online: bool = True, paper: str = "ok", cover_open: bool = False, silent: bool = False,
                 drop_after: int | None = None):
        # states and behaviours, read by the server thread at each query / chunk: change them at any time
        self.online = online
        self.paper = paper
        self.cover_open = cover_open
        self.silent = silent  # accept and read, never answer
        self.drop_after = drop_after  # close a connection once it has sent this many bytes
        self.port = 0  # chosen by the system at the first start, then kept
        self.jobs: list[bytes] = []  # one per connection, appended when it ends
        self.visits: list[Visit] = []  # one per connection, appended with its job
        self.watch = False  # note which process opened each connection
        self._received = bytearray()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._listener: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None

    # ------------------------------------------------------------ life cycle

    def start(self) -> FakePrinter:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(8)
        self.port = listener.getsockname()[1]
        self._listener, self._wake = listener, socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name=f"fake-printer-{self.port}", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening: connecting now fails with "connection refused", as with a printer switched off."""
        if self._thread is None or self._wake is None or self._listener is None:
            return
        self._wake[0].send(b"x")
        self._thread.join(timeout=5)
        if self._thread.is_alive():
            raise RuntimeError("the fake printer's thread did not stop")
        self._listener.close()
        for end in self._wake:
            end.close()
        self._thread = self._listener = self._wake = None

    def restart(self) -> FakePrinter:
        """Listen again on the same port (the printer is back)."""
        self.close()
        return self.start()

    def __enter__(self) -> FakePrinter:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------ what tests read

    @property
    def received(self) -> bytes:
        """Every byte received, over all connections."""
        with self._changed:
            return bytes(self._received)

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """The jobs once at least ``count`` connections have ended; AssertionError after ``timeout`` seconds."""
        return self.wait_until(lambda jobs: len(jobs) >= count, f"{count} print jobs", timeout)

    def wait_until(self, ready: Callable[[list[bytes]], bool], what: str, timeout: float = 5.0) -> list[bytes]:
        """The jobs once ``ready(jobs)``: the client may see its job done before this thread saw it close."""
        with self._changed:
            if not self._changed.wait_for(lambda: ready(self.jobs), timeout):
                raise AssertionError(f"not within {timeout} s: {what} ({len(self.jobs)} jobs)")
            return list(self.jobs)

    @property
    def paper(self) -> str:
        return self._paper

    @paper.setter
    def paper(self, state: str) -> None:
        if state not in PAPER_STATES:
            raise ValueError(f"paper must be one of {PAPER_STATES}, not {state!r}")
        self._paper = state

    def status(self, n: int) -> int:
        """The DLE EOT n answer for the current state."""
        out = self.paper == "out"
        match n:
            case 1:
                return STATUS_BASE | (0x08 if not self.online or self.cover_open or out else 0)
            case 2:
                return STATUS_BASE | (0x04 if self.cover_open else 0) | (0x20 if out else 0)
            case 3:
                return STATUS_BASE
            case 4:
                return STATUS_BASE | (0x0C if self.paper != "ok" else 0) | (0x60 if out else 0)
        raise ValueError(f"DLE EOT {n} is not a status query")

    # ------------------------------------------------------------ the server thread

    def _serve(self) -> None:
        assert self._listener is not None and self._wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake[1], selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if self._wake[1] in ready:
                    return
                connection, peer = self._listener.accept()
                with connection:
                    if not self._serve_connection(connection, selector, Visit(self._owner(peer[1]))):
                        return

    def _owner(self, peer_port: int) -> int | None:
        return owner(peer_port, self.port) if self.watch else None

    def _serve_connection(self, connection: socket.socket, selector: selectors.BaseSelector, visit: Visit) -> bool:
        """Read one connection to its end; False when the printer is being closed meanwhile."""
        assert self._wake is not None
        job = bytearray()
        pending = b""  # bytes not yet scanned for status queries (a command cut by a chunk boundary)
        selector.register(connection, selectors.EVENT_READ)
        try:
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if self._wake[1] in ready:
                    return False
                try:
                    chunk = connection.recv(65536)
                except ConnectionError:
                    chunk = b""
                if self.drop_after is not None:
                    chunk = chunk[:max(0, self.drop_after - len(job))]
                with self._changed:
                    job += chunk
                    self._received += chunk
                if not chunk or (self.drop_after is not None and len(job) >= self.drop_after):
                    return True
                pending, queries = _status_queries(pending + chunk)
                visit.status_queries += len(queries)
                answer = bytes(self.status(n) for n in queries if 1 <= n <= 4)
                if answer and not self.silent:
                    try:
                        connection.sendall(answer)
                    except ConnectionError:
                        return True
        finally:
            selector.unregister(connection)
            with self._changed:
                self.jobs.append(bytes(job))
                self.visits.append(visit)
                self._changed.notify_all()


def _status_queries(data: bytes) -> tuple[bytes, list[int]]:
    """The DLE EOT n queries in ``data`` outside image / QR data, and the unscanned rest (an incomplete command)."""
    queries = []
    i = 0
    while i < len(data):
        try:
            found = next_token(data, i)
        except UnknownCommand:  # a real printer skips what it does not understand
            i += 1
            continue
        if found is None:
            break
        token, i = found
        if token.name == "DLE EOT":
            queries.append(token.params[0])
    return data[i:], queries


def owner(client_port: int, server_port: int) -> int | None:
    """The process holding the TCP connection from 127.0.0.1:``client_port`` to ``server_port``: its socket's inode
    from /proc/net/tcp, then the process (of those this user may look into) with that inode among its open files
    (Linux only)."""
    local, remote = f"0100007F:{client_port:04X}", f"0100007F:{server_port:04X}"
    inode = None
    with open("/proc/net/tcp") as table:
        for line in table:
            fields = line.split()
            if fields[1:3] == [local, remote]:
                inode = fields[9]
                break
    if inode is None or inode == "0":  # already closed by the client: no process holds it
        return None
    for pid in (int(name) for name in os.listdir("/proc") if name.isdigit()):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # another user's, or gone
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
            except OSError:  # closed meanwhile
                continue
    return None
