"""The queue engine on its own (no Flask), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from server import db
from server.clock import ManualClock
from server.models import Ticket, TicketEvent
from server.queue import DomainError, QueueEngine
from tests.conftest import Recorder


def issue(engine: QueueEngine, service: str, priority: str | None = None, channel: str = "kiosk") -> str:
    return engine.issue(service, priority, "device:kiosk-1", channel).number


@contextmanager
def refused(kind: str, code: str) -> Iterator[None]:
    with pytest.raises(DomainError) as info:
        yield
    assert (info.value.kind, info.value.code) == (kind, code), info.value.message


# ---------------------------------------------------------------- numbering

def test_numbers_are_prefix_and_three_digits_per_service(engine: QueueEngine) -> None:
    assert [issue(engine, "id-card") for _ in range(3)] == ["A001", "A002", "A003"]
    assert issue(engine, "hukou") == "B001"
    assert issue(engine, "id-card") == "A004"


def test_numbering_starts_again_each_business_day_and_history_stays(engine: QueueEngine, clock: ManualClock,
                                                                     storage) -> None:  # type: ignore[no-untyped-def]
    issue(engine, "id-card")
    issue(engine, "id-card")
    clock.advance(hours=15)  # 00:00 next day in Shanghai
    assert issue(engine, "id-card") == "A001"
    with storage.read() as session:
        rows = session.execute(select(Ticket.number, Ticket.business_date).order_by(Ticket.id)).all()
    assert [number for number, _ in rows] == ["A001", "A002", "A001"]
    assert rows[0].business_date != rows[2].business_date


def test_business_date_is_the_local_date_not_utc(engine: QueueEngine, clock: ManualClock) -> None:
    clock.advance(hours=-8, minutes=-30)  # 00:30 Shanghai = 16:30 UTC the day before
    ticket = engine.issue("id-card", None, "device:k", "kiosk")
    assert engine.today().isoformat() == "2026-11-30"
    assert ticket.issued_at.astimezone(engine.config.timezone).date().isoformat() == "2026-11-30"


def test_issue_refuses_unknown_service_and_priority(engine: QueueEngine) -> None:
    with refused("not_found", "service_not_found"):
        issue(engine, "nope")
    with refused("invalid", "bad_priority"):
        issue(engine, "id-card", priority="vip")


def test_daily_cap_stops_the_kiosk_but_not_the_desk_and_never_reuses(engine: QueueEngine) -> None:
    assert [issue(engine, "pension") for _ in range(5)][-1] == "L005"
    with refused("conflict", "cap_reached"):
        issue(engine, "pension")
    assert issue(engine, "pension", channel="desk") == "L006"


def test_waiting_ahead_is_the_place_in_line_at_the_windows_at_work(engine: QueueEngine) -> None:
    engine.sign_in(1, "clerk1")  # id-card and hukou, by arrival
    first = engine.issue("id-card", None, "k", "kiosk")
    engine.issue("hukou", None, "k", "kiosk")
    third = engine.issue("id-card", None, "k", "kiosk")
    urgent = engine.issue("id-card", "elderly", "k", "kiosk")
    # the hukou resident came earlier and window 1 calls by arrival across its items: they stand ahead too
    assert (first.waiting_ahead, third.waiting_ahead, urgent.waiting_ahead) == (0, 2, 0)
    assert engine.ticket(third.id).waiting_ahead == 3  # the 绿色通道 ticket now stands ahead of it
    engine.sign_out(1, "clerk1")
    engine.sign_in(4, "clerk4")  # id-card only: the hukou resident is no longer in this line
    assert engine.ticket(third.id).waiting_ahead == 2


# ---------------------------------------------------------------- calling

def test_call_next_calls_the_earliest_arrival_across_the_window_items(engine: QueueEngine) -> None:
    issue(engine, "hukou")      # B001, first to arrive
    issue(engine, "id-card")    # A001
    issue(engine, "hukou")      # B002
    engine.sign_in(1, "clerk1")  # lists id-card before hukou: the order of the list does not matter
    assert [engine.call_next(1, "clerk1").number for _ in range(3)] == ["B001", "A001", "B002"]
    assert engine.call_next(1, "clerk1") is None


def test_priority_tickets_go_first_but_pass_a_regular_one_at_most_the_bound(engine: QueueEngine,
                                                                             clock: ManualClock) -> None:
    issue(engine, "id-card")  # A001 regular
    for kind in ("elderly", "military", "pregnant"):
        clock.advance(seconds=10)
        issue(engine, "id-card", kind)  # A002, A003, A004
    engine.sign_in(4, "clerk4")
    calls = [engine.call_next(4, "clerk4").number for _ in range(4)]
    assert calls == ["A002", "A003", "A001", "A004"]  # bound 2: the regular A001 comes third


def test_priority_ticket_issued_before_a_regular_goes_first_anyway(engine: QueueEngine) -> None:
    issue(engine, "id-card", "disabled")
    issue(engine, "id-card")
    engine.sign_in(4, "clerk4")
    assert engine.call_next(4, "clerk4").priority == "disabled"


def test_call_next_finishes_the_current_ticket_and_records_it(engine: QueueEngine, recorder: Recorder,
                                                              storage) -> None:  # type: ignore[no-untyped-def]
    issue(engine, "id-card")
    issue(engine, "id-card")
    engine.sign_in(1, "clerk1")
    first = engine.call_next(1, "clerk1")
    engine.start(1, "clerk1")
    engine.call_next(1, "clerk1")
    assert engine.ticket(first.id).status == "done"
    assert recorder.kinds()[-3:] == ["started", "finished", "called"]
    with storage.read() as session:
        actions = session.scalars(select(TicketEvent.action).where(TicketEvent.ticket_id == first.id)
                                  .order_by(TicketEvent.id)).all()
    assert actions == ["issued", "called", "started", "finished"]


def test_the_screens_hear_of_a_call_before_the_disk_has_it_and_the_clerk_after(
        engine: QueueEngine, recorder: Recorder, storage, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Calls, 特呼 and recalls are published between their commit and the WAL's sync (Storage.write_then): the
    screens do not wait for the disk; call_next returns, and the clerk is answered, once the call is on disk."""
    if not storage.is_sqlite:
        pytest.skip("PostgreSQL commits before publishing, as every other write")
    steps: list[str] = []
    real = db._datasync
    monkeypatch.setattr(db, "_datasync", lambda descriptor: (steps.append("synced"), real(descriptor)))
    engine.bus.subscribe(lambda event: steps.append(event.kind))
    issue(engine, "id-card")
    issue(engine, "id-card")
    engine.sign_in(1, "clerk1")
    steps.clear()
    first = engine.call_next(1, "clerk1")
    steps.append("answered")
    engine.recall(1, "clerk1")
    engine.no_show(1, "clerk1")
    engine.call_number(1, "clerk1", first.number)
    assert steps == ["called", "synced", "answered", "recalled", "synced", "no_show", "called", "synced"]


