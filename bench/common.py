"""Shared parts of the benchmarks: a throw-away live hall, CPU accounting, latency statistics, targets, output."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.live import ROOT, LiveHall

RESULTS = ROOT / "bench" / "results"
HTTP_TIMEOUT = 10.0  # seconds; no request of a benchmark may hang longer


# ---------------------------------------------------------------- the hall under test

def _config() -> dict[str, Any]:
    with (ROOT / "config.toml").open("rb") as handle:
        return tomllib.load(handle)


def service_codes() -> list[str]:
    """Every service of the demo hall, in config order (kiosk benchmarks rotate over them)."""
    return [service["code"] for service in _config()["services"]]


def window_services(window_id: int) -> list[str]:
    return next(window["services"] for window in _config()["windows"] if window["id"] == window_id)


@contextmanager
def live_hall(profile: Path | None = None) -> Iterator[LiveHall]:
    """A fresh hall in a temporary folder, served by a real `hallq run` on 127.0.0.1; always stopped.

    With ``profile``, py-spy samples the server for the whole block and writes a speedscope file there.
    """
    wait_for_quiet()
    with tempfile.TemporaryDirectory(prefix="hallq-bench-") as folder:
        hall = LiveHall(instance=Path(folder) / "instance").prepare()
        spy: subprocess.Popen[bytes] | None = None
        try:
            hall.start()
            assert hall.process is not None
            if profile is not None:
                spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--format",
                                        "speedscope", "--output", str(profile), "--pid", str(hall.process.pid)])
            yield hall
        finally:
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=30)
            hall.stop()


# ---------------------------------------------------------------- the machine: 2 shared cores on a VM

def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc, 10 ms ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pid_of(hall: LiveHall) -> int:
    """The process id of a started hall's server."""
    assert hall.process is not None, "the hall's server is not running"
    return hall.process.pid


def database_name(hall: LiveHall) -> str:
    """The PostgreSQL database a hall is served from, or "" for SQLite."""
    url = hall.database_url or ""
    return url.rpartition("/")[2] if url.startswith("postgresql") else ""


def rss_mb(pid: int) -> float:
    """The process's resident memory now (VmRSS of /proc/PID/status), in MB (2**20 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def _machine_seconds() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far, from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    ticks = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / ticks, steal / ticks


class CpuWatch:
    """Where the CPU went during a phase: the server, this load generator, everything else, hypervisor steal.

    The server and the load generator share two cores; "other processes" shows whether anything else
    (another test run on the machine) competed, and so how far to trust the numbers.
    """

    def __init__(self, *server_pids: int, database: str = ""):
        """``server_pids``: the hall's server processes (one, or each of a cluster's: their CPU is summed);
        ``database``: a PostgreSQL database's name, whose server processes are counted apart."""
        self.server_pids = server_pids
        self.database = database
        self._start = self._now()

    def _now(self) -> tuple[float, float, float, float, float, float]:
        busy, steal = _machine_seconds()
        server = sum(cpu_seconds(pid) for pid in self.server_pids)
        return server, time.process_time(), postgres_seconds(self.database), busy, steal, time.perf_counter()

    def report(self, operations: int) -> dict[str, float]:
        """CPU milliseconds per operation of server, load generator (and PostgreSQL); cores busy elsewhere."""
        server, generator, database, busy, steal, wall = (
            b - a for a, b in zip(self._start, self._now(), strict=True))
        return {"server CPU per op (ms)": round(server / operations * 1000, 2),
                "load generator CPU per op (ms)": round(generator / operations * 1000, 2),
                **({"PostgreSQL CPU per op (ms)": round(database / operations * 1000, 2)} if self.database else {}),
                "other processes (cores busy)": round(max(0.0, busy - server - generator - database) / wall, 2),
                "hypervisor steal (cores)": round(steal / wall, 2)}


