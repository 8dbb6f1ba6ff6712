"""The district's figures (district/figures.py) from replicas filled by real batches of real halls: the day rollups
merged over any period equal the hall's own Statistics.report of that period, a 承诺件 turning overdue after the
day was rolled up included; the drill-down is the hall's own report; the live board counts the replica's line."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select, update
from sqlalchemy.orm import Session

from district import migrations
from district.figures import DayFigures, Figures, runs
from district.models import DistrictHall
from district.replica import ReplicaStorage, create_replica
from server.auth import Principal
from server.cases import CaseInput
from server.clock import ManualClock
from server.complaints import Filing
from server.evaluation import Rating
from server.events import TicketView
from server.hall import Hall, Settings
from server.models import CaseRecord, Ticket
from server.queue import DomainError
from server.shipment import Batch, Gaps, apply, collect, figures_config
from tests.conftest import SHANGHAI, scratch_postgres

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "realistic-hall.toml"
#: a Monday to a Wednesday; the morning session 08:30-12:00, tickets until 11:30
DAYS = (date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2))
WINDOWS = (1, 2, 3, 4)
ADMIN = Principal("staff", "admin", "admin", "中心负责人")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI)


def open_hall(folder: Path, clock: ManualClock) -> Hall:
    hall = Hall.open(Settings(CONFIG, folder / "instance", f"sqlite:///{folder / 'hall.db'}", clock))
    hall.accounts.add_user("admin", "admin", "district-test-2026", "中心负责人", "0001")
    for window in WINDOWS:
        hall.accounts.add_user(f"clerk{window}", "clerk", "district-test-2026", f"办事员{window}", f"10{window:02d}")
    return hall


def morning(hall: Hall, clock: ManualClock, day: date, luck: random.Random) -> None:
    """A morning of a hall: residents arriving until the cutoff, windows calling and finishing (some 承诺件, due
    the next working day), ratings; residents still waiting at 12:00 served in 延时服务; a complaint, upheld."""
    clock.set(max(clock.now(), local(day, 8, 30)))
    for window in WINDOWS:
        with contextlib.suppress(DomainError):  # signed in already
            hall.engine.sign_in(window, f"clerk{window}")
    services = [s for w in hall.config.windows if w.id in WINDOWS for s in w.services]
    serving: dict[int, TicketView | None] = {}
    while clock.now() < local(day, 11, 55):
        clock.advance(seconds=luck.randint(20, 90))
        with contextlib.suppress(DomainError):
            if luck.random() < 0.5 and clock.now() < local(day, 11, 30):
                hall.engine.issue(luck.choice(services), None, "device:kiosk-1")
            else:
                serve(hall, luck.choice(WINDOWS), luck, serving)
    clock.set(local(day, 12, 1))
    hall.engine.tick()  # 延时服务 begins if anyone waits
    for _ in range(200):
        clock.advance(seconds=40)
        with contextlib.suppress(DomainError):
            serve(hall, luck.choice(WINDOWS), luck, serving)
        hall.engine.tick()
    complaint = hall.complaints.register(Filing("phone", "窗口态度差", window=1, clerk="clerk1", name="张秀英",
                                                contact="13800138000", handler="admin"), ADMIN)
    hall.complaints.answer(complaint["id"], "已核实并致歉", luck.random() < 0.7, ADMIN)


def serve(hall: Hall, window: int, luck: random.Random, serving: dict[int, TicketView | None]) -> None:
    """办结 the window's resident (a 承诺件 now and then, rated on the phone half the time), or call the next."""
    clerk = f"clerk{window}"
    current = serving.get(window)
    if current is None:
        serving[window] = hall.engine.call_next(window, clerk)
        return
    serving[window] = None
    case = None
    if luck.random() < 0.3:
        today = hall.engine.today()  # due the next day, or today for an item finished on the spot (即办)
        case = CaseInput("promised", due=min(today + timedelta(days=1), hall.cases.limit_from(current.service, today)))
    done = hall.engine.finish(window, clerk, case)
    if luck.random() < 0.5:
        hall.evaluation.rate_ticket(done, Rating(luck.choice(("very_satisfied", "satisfied", "basic",
                                                              "dissatisfied")), None, None))


def close_some_cases(hall: Hall, luck: random.Random) -> None:
    """Some of the open 承诺件 closed now (on time or late by their due date), the others left open."""
    with hall.storage.read() as session:
        open_cases = session.scalars(select(CaseRecord.id).where(CaseRecord.type == "promised",
                                                                 CaseRecord.closed_at.is_(None))).all()
    for case_id in open_cases:
        if luck.random() < 0.5:
            hall.cases.close(case_id, ADMIN)


