"""Call-next → display latency: N Socket.IO displays (200 by default) connected while a clerk calls the next resident.

One asyncio process holds the displays (bare Socket.IO-over-websocket clients, tests/wire_display.py) and the
clerk (aiohttp). A call is timed from when the clerk's request goes out (aiohttp's on_request_headers_sent: its
headers and JSON body are then serialised and written to the socket together) to the kernel's receive stamp on
each display's socket, both on the wall clock. Also reported: from before aiohttp builds the request (the
benchmark's measure until 2026-12-07 21:30, ~0.4–0.6 ms of this process's Python more), and when this process read
each event.

    .venv/bin/python bench/bench_call_display.py [--displays 200] [--calls 200] [--profile call.speedscope.json]
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from tests.wire_display import WireDisplay

DISPLAYS = 200
CALLS = 200
WARM_UP = 5
LEFT_WAITING = 95  # tickets still waiting after the last call (300 issued in all with the default 200 calls)
GAP = 0.5  # seconds between calls: longer than the snapshot coalescing (0.2 s), so calls are measured one by one
EVENT_TIMEOUT = 2.0  # a display that has not seen a call after this long counts as missing
WINDOW = 1


#: when a `called` event reached one display: the kernel's receive stamp and when this process read it (both
#: nanoseconds of the wall clock), and which of the hall's processes the display is connected to (its index)
Arrival = tuple[int, int, int]


class Displays:
    """The display connections and, per ticket number, when its `called` event reached each of them.

    Two times per arrival, both in nanoseconds of the wall clock: the kernel's receive stamp on the display's
    socket (what a display on its own machine sees) and when this process got round to reading it.
    """

    def __init__(self, urls: Sequence[str], token: str):
        """``urls``: the hall's server processes; the displays connect to each in turn."""
        self.urls = urls
        self.token = token
        self.clients: list[WireDisplay] = []
        self.arrivals: defaultdict[str, list[Arrival]] = defaultdict(list)
        self.changed = asyncio.Event()

    def _called(self, process: int, data: dict[str, Any], stamp: int) -> None:
        self.arrivals[data["ticket"]["number"]].append((stamp, time.time_ns(), process))
        self.changed.set()

    async def connect(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        for i in range(count):  # from 127.0.0.2 on: each TV has its own address, as in a hall
            process = i % len(self.urls)
            client = WireDisplay(self.urls[process], self.token,
                                 lambda data, stamp, process=process: self._called(process, data, stamp),
                                 source=f"127.0.{2 + i // 250}.{2 + i % 250}")
            await loop.run_in_executor(None, client.connect)
            assert client.sock is not None
            loop.add_reader(client.sock.fileno(), client.on_readable)
            self.clients.append(client)

    async def wait_for(self, number: str, timeout: float) -> list[Arrival]:
        """Arrival times of `number` at the displays, once all have it or `timeout` has passed."""
        deadline = time.perf_counter() + timeout
        while len(self.arrivals[number]) < len(self.clients) and (left := deadline - time.perf_counter()) > 0:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                break
        return self.arrivals[number]

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for client in self.clients:
            if client.sock is not None:
                loop.remove_reader(client.sock.fileno())
            client.close()


@dataclass
class Calls:
    """Per measured call: the HTTP round trip and when the displays got it, in seconds from the send."""

    displays: int
    http: list[float] = field(default_factory=list)
    pairs: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    last: list[float] = field(default_factory=list)
    #: when this process read each event: the socket stamp plus the load generator's own queueing
    read: list[float] = field(default_factory=list)
    #: the pairs from before aiohttp built the request (the measure until 2026-12-07 21:30)
    built: list[float] = field(default_factory=list)
    #: the pairs by the index of the server process the display is connected to
    by_process: defaultdict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    missing: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    #: the server's resident memory (MB; the largest process's): before the displays connect, once they have, after
    #: the calls
    rss: dict[str, float] = field(default_factory=dict)

    def add(self, http: float, start: int, sent: int, arrivals: list[Arrival]) -> None:
        """``start``: before aiohttp built the request; ``sent``: when it went out (both wall-clock ns)."""
        self.http.append(http)
        self.missing += self.displays - len(arrivals)
        if arrivals:
            stamped = [(stamp - sent) / 1e9 for stamp, _, _ in arrivals]
            self.pairs += stamped
            self.first.append(min(stamped))
            self.last.append(max(stamped))
            self.built += [(stamp - start) / 1e9 for stamp, _, _ in arrivals]
            self.read += [(read - sent) / 1e9 for _, read, _ in arrivals]
            for (_, _, process), latency in zip(arrivals, stamped, strict=True):
                self.by_process[process].append(latency)


async def post(session: aiohttp.ClientSession, url: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=common.HTTP_TIMEOUT)
    async with session.post(url, json=payload or {}, timeout=timeout) as answer:  # a JSON body, even an empty one
        answer.raise_for_status()
        return await answer.json()


async def _stamp(stamps: list[int]) -> None:
    stamps.append(time.time_ns())


def largest_rss(servers: Sequence[common.LiveHall]) -> float:
    """The resident memory (MB) of the largest of the hall's server processes."""
    return max(common.rss_mb(common.pid_of(server)) for server in servers)


async def measure(hall: common.LiveHall, n_displays: int, n_calls: int, others: Sequence[common.LiveHall] = ()
                  ) -> Calls:
    """The clerk calls on ``hall``'s process; the displays connect to it and to the ``others`` (processes of the same
    hall) in turn."""
    servers = [hall, *others]
    services = common.window_services(WINDOW)
    displays = Displays([server.url for server in servers], hall.display_token)
    kiosk = aiohttp.ClientSession(headers={"Authorization": f"Bearer {hall.kiosk_token}"})
    sent: list[int] = []
    going_out = aiohttp.TraceConfig()
    going_out.on_request_headers_sent.append(lambda *_: _stamp(sent))
    clerk = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),  # unsafe: keep cookies of 127.0.0.1
                                  trace_configs=[going_out])

    async def call_next() -> tuple[float, int, int, list[Arrival]]:
        """One call: the HTTP round trip (s), when aiohttp was asked for it and when it went out, and the displays'
        arrivals (wall-clock ns)."""
        await asyncio.sleep(GAP)
        sent.clear()
        start = time.time_ns()
        ticket = (await post(clerk, f"{hall.url}/api/windows/{WINDOW}/call-next"))["ticket"]
        answered = time.time_ns()
        arrivals = await displays.wait_for(ticket["number"], EVENT_TIMEOUT)
        return (answered - sent[0]) / 1e9, start, sent[0], arrivals

    calls = Calls(n_displays)
    try:
        for i in range(WARM_UP + n_calls + LEFT_WAITING):
            await post(kiosk, f"{hall.url}/api/tickets", {"service": services[i % len(services)]})
        await post(clerk, f"{hall.url}/api/auth/login", {"username": "clerk1", "password": hall.passwords["clerk1"]})
        await post(clerk, f"{hall.url}/api/windows/{WINDOW}/sign-in")
        calls.rss["server RSS before the displays (MB)"] = largest_rss(servers)
        await displays.connect(n_displays)
        calls.rss["server RSS, displays connected (MB)"] = largest_rss(servers)
        for _ in range(WARM_UP):
            await call_next()
        watch = common.CpuWatch(*map(common.pid_of, servers), database=common.database_name(hall))
        for _ in range(n_calls):
            calls.add(*await call_next())
        calls.cpu = watch.report(n_calls)
        calls.rss["server RSS after the calls (MB)"] = largest_rss(servers)
    finally:
        await displays.close()
        await kiosk.close()
        await clerk.close()
    return calls