def postgres_seconds(database: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving ``database`` (their command line names it; one
    that has exited is no longer counted): the server's own connections, which last the whole phase."""
    if not database:
        return 0.0
    total = 0.0
    for folder in Path("/proc").iterdir():
        try:
            if folder.name.isdigit() and f" {database} " in (folder / "cmdline").read_text():
                total += cpu_seconds(int(folder.name))
        except OSError:  # a process that ended meanwhile, or one of another user
            continue
    return total


def speed_index() -> float:
    """Median milliseconds of a fixed pure-Python workload: this shared VM's speed drifts, so runs record it."""
    timings = []
    for _ in range(7):
        start = time.perf_counter()
        sum(i * i for i in range(200_000))
        timings.append(time.perf_counter() - start)
    return round(sorted(timings)[3] * 1000, 2)


def wait_for_quiet(limit: float = 0.15, timeout: float = 120.0) -> None:
    """Wait (at most ``timeout``) until the rest of the machine uses under ``limit`` cores, sampled over 1 s."""
    deadline = time.monotonic() + timeout
    while True:
        before = _machine_seconds()[0]
        time.sleep(1.0)
        busy = _machine_seconds()[0] - before
        if busy < limit:
            return
        if time.monotonic() > deadline:
            print(f"warning: the machine stayed busy ({busy:.2f} cores); results will be noisy", file=sys.stderr)
            return


# ---------------------------------------------------------------- results

@dataclass(frozen=True)
class Stats:
    """Latency summary in milliseconds (nearest-rank percentiles)."""

    n: int
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Stats:
        if not seconds:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        ordered = sorted(s * 1000 for s in seconds)
        return cls(len(ordered), percentile(ordered, 50), percentile(ordered, 90), percentile(ordered, 99),
                   ordered[-1])


def percentile(ordered: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of values sorted in ascending order (not empty)."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Target:
    """One goal from the issue: ``value`` must be at most (or, with ``at_least``, at least) ``limit``."""

    label: str
    value: float
    limit: float
    unit: str
    at_least: bool = False

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit


def print_targets(targets: Sequence[Target]) -> None:
    print("\n  target                                   measured      limit  result")
    for t in targets:
        limit = f"{'>=' if t.at_least else '<='} {t.limit:g} {t.unit}"
        print(f"  {t.label:<38}{t.value:>8.1f} {t.unit:<4}{limit:>11}  {'met' if t.met else 'NOT MET'}")


@dataclass
class Result:
    """What one benchmark measured: printed as tables and written to bench/results/<name>.json."""

    name: str
    title: str
    stats: dict[str, Stats]
    targets: list[Target]
    extra: dict[str, Any]

    def report(self) -> None:
        print(f"\n{self.title}")
        width = max(34, *(len(name) + 1 for name in self.stats))
        print(f"  {'measurement':<{width}}{'n':>7}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        for name, s in self.stats.items():
            print(f"  {name:<{width}}{s.n:>7}{s.p50:>9.2f}{s.p90:>9.2f}{s.p99:>9.2f}{s.max:>9.2f}")
        for key, value in self.extra.items():
            print(f"  {key}: {value}")
        print_targets(self.targets)
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        path.write_text(json.dumps({"stats_ms": {k: asdict(v) for k, v in self.stats.items()},
                                    "targets": [{**asdict(t), "met": t.met} for t in self.targets],
                                    **self.extra}, indent=2, ensure_ascii=False) + "\n")
        print(f"\n  written to {path.relative_to(ROOT)}")


def positive_count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def arguments(description: str, profile: bool = True, **counts: int) -> argparse.Namespace:
    """``--profile`` (unless ``profile`` is False), plus one ``--NAME N`` option (a positive count) for each keyword,
    defaulting to its value."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    if profile:
        parser.add_argument("--profile", type=Path, help="py-spy the server into this speedscope file")
    for name, default in counts.items():
        parser.add_argument(f"--{name}", type=positive_count, default=default, metavar="N",
                            help=f"number of {name} (default: %(default)s)")
    return parser.parse_args()