@dataclass
class District:
    """A district database with its schema and the halls' replicas; batches filed as ingest files them."""

    engine: Engine
    clock: ManualClock
    figures: Figures

    def add_hall(self, code: str, name: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.add(DistrictHall(code=code, name=name))
        create_replica(self.engine, code)

    def ship(self, hall: Hall, code: str, limit: int = 150) -> list[Batch]:
        """Every batch the hall has, through JSON, filed and handed to the rollups as district/ingest.py does."""
        config, gaps, shipped = figures_config(CONFIG), Gaps(), []
        replica = ReplicaStorage(self.engine, code)
        while True:
            with Session(self.engine) as session:
                row = session.get(DistrictHall, code)
                assert row is not None
                through, as_of = row.through, row.as_of
            with hall.storage.read() as session:
                batch = collect(session, hall=code, config=config, after=through, limit=limit,
                                now=hall.settings.clock.now(), gaps=gaps, zone=hall.config.timezone)
            batch = Batch.from_json(json.loads(json.dumps(batch.to_json())))
            with replica.write() as session:
                through, as_of = apply(session, batch, through=through, as_of=as_of)
                session.execute(update(DistrictHall).where(DistrictHall.code == code).values(
                    through=through, as_of=as_of, config=batch.config, last_seen_at=self.clock.now()))
            self.figures.on_applied(code, batch)
            shipped.append(batch)
            if batch.through == batch.after:
                return shipped


@pytest.fixture
def district() -> Iterator[District]:
    with scratch_postgres() as url:
        engine = create_engine(url)
        with engine.begin() as connection:
            migrations.upgrade(connection)
        clock = ManualClock(local(DAYS[0], 8, 0))
        yield District(engine, clock, Figures(engine, clock))
        engine.dispose()


def without_time(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "generated_at"}


def expected(report: dict[str, Any]) -> dict[str, Any]:
    """What the side-by-side must say, read off the hall's own report (p95 aside: the report has none)."""
    total, extended = report["total"], report["extended"]
    return {"issued": total["issued"], "served": total["served"], "mean_wait": total["waiting"]["mean"],
            "waits": total["waiting"]["n"], "rated": total["rated"], "unrated": total["ratings"]["unrated"],
            "satisfaction_rate": total["satisfaction_rate"],
            "extended": {"days": extended["days"], "sessions": extended["sessions"], "served": extended["served"]},
            "promised": {key: total["promised"][key] for key in ("total", "on_time", "late", "overdue", "pending",
                                                                 "on_time_rate")},
            "complaints": total["complaints"]}


def shown(figures: dict[str, Any]) -> dict[str, Any]:
    return {"issued": figures["issued"], "served": figures["served"], "mean_wait": figures["waiting"]["mean"],
            "waits": figures["waiting"]["n"], "rated": figures["rated"], "unrated": figures["unrated"],
            "satisfaction_rate": figures["satisfaction_rate"], "extended": figures["extended"],
            "promised": figures["promised"], "complaints": figures["complaints"]}


def test_the_merged_days_are_the_halls_own_report_of_any_period(district: District, tmp_path: Path) -> None:
    clock = ManualClock(local(DAYS[0], 8, 0))
    hall = open_hall(tmp_path, clock)
    district.add_hall("chengguan", "城关镇便民服务中心")
    district.add_hall("xinqiao", "新桥镇便民服务中心")  # registered, never shipped: listed without figures
    luck = random.Random(19)
    for day in DAYS:
        morning(hall, clock, day, luck)
        close_some_cases(hall, luck)
        district.clock.set(clock.now())
        district.ship(hall, "chengguan")
    # the first day's rollup was made when its 承诺件 were pending; by the third day some are overdue
    clock.set(local(DAYS[-1] + timedelta(days=1), 9, 0))
    district.clock.set(clock.now())
    for first, last in ((DAYS[0], DAYS[0]), (DAYS[1], DAYS[1]), (DAYS[0], DAYS[-1]), (date(2026, 11, 1), DAYS[-1]),
                        (date(2026, 10, 1), date(2026, 12, 31))):
        ours = hall.stats.report(first, last)
        table = district.figures.side_by_side(first, last)
        assert [h["code"] for h in table["halls"]] == ["chengguan", "xinqiao"]
        assert table["halls"][1]["figures"] is None
        assert shown(table["halls"][0]["figures"]) == expected(ours), (first, last)
        assert without_time(district.figures.report("chengguan", first, last)) == without_time(ours)
    whole = hall.stats.report(DAYS[0], DAYS[-1])["total"]
    assert whole["issued"] > 100 and whole["rated"] > 20 and whole["complaints"]["received"] == 3
    assert whole["promised"]["overdue"] and whole["promised"]["on_time"], "the deadlines prove nothing"
    assert hall.stats.report(DAYS[0], DAYS[-1])["extended"]["served"], "nobody was served in 延时服务"


def test_p95_is_the_nearest_rank_of_every_wait_of_the_period(district: District, tmp_path: Path) -> None:
    clock = ManualClock(local(DAYS[0], 8, 0))
    hall = open_hall(tmp_path, clock)
    district.add_hall("chengguan", "城关镇便民服务中心")
    luck = random.Random(5)
    for day in DAYS[:2]:
        morning(hall, clock, day, luck)
    district.clock.set(clock.now())
    district.ship(hall, "chengguan")
    with Session(district.engine) as session:
        waits = sorted(w for part in session.scalars(select(DayFigures)) for w in part.waits)
    figures = district.figures.side_by_side(DAYS[0], DAYS[1])["halls"][0]["figures"]
    rank = -(-95 * len(waits) // 100)  # ceil(0.95 n)
    assert len(waits) == hall.stats.report(DAYS[0], DAYS[1])["total"]["waiting"]["n"] > 40
    assert figures["waiting"]["p95"] == round(waits[rank - 1], 1)


def test_a_day_rolled_up_before_its_last_batch_is_recomputed_by_the_next(district: District, tmp_path: Path) -> None:
    """Shipped mid-morning and again at the end: the day's parts are those of the whole day, not of the first."""
    clock = ManualClock(local(DAYS[0], 8, 0))
    hall = open_hall(tmp_path, clock)
    district.add_hall("chengguan", "城关镇便民服务中心")
    luck = random.Random(3)
    clock.set(local(DAYS[0], 8, 30))
    for window in WINDOWS:
        hall.engine.sign_in(window, f"clerk{window}")
    for _ in range(12):
        clock.advance(minutes=2)
        hall.engine.issue("hukou-id", None, "device:kiosk-1")
    district.clock.set(clock.now())
    district.ship(hall, "chengguan")
    assert district.figures.side_by_side(DAYS[0], DAYS[0])["halls"][0]["figures"]["issued"] == 12
    board = district.figures.live()
    assert (board[0]["waiting"], board[0]["windows_open"], board[0]["windows"]) == (12, 4, len(hall.config.windows))
    morning(hall, clock, DAYS[0], luck)
    district.clock.set(clock.now())
    district.ship(hall, "chengguan")
    assert shown(district.figures.side_by_side(DAYS[0], DAYS[0])["halls"][0]["figures"]) == \
        expected(hall.stats.report(DAYS[0], DAYS[0]))
    with hall.storage.read() as session:
        waiting = session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.business_date == DAYS[0], Ticket.status == "waiting"))
    assert district.figures.live()[0]["waiting"] == waiting