def test_every_state_change_is_an_event_row_with_actor_window_and_time(engine: QueueEngine, clock: ManualClock,
                                                                       storage) -> None:  # type: ignore[no-untyped-def]
    ticket = engine.issue("id-card", None, "device:kiosk-1", "kiosk")
    engine.sign_in(1, "clerk1")
    clock.advance(minutes=3)
    engine.call_next(1, "clerk1")
    engine.recall(1, "clerk1")
    engine.no_show(1, "clerk1")
    engine.pause(1, "clerk1")
    with storage.read() as session:
        events = session.scalars(select(TicketEvent).order_by(TicketEvent.id)).all()
    summary = [(e.action, e.ticket_id, e.window_id, e.actor) for e in events]
    assert summary == [
        ("issued", ticket.id, None, "device:kiosk-1"),
        ("signed_in", None, 1, "clerk1"),
        ("called", ticket.id, 1, "clerk1"),
        ("recalled", ticket.id, 1, "clerk1"),
        ("no_show", ticket.id, 1, "clerk1"),
        ("paused", None, 1, "clerk1"),
    ]
    assert events[2].at - events[0].at == timedelta(minutes=3)


def test_recall_is_limited(engine: QueueEngine, recorder: Recorder) -> None:
    issue(engine, "id-card")
    engine.sign_in(1, "clerk1")
    engine.call_next(1, "clerk1")
    for count in (1, 2, 3):
        assert engine.recall(1, "clerk1").recalls == count
    with refused("conflict", "recall_limit"):
        engine.recall(1, "clerk1")
    recalled = [e for e in recorder.events if e.kind == "recalled"]
    assert len(recalled) == 3 and recalled[0].text == "请A001号到1号窗口办理"