def run(profile: Path | None = None, n_displays: int = DISPLAYS, n_calls: int = CALLS) -> common.Result:
    speed = common.speed_index()
    timeout = 120 + (WARM_UP + n_calls) * (GAP + EVENT_TIMEOUT)  # set-up, then every call at its slowest
    with common.live_hall(profile) as hall:
        calls = asyncio.run(asyncio.wait_for(measure(hall, n_displays, n_calls), timeout))
    pairs = common.Stats.of(calls.pairs)
    stats = {"call-next HTTP round trip": common.Stats.of(calls.http),
             f"call → display (all {n_displays}×{n_calls} pairs)": pairs,
             "call → first display": common.Stats.of(calls.first),
             "call → last display": common.Stats.of(calls.last),
             "call → display, from before aiohttp built the request": common.Stats.of(calls.built),
             "call → read by the load generator (all pairs)": common.Stats.of(calls.read)}
    targets = [common.Target("call → display p50", pairs.p50, 5, "ms"),
               common.Target("call → display p99", pairs.p99, 20, "ms"),
               common.Target("missing (call, display) pairs", calls.missing, 0, ""),
               common.Target("server RSS, displays connected", max(calls.rss.values()), 150, "MB")]
    extra = {"python speed index (ms, lower is faster)": speed, "displays": n_displays, "calls": n_calls,
             "gap between calls (s)": GAP, "missing (call, display) pairs": calls.missing, **calls.cpu, **calls.rss}
    title = f"Call-next → `called` event at {n_displays} Socket.IO displays"
    name = "call_display" if n_displays == DISPLAYS else f"call_display_{n_displays}"
    return common.Result(name, title, stats, targets, extra)


if __name__ == "__main__":
    options = common.arguments(__doc__ or "", displays=DISPLAYS, calls=CALLS)
    run(options.profile, options.displays, options.calls).report()