def test_consecutive_days_make_one_read() -> None:
    days = [date(2026, 12, 3), date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 9), date(2026, 12, 3)]
    assert list(runs(days)) == [(date(2026, 12, 1), date(2026, 12, 3)), (date(2026, 12, 9), date(2026, 12, 9))]
    assert list(runs([])) == []



def test_a_hall_whose_rules_this_hallq_cannot_read_leaves_the_others_shown(district: District) -> None:
    """A hall upgraded to a newer hallq ships config keys this district does not know: it is listed without
    figures, the others as ever."""
    district.add_hall("chengguan", "城关镇便民服务中心")
    district.add_hall("xinqiao", "新桥镇便民服务中心")
    rules = figures_config(CONFIG)
    with Session(district.engine) as session, session.begin():
        session.execute(update(DistrictHall).where(DistrictHall.code == "chengguan").values(config=rules))
        session.execute(update(DistrictHall).where(DistrictHall.code == "xinqiao").values(
            config={**rules, "hall": {**rules["hall"], "newer_key": True}}))
    halls = district.figures.side_by_side(DAYS[0], DAYS[-1])["halls"]
    assert halls[0]["figures"]["issued"] == 0 and halls[0]["figures"]["satisfaction_rate"] is None
    assert halls[1]["figures"] is None
    assert [entry["waiting"] for entry in district.figures.live()] == [0, None]