def test_actions_need_the_right_current_ticket(engine: QueueEngine) -> None:
    engine.sign_in(1, "clerk1")
    with refused("conflict", "no_current_ticket"):
        engine.recall(1, "clerk1")
    with refused("conflict", "no_current_ticket"):
        engine.finish(1, "clerk1")
    issue(engine, "id-card")
    engine.call_next(1, "clerk1")
    engine.start(1, "clerk1")
    with refused("conflict", "wrong_status"):
        engine.no_show(1, "clerk1")
    with refused("conflict", "wrong_status"):
        engine.recall(1, "clerk1")
    assert engine.finish(1, "clerk1").status == "done"


def test_finish_without_start_counts_service_from_the_call(engine: QueueEngine, storage) -> None:  # type: ignore[no-untyped-def]
    issue(engine, "id-card")
    engine.sign_in(1, "clerk1")
    called = engine.call_next(1, "clerk1")
    engine.finish(1, "clerk1")
    with storage.read() as session:
        ticket = session.get(Ticket, called.id)
        assert ticket.started_at == ticket.called_at and ticket.finished_at is not None


# ---------------------------------------------------------------- windows and clerks

def test_only_the_signed_in_clerk_operates_a_window(engine: QueueEngine) -> None:
    issue(engine, "id-card")
    with refused("forbidden", "not_signed_in"):
        engine.call_next(1, "clerk1")
    engine.sign_in(1, "clerk1")
    with refused("forbidden", "not_signed_in"):
        engine.call_next(1, "clerk2")
    with refused("conflict", "window_taken"):
        engine.sign_in(1, "clerk2")
    with refused("not_found", "window_not_found"):
        engine.sign_in(99, "clerk2")


def test_signing_in_elsewhere_leaves_the_old_window(engine: QueueEngine) -> None:
    engine.sign_in(1, "clerk1")
    engine.sign_in(2, "clerk1")
    windows = {w["id"]: w for w in engine.windows()}
    assert windows[1]["status"] == "closed" and windows[2]["status"] == "open"


def test_sign_out_is_refused_while_a_resident_is_at_the_window(engine: QueueEngine) -> None:
    issue(engine, "id-card")
    engine.sign_in(1, "clerk1")
    engine.call_next(1, "clerk1")
    with refused("conflict", "window_busy"):
        engine.sign_out(1, "clerk1")
    engine.finish(1, "clerk1")
    assert engine.sign_out(1, "clerk1")["status"] == "closed"


def test_pause_and_resume(engine: QueueEngine) -> None:
    issue(engine, "id-card")
    engine.sign_in(1, "clerk1")
    assert engine.pause(1, "clerk1")["status"] == "paused"
    with refused("conflict", "window_paused"):
        engine.call_next(1, "clerk1")
    with refused("conflict", "window_not_open"):
        engine.pause(1, "clerk1")
    assert engine.resume(1, "clerk1")["status"] == "open"
    with refused("conflict", "window_not_paused"):
        engine.resume(1, "clerk1")
    assert engine.call_next(1, "clerk1").number == "A001"


# ---------------------------------------------------------------- 特呼 and no-show

def test_no_show_comes_back_with_a_special_call_at_a_window_serving_it(engine: QueueEngine,
                                                                        recorder: Recorder) -> None:
    issue(engine, "id-card")
    issue(engine, "id-card")
    engine.sign_in(1, "clerk1")
    engine.sign_in(2, "clerk2")
    engine.call_next(1, "clerk1")
    assert engine.no_show(1, "clerk1").status == "no_show"
    engine.call_next(1, "clerk1")  # A002
    with refused("conflict", "not_served_here"):
        engine.call_number(2, "clerk2", "A001")
    again = engine.call_number(1, "clerk1", "a001")
    assert (again.number, again.status, again.window) == ("A001", "called", 1)
    assert recorder.events[-1].kind == "called" and recorder.events[-1].ticket.number == "A001"


