"""Kiosk issue latency while connections that never finish flood the server (issue 14, finding 2).

    .venv/bin/python bench/bench_flood.py [--tickets N] [--connections N]

A real `hallq run` at a file limit of 256 and its default deadlines: the kiosk issues tickets on a quiet hall,
then again while an attacker on 10 addresses keeps `--connections` connections open that never finish (half
websocket upgrades that never read, half partial requests), opening new ones as the server closes them.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from bench.bench_issue import Tally, issue_many
from tests.process.test_connection_flood import PARTIAL, UPGRADE

FILE_LIMIT = 256
ATTACKERS = [f"127.0.0.{n}" for n in range(2, 12)]


class Flood:
    """Keeps ``size`` never-finishing connections open against ``port`` from a thread, until stopped."""

    def __init__(self, port: int, size: int):
        self.port, self.size = port, size
        self.stopped = threading.Event()
        self.opened = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        held: list[socket.socket] = []
        while not self.stopped.is_set():
            held = [c for c in held if _alive(c)]
            while len(held) < self.size and not self.stopped.is_set():
                try:
                    connection = socket.create_connection(("127.0.0.1", self.port), timeout=1, source_address=(
                        ATTACKERS[self.opened % len(ATTACKERS)], 0))
                    connection.sendall(UPGRADE if self.opened % 2 else PARTIAL)
                except OSError:
                    break  # refused, closed at once, or the backlog is full: try again next round
                finally:
                    self.opened += 1
                held.append(connection)
            self.stopped.wait(0.2)
        for connection in held:
            connection.close()

    def __enter__(self) -> Flood:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)


def _alive(connection: socket.socket) -> bool:
    """Whether the server still holds the connection (nothing to read, or data): never blocks; closes it if not."""
    try:
        data = connection.recv(65536, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True
    except OSError:
        data = b""
    if not data:
        connection.close()
    return bool(data)


def one_by_one(hall: common.LiveHall, count: int, first: int) -> Tally:
    """``count`` tickets, each on a new connection: under a flood the kiosk's connection must be accepted too."""
    tally = Tally()
    for i in range(count):
        tally.add(issue_many(hall, 1, first=first + i))
    return tally


def run(tickets: int, connections: int) -> common.Result:
    speed = common.speed_index()
    with common.live_hall() as hall:
        hall.stop()
        hall.command = ["prlimit", f"--nofile={FILE_LIMIT}:{FILE_LIMIT}", *hall.command]
        hall.start()
        one_by_one(hall, 20, first=0)  # warm-up
        quiet = one_by_one(hall, tickets, first=20)
        with Flood(hall.port, connections) as flood:
            time.sleep(2.0)  # let the flood reach its size
            flooded = one_by_one(hall, tickets, first=20 + tickets)
            opened = flood.opened
    quiet_name, flood_name = "issue, quiet", f"issue, {connections} connections flooding"
    stats = {quiet_name: common.Stats.of(quiet.latencies), flood_name: common.Stats.of(flooded.latencies)}
    errors = quiet.errors + flooded.errors
    targets = [common.Target("errors", len(errors), 0, ""),
               common.Target("issue p99 under the flood", stats[flood_name].p99, 1000, "ms")]
    extra = {"python speed index (ms, lower is faster)": speed, "file limit": FILE_LIMIT,
             "attacker connections opened": opened, "first errors": errors[:5]}
    return common.Result("flood", "Ticket issue under a flood of connections that never finish", stats, targets,
                         extra)


if __name__ == "__main__":
    arguments = common.arguments(__doc__ or "", tickets=300, connections=500)
    run(arguments.tickets, arguments.connections).report()
