"""Several `hallq run` processes serving one hall on PostgreSQL and Redis (issue 18): call → display with the
displays spread over 1, 2 and 4 processes, and ticket issue with the kiosks spread over them.

For each layout a fresh PostgreSQL database and instance folder, and N processes of the same hall (tests/live.py
`LiveHall.sibling()`, HALLQ_MESSAGE_QUEUE on this machine's Redis); for comparison, one process on PostgreSQL without
Redis (no message queue: the hall as before issue 18, on PostgreSQL).

1. Call → display, on the fresh hall as bench_call_display.py does it: the clerk calls on the first process, the
   displays are connected to each process in turn (display i to process i mod N), so most of them hear the call
   through Redis. Reported for all pairs and by the process the display is on.
2. Issue: the kiosks (threads, keep-alive sessions), kiosk k on process k mod N, released together.

    .venv/bin/python bench/bench_cluster.py [--displays 200] [--calls 60] [--kiosks 8] [--tickets 150]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import bench_call_display, bench_issue, common
from tests.conftest import scratch_postgres

REDIS = "redis://127.0.0.1:6379/0"  # each scratch database gives its hall Redis channels of its own
DISPLAYS = 200
CALLS = 60
KIOSKS = 8
TICKETS = 150  # a kiosk: 1,200 tickets with 8 kiosks, besides the call phase's 160
QUIET_TIMEOUT = 30.0  # seconds to wait for the machine to calm down before each layout: the run stays short


@dataclass(frozen=True)
class Layout:
    """How many processes serve the hall, and whether they share it through Redis."""

    processes: int
    redis: bool = True

    @property
    def label(self) -> str:
        return f"{self.processes} process{'es' if self.processes > 1 else ''}" + ("" if self.redis else ", no Redis")


LAYOUTS = (Layout(1, redis=False), Layout(1), Layout(2), Layout(4))


def start_hall(layout: Layout, folder: Path, database_url: str, stack: ExitStack) -> list[common.LiveHall]:
    """The layout's processes of one fresh hall, started; each stopped when ``stack`` closes."""
    first = common.LiveHall(instance=folder / "instance", database_url=database_url)
    first.environ.pop("HALLQ_MESSAGE_QUEUE", None)
    if layout.redis:
        first.environ["HALLQ_MESSAGE_QUEUE"] = REDIS
    first.prepare()
    halls = [first] + [first.sibling() for _ in range(layout.processes - 1)]
    for hall in halls:
        stack.callback(hall.stop)
        hall.start(timeout=60)
    return halls


@dataclass
class Measured:
    """What one layout measured."""

    calls: bench_call_display.Calls
    issued: bench_issue.Tally
    wall: float
    issue_cpu: dict[str, Any]


def measure(layout: Layout, n_displays: int, n_calls: int, kiosks: int, tickets: int) -> Measured:
    common.wait_for_quiet(timeout=QUIET_TIMEOUT)
    timeout = 120 + (bench_call_display.WARM_UP + n_calls) * (bench_call_display.GAP + bench_call_display.EVENT_TIMEOUT)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hallq-bench-")))
        halls = start_hall(layout, folder, stack.enter_context(scratch_postgres()), stack)
        calls = asyncio.run(asyncio.wait_for(
            bench_call_display.measure(halls[0], n_displays, n_calls, others=halls[1:]), timeout))
        issued, wall, cpu = bench_issue.concurrent(halls, kiosks, tickets)
    return Measured(calls, issued, wall, cpu)


def run(n_displays: int = DISPLAYS, n_calls: int = CALLS, kiosks: int = KIOSKS, tickets: int = TICKETS
        ) -> common.Result:
    speed = common.speed_index()
    stats: dict[str, common.Stats] = {}
    extra: dict[str, Any] = {"python speed index (ms, lower is faster)": speed, "displays": n_displays,
                             "calls": n_calls, "kiosks": kiosks, "tickets a kiosk": tickets}
    missing = duplicates = errors = 0
    for layout in LAYOUTS:
        print(f"{layout.label} ...", file=sys.stderr, flush=True)
        done = measure(layout, n_displays, n_calls, kiosks, tickets)
        label, calls = layout.label, done.calls
        stats[f"{label}: call → display"] = common.Stats.of(calls.pairs)
        if layout.processes > 1:
            stats[f"{label}: same process as the call"] = common.Stats.of(calls.by_process[0])
            stats[f"{label}: the other processes"] = common.Stats.of(
                [latency for process, pairs in calls.by_process.items() if process for latency in pairs])
        stats[f"{label}: call → last display"] = common.Stats.of(calls.last)
        stats[f"{label}: call-next HTTP"] = common.Stats.of(calls.http)
        stats[f"{label}: issue, {kiosks} kiosks"] = common.Stats.of(done.issued.latencies)
        missing += calls.missing
        duplicates += len(done.issued.numbers) - len(set(done.issued.numbers))
        errors += len(done.issued.errors)
        extra.update({f"{label}: {key}": value for key, value in {
            "issue throughput (tickets/s)": round(len(done.issued.latencies) / done.wall, 1),
            **{f"issue, {key}": value for key, value in done.issue_cpu.items()},
            **{f"call, {key}": value for key, value in calls.cpu.items()},
            "missing (call, display) pairs": calls.missing,
            "largest process RSS, displays connected (MB)": max(calls.rss.values()),
            "first issue errors": done.issued.errors[:3]}.items()})
    targets = [common.Target("missing (call, display) pairs", missing, 0, ""),
               common.Target("duplicate numbers", duplicates, 0, ""),
               common.Target("issue errors", errors, 0, "")]
    title = (f"One hall on 1, 2 and 4 processes (PostgreSQL + Redis): {n_displays} displays spread over them, "
             f"{kiosks} kiosks")
    return common.Result("cluster", title, stats, targets, extra)


if __name__ == "__main__":
    options = common.arguments(__doc__ or "", profile=False, displays=DISPLAYS, calls=CALLS, kiosks=KIOSKS,
                               tickets=TICKETS)
    run(options.displays, options.calls, options.kiosks, options.tickets).report()
