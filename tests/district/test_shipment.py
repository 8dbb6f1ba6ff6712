"""A hall's batches, filed at the district, make a replica whose figures are the hall's own (issue 19): shipped
through JSON in small batches, replayed and reordered, the district holds each event once and server/stats.py
reads the same figures from the replica as from the hall; nothing personal leaves the hall."""

from __future__ import annotations

import contextlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from district.replica import ReplicaStorage, create_replica
from server import extended
from server.auth import Principal
from server.clock import ManualClock
from server.complaints import Filing
from server.config import config_from_data
from server.evaluation import Rating
from server.events import TicketView
from server.hall import Hall, Settings
from server.models import TicketEvent
from server.queue import DomainError
from server.shipment import Batch, Gaps, ShipmentError, apply, collect, figures_config
from server.stats import Statistics
from tests.conftest import scratch_postgres

ROOT = Path(__file__).resolve().parents[2]
CODE = "chengguan"
WINDOWS = (1, 2, 3)
ADMIN = Principal("staff", "admin", "admin", "中心负责人")


def _busy_day(hall: Hall, clock: ManualClock, luck: random.Random) -> None:
    """Residents arriving, windows calling and finishing, ratings, a complaint naming its resident."""
    services = [s for w in hall.config.windows if w.id in WINDOWS for s in w.services]
    hall.accounts.add_user("admin", "admin", "district-test-2026", "中心负责人", "0001")
    for window in WINDOWS:
        hall.accounts.add_user(f"clerk{window}", "clerk", "district-test-2026", f"办事员{window}", f"10{window:02d}")
        hall.engine.sign_in(window, f"clerk{window}")
    at_window: dict[int, TicketView | None] = {}
    for _ in range(160):
        clock.advance(seconds=luck.randint(5, 60))
        with contextlib.suppress(DomainError):
            if luck.random() < 0.45:
                hall.engine.issue(luck.choice(services), luck.choice((None, None, "elderly")), "device:kiosk-1")
            else:
                window = luck.choice(WINDOWS)
                previous = at_window.get(window)
                at_window[window] = hall.engine.call_next(window, f"clerk{window}")
                if previous is not None and luck.random() < 0.5:  # rated on the phone once 办结
                    hall.evaluation.rate_ticket(hall.engine.ticket(previous.id), Rating(
                        luck.choice(("very_satisfied", "satisfied", "basic", "dissatisfied")), None, None))
    hall.complaints.register(Filing("phone", "窗口态度差，要求道歉", window=1, clerk="clerk1", name="张秀英",
                                    contact="13800138000", handler="admin"), ADMIN)


@pytest.fixture
def hall(tmp_path: Path) -> tuple[Hall, ManualClock]:
    clock = ManualClock(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))  # 09:00 in the hall, a Monday
    hall = Hall.open(Settings(ROOT / "config.toml", tmp_path / "instance",
                              f"sqlite:///{tmp_path / 'hall.db'}", clock))
    _busy_day(hall, clock, random.Random(19))
    return hall, clock


def _batches(hall: Hall, clock: ManualClock, after: int, limit: int) -> list[Batch]:
    """Every batch from ``after`` on, as the district receives them: through JSON."""
    config, gaps, batches = figures_config(ROOT / "config.toml"), Gaps(), []
    while True:
        with hall.storage.read() as session:
            batch = collect(session, hall=CODE, config=config, after=after, limit=limit, now=clock.now(), gaps=gaps,
                            zone=hall.config.timezone)
        batches.append(Batch.from_json(json.loads(json.dumps(batch.to_json()))))
        if batch.through == after:
            return batches
        after = batch.through


def _figures(storage: object, hall: Hall, config: object) -> dict[str, object]:
    zone = hall.config.timezone
    stats = Statistics(storage, config, hall.settings.clock,  # type: ignore[arg-type]
                       lambda first, last: extended.between(storage, zone, first, last))  # type: ignore[arg-type]
    day = hall.engine.today()
    report = stats.report(day, day)
    report.pop("generated_at")
    return report


def test_the_replica_reads_the_halls_own_figures(hall: tuple[Hall, ManualClock]) -> None:
    hall_, clock = hall
    batches = _batches(hall_, clock, 0, 37)
    assert len(batches) > 5, "the day made too few events to ship in several batches"
    with scratch_postgres() as url:
        engine = create_engine(url)
        create_replica(engine, CODE)
        create_replica(engine, CODE)  # again: a restart's `hallq district init` keeps what the replica holds
        replica = ReplicaStorage(engine, CODE)
        through = as_of = 0
        luck = random.Random(7)
        for batch in batches:
            for again in (batch, luck.choice(batches[:batches.index(batch) + 1])):  # each with a replay
                if again.after > through:
                    continue  # the district would answer 409: it lacks the events before
                with replica.write() as session:
                    through, as_of = apply(session, again, through=through, as_of=as_of)
        with hall_.storage.read() as session:
            events = session.scalar(select(func.count()).select_from(TicketEvent))
            newest = session.scalar(select(func.max(TicketEvent.id)))
        with replica.read() as session:
            assert session.scalar(select(func.count()).select_from(TicketEvent)) == events
        assert through == newest
        config = config_from_data(batches[-1].config, CODE)
        theirs, ours = _figures(replica, hall_, config), _figures(hall_.storage, hall_, hall_.config)
        assert ours["total"]["issued"] > 30 and ours["total"]["served"] > 20
        assert ours["total"]["ratings"].get("satisfied"), "nobody rated: the satisfaction figures prove nothing"
        assert theirs == ours
        engine.dispose()


def test_nothing_personal_leaves_the_hall(hall: tuple[Hall, ManualClock]) -> None:
    hall_, clock = hall
    shipped = json.dumps([b.to_json() for b in _batches(hall_, clock, 0, 500)], ensure_ascii=False)
    for personal in ("张秀英", "13800138000", "要求道歉"):
        assert personal not in shipped
    assert '"track_token"' not in shipped and '"password_hash"' not in shipped
    assert "printing" not in json.loads(shipped)[0]["config"]


def test_a_batch_stops_before_an_uncommitted_id_until_it_settles() -> None:
    gaps, now = Gaps(timedelta(seconds=10)), datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    assert gaps.usable(100, [101, 102, 104, 105], now) == 2
    assert gaps.usable(102, [104, 105], now + timedelta(seconds=9)) == 0
    assert gaps.usable(102, [104, 105], now + timedelta(seconds=10)) == 2
    assert gaps.usable(105, [106], now + timedelta(seconds=11)) == 1


@pytest.mark.parametrize("change, code", [
    (lambda b: b.update(after=-1), "bad_batch"),
    (lambda b: b.update(events=list(reversed(b["events"]))), "bad_order"),
    (lambda b: b.update(through=b["through"] + 1), "bad_order"),
    (lambda b: b["rows"].update(appointments=[]), "bad_batch"),
    (lambda b: b.pop("config"), "bad_batch"),
])
def test_a_malformed_batch_is_refused_with_its_reason(hall: tuple[Hall, ManualClock], change, code) -> None:
    hall_, clock = hall
    body = _batches(hall_, clock, 0, 20)[0].to_json()
    change(body)
    with pytest.raises(ShipmentError) as refused:
        Batch.from_json(body)
    assert refused.value.code == code
