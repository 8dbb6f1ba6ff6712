"""The district's month side by side (issue 19: 20 halls x 30 days x 300 tickets in at most 2 s), on a scratch
PostgreSQL at 127.0.0.1:5432.

One hall's month is written straight into its replica (bench_stats's generated days: the events, tickets, cases
and complaints the engine, the tablets and the case records write) and copied into the other halls' replicas by
the database itself; the day rollups (district.day_figures) are built once, as the applied batches build them, and
timed apart; then the month's side-by-side figures of every hall are timed over the runs, and one hall's
drill-down (its whole report for the month, from its replica) for comparison.

    .venv/bin/python bench/bench_district.py [--runs 20] [--halls 20] [--days 30] [--tickets 300]
"""

from __future__ import annotations

import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from bench.bench_stats import populate
from district import migrations
from district.figures import Figures
from district.models import DistrictHall
from district.replica import ReplicaStorage, create_replica, replica_schema
from server.clock import ManualClock
from server.config import load_config
from server.shipment import TABLES, figures_config
from tests.conftest import scratch_postgres

CONFIG = common.ROOT / "config.toml"
#: the replica's tables a hall's figures read, copied from the first hall to the others
COPIED = (*TABLES, "ticket_events")


def fill(engine: Engine, halls: int, first: date, days: int, tickets: int) -> tuple[list[str], int, float]:
    """The halls' replicas, each with the same generated month; their codes, the events of one, the seconds."""
    started = time.perf_counter()
    codes = [f"hall{k:02d}" for k in range(1, halls + 1)]
    shipped = figures_config(CONFIG)
    with Session(engine) as session, session.begin():
        session.add_all(DistrictHall(code=code, name=f"第{k + 1}便民服务中心", config=shipped, through=0)
                        for k, code in enumerate(codes))
    for code in codes:
        create_replica(engine, code)
    events = populate(ReplicaStorage(engine, codes[0]), load_config(CONFIG), first, days, tickets)  # type: ignore[arg-type]
    with engine.begin() as connection:
        for code in codes[1:]:
            for table in COPIED:
                connection.execute(text(f'INSERT INTO "{replica_schema(code)}".{table} '
                                        f'SELECT * FROM "{replica_schema(codes[0])}".{table}'))
    return codes, events, time.perf_counter() - started


def run(runs: int, halls: int, days: int, tickets: int) -> common.Result:
    speed = common.speed_index()
    first = date(2026, 10, 1)
    last = first + timedelta(days=days - 1)
    with scratch_postgres() as url:
        engine = create_engine(url, pool_size=5)
        with engine.begin() as connection:
            migrations.upgrade(connection)
        codes, events, fill_seconds = fill(engine, halls, first, days, tickets)
        clock = ManualClock(datetime.combine(last + timedelta(days=5), datetime.min.time(),
                                             load_config(CONFIG).timezone))
        figures = Figures(engine, clock)
        common.wait_for_quiet()
        started = time.perf_counter()
        for code in codes:
            figures.rebuild(code, first, last)
        rollup_seconds = time.perf_counter() - started
        table = figures.side_by_side(first, last)  # warm-up: the halls' rules validated once
        side, drill = [], []
        for _ in range(runs):
            start = time.perf_counter()
            table = figures.side_by_side(first, last)
            side.append(time.perf_counter() - start)
        for _ in range(max(1, runs // 4)):
            start = time.perf_counter()
            figures.report(codes[0], first, last)
            drill.append(time.perf_counter() - start)
        engine.dispose()
    stats = {f"month side by side, {halls} halls": common.Stats.of(side),
             "one hall's drill-down (its month report)": common.Stats.of(drill)}
    one = table["halls"][0]["figures"]
    return common.Result(
        "district", f"District figures: {halls} halls x {days} days x {tickets} tickets on PostgreSQL ({runs} runs)",
        stats, [common.Target("month side by side p99", stats[f"month side by side, {halls} halls"].p99, 2000, "ms")],
        {"python speed index (ms, lower is faster)": speed, "events in each hall's log": events,
         "tickets issued by each hall": one["issued"], "satisfaction rate of each hall": one["satisfaction_rate"],
         "filling the replicas (s)": round(fill_seconds, 1),
         "building the day rollups of every hall (s)": round(rollup_seconds, 1)})


if __name__ == "__main__":
    options = common.arguments(__doc__ or "", profile=False, runs=20, halls=20, days=30, tickets=300)
    run(options.runs, options.halls, options.days, options.tickets).report()