def test_special_call_refusals(engine: QueueEngine) -> None:
    issue(engine, "id-card")
    engine.sign_in(1, "clerk1")
    with refused("not_found", "number_not_found"):
        engine.call_number(1, "clerk1", "A999")
    engine.call_next(1, "clerk1")
    engine.finish(1, "clerk1")
    with refused("conflict", "not_callable"):
        engine.call_number(1, "clerk1", "A001")


def test_special_call_of_a_waiting_number_takes_it_out_of_turn(engine: QueueEngine) -> None:
    issue(engine, "id-card")
    issue(engine, "id-card")
    engine.sign_in(1, "clerk1")
    assert engine.call_number(1, "clerk1", "A002").number == "A002"
    assert engine.call_next(1, "clerk1").number == "A001"


def test_a_no_show_from_yesterday_cannot_be_called_today(engine: QueueEngine, clock: ManualClock) -> None:
    issue(engine, "id-card")
    engine.sign_in(1, "clerk1")
    engine.call_next(1, "clerk1")
    engine.no_show(1, "clerk1")
    clock.advance(days=1)
    with refused("not_found", "number_not_found"):
        engine.call_number(1, "clerk1", "A001")


# ---------------------------------------------------------------- transfer

def test_transfer_to_a_service_keeps_the_place_in_line(engine: QueueEngine, clock: ManualClock) -> None:
    issue(engine, "id-card")          # A001 arrives first
    clock.advance(minutes=5)
    issue(engine, "hukou")            # B001 arrives later
    engine.sign_in(1, "clerk1")
    engine.sign_in(3, "clerk3")
    assert engine.call_next(1, "clerk1").number == "A001"
    moved = engine.transfer(1, "clerk1", service_code="hukou")
    assert (moved.number, moved.service, moved.status, moved.waiting_ahead) == ("A001", "hukou", "waiting", 0)
    assert engine.call_next(3, "clerk3").number == "A001"  # ahead of B001, who arrived later
    assert engine.call_next(3, "clerk3").number == "B001"


def test_transfer_to_a_window_only_that_window_calls_it(engine: QueueEngine) -> None:
    first = engine.issue("id-card", None, "k", "kiosk")
    engine.sign_in(1, "clerk1")
    engine.sign_in(4, "clerk4")
    engine.sign_in(3, "clerk3")
    engine.call_next(1, "clerk1")
    moved = engine.transfer(1, "clerk1", target_window=3)
    assert engine.ticket(first.id).status == "transferred"
    assert engine.call_next(4, "clerk4") is None  # window 4 serves id-card, but the resident was sent to 3
    assert engine.call_next(3, "clerk3").id == moved.id


def test_transfer_refusals(engine: QueueEngine) -> None:
    issue(engine, "id-card")
    engine.sign_in(1, "clerk1")
    with refused("conflict", "no_current_ticket"):
        engine.transfer(1, "clerk1", service_code="hukou")
    engine.call_next(1, "clerk1")
    with refused("invalid", "transfer_target"):
        engine.transfer(1, "clerk1")
    with refused("invalid", "transfer_target"):
        engine.transfer(1, "clerk1", target_window=1)
    with refused("not_found", "service_not_found"):
        engine.transfer(1, "clerk1", service_code="nope")
    with refused("not_found", "window_not_found"):
        engine.transfer(1, "clerk1", target_window=42)


# ---------------------------------------------------------------- snapshot

def test_snapshot_has_counts_windows_and_recent_calls(engine: QueueEngine) -> None:
    for _ in range(3):
        issue(engine, "id-card")
    issue(engine, "pension")
    engine.sign_in(1, "clerk1")
    engine.call_next(1, "clerk1")
    snap = engine.snapshot()
    waiting = {s["code"]: s["waiting"] for s in snap["services"]}
    assert waiting == {"id-card": 2, "hukou": 0, "pension": 1}
    window = next(w for w in snap["windows"] if w["id"] == 1)
    assert window["current"]["number"] == "A001" and window["status"] == "open"
    engine.recall(1, "clerk1")
    snap = engine.snapshot()
    assert [(c["number"], c["window_name"], c["recall"]) for c in snap["recent_calls"]] == [
        ("A001", "1号窗口", True), ("A001", "1号窗口", False)]
    assert snap["recent_calls"][0]["text"] == "请A001号到1号窗口办理"
    assert snap["hall"]["timezone"] == "Asia/Shanghai"
    assert snap["hall"]["business_date"] == "2026-11-30"
