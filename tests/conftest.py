"""Shared fixtures: a hall over real SQLite and real PostgreSQL, a manual clock, a Flask app."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis.stateful import RuleBasedStateMachine
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.exc import OperationalError

from server.clock import ManualClock
from server.config import HallConfig, parse_config
from server.db import Storage
from server.events import EventBus, HallEvent
from server.queue import QueueEngine

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SHANGHAI = ZoneInfo("Asia/Shanghai")

#: A small hall: two services at window 1 (in that order), one at window 2, everything at window 3.
SMALL_HALL = """
[hall]
name = "测试便民服务中心"

[queue]
priority_bound = 2
recall_limit = 3

[[services]]
code = "id-card"
name = "居民身份证核发"
category = "户籍管理"
prefix = "A"

[[services]]
code = "hukou"
name = "户口迁移"
category = "户籍管理"
prefix = "B"

[[services]]
code = "pension"
name = "养老保险参保登记"
category = "养老保障"
prefix = "L"
daily_cap = 5

[[windows]]
id = 1
name = "1号窗口"
services = ["id-card", "hukou"]
zone = "一楼"

[[windows]]
id = 2
name = "2号窗口"
services = ["pension"]
zone = "一楼"

[[windows]]
id = 3
name = "3号窗口"
services = ["hukou", "id-card", "pension"]
zone = "二楼"

[[windows]]
id = 4
name = "4号窗口"
services = ["id-card"]
zone = "二楼"
"""


def opening_time() -> datetime:
    return datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(opening_time())


@pytest.fixture
def small_hall() -> HallConfig:
    return parse_config(SMALL_HALL)


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """An empty PostgreSQL database, dropped on leaving (the test is skipped when no server answers)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"hallq_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL pass skipped: no server answers at 127.0.0.1:5432 ({exc.orig})")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """One database for the whole run, created here and dropped at the end."""
    with scratch_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test runs on SQLite and on PostgreSQL, starting from empty tables."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hallq.db'}"
        return
    url = request.getfixturevalue("postgres_database")
    clear_database(url)
    yield url


def clear_database(url: str) -> None:
    """Drop every table: the hall's and alembic_version, whatever schema the last test left."""
    engine = create_engine(url)
    tables = MetaData()
    tables.reflect(engine)
    tables.drop_all(engine)
    engine.dispose()


@pytest.fixture
def storage(database_url: str) -> Iterator[Storage]:
    store = Storage(database_url)
    store.create_schema()
    yield store
    store.dispose()


class Recorder:
    """Collects the domain events the engine publishes."""

    def __init__(self) -> None:
        self.events: list[HallEvent] = []

    def __call__(self, event: HallEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def engine(storage: Storage, small_hall: HallConfig, clock: ManualClock, recorder: Recorder) -> QueueEngine:
    bus = EventBus()
    bus.subscribe(recorder)
    queue = QueueEngine(storage, small_hall, clock, bus)
    queue.ensure_windows()
    return queue


class FreshHallMachine(RuleBasedStateMachine):
    """A Hypothesis state machine over its own SQLite file and a manual clock, both gone after each example."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp()
        self.storage = Storage(f"sqlite:///{self.folder}/hall.db")
        self.storage.create_schema()
        self.clock = ManualClock(opening_time())

    def teardown(self) -> None:
        self.storage.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)
