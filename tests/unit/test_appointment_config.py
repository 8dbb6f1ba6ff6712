"""[appointments] and the 办事指南 fields of [[services]]: parsed, and every mistake named by its key and line."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from server.config import DEFAULT_REJECT_REASONS, AppointmentSlot, parse_config
from tests.conftest import SMALL_HALL
from tests.unit.test_config import error_of, line_of

ROOT = Path(__file__).resolve().parents[2]

SLOTS = SMALL_HALL + """
[appointments]
check_in_before_minutes = 20
forfeit_after_minutes = 30
days_ahead = 5
retention_days = 90
reject_reasons = ["材料不齐"]

[[appointments.slots]]
start = "09:00"
end = "10:00"
capacity = 3

[[appointments.slots]]
start = "14:00"
end = "15:00"
capacity = 2
days = [6]
"""

WEEK = SMALL_HALL + """
[[calendar.sessions]]
name = "上午"
start = "08:30"
end = "12:00"

[appointments]

[[appointments.slots]]
start = "09:00"
end = "10:00"
capacity = 3
"""


def test_slots_rules_and_service_guides_parse() -> None:
    text = SLOTS.replace('prefix = "A"\n', 'prefix = "A"\nmaterials = "户口簿"\nsteps = "取号 → 受理 → 领证"\n'
                         'time_limit = "20个工作日"\nfees = "20元"\n', 1)
    hall = parse_config(text)
    rules = hall.appointments
    assert rules.slots == (AppointmentSlot(time(9), time(10), 3, (1, 2, 3, 4, 5)),
                           AppointmentSlot(time(14), time(15), 2, (6,)))
    assert (rules.check_in_before_minutes, rules.forfeit_after_minutes, rules.days_ahead, rules.retention_days,
            rules.reject_reasons) == (20, 30, 5, 90, ("材料不齐",))
    assert [s.start for s in rules.slots_on(6)] == [time(14)]
    card = hall.service("id-card")
    assert (card.materials, card.steps, card.time_limit, card.fees) == ("户口簿", "取号 → 受理 → 领证", "20个工作日",
                                                                        "20元")
    assert hall.service("hukou").steps == ""


def test_without_appointments_the_seed_rules_apply_and_no_slot_is_offered() -> None:
    rules = parse_config(SMALL_HALL).appointments
    assert (rules.slots, rules.check_in_before_minutes, rules.forfeit_after_minutes, rules.retention_days,
            rules.reject_reasons) == ((), 30, 30, 180, DEFAULT_REJECT_REASONS)


@pytest.mark.parametrize(("change", "key", "needle", "fragment"), [
    (('end = "10:00"', 'end = "08:00"'), "appointments.slots[0].end", 'end = "08:00"', "is not after start 09:00"),
    (('end = "10:00"', 'end = "24:00"'), "appointments.slots[0].end", 'end = "24:00"', "a time of day"),
    (("capacity = 3", "capacity = 0"), "appointments.slots[0].capacity", "capacity = 0", "between 1 and 99"),
    (("capacity = 3", 'capacity = "3"'), "appointments.slots[0].capacity", 'capacity = "3"', "must be an integer"),
    (("capacity = 3\n", ""), "appointments.slots[0].capacity", "[[appointments.slots]]", "is required"),
    (("days = [6]", "days = [8]"), "appointments.slots[1].days", "days = [8]", "weekdays 1 (Monday) to 7"),
    (("days = [6]", "days = [6, 6]"), "appointments.slots[1].days", "days = [6, 6]", "listed twice"),
    (("capacity = 2", "capacity = 2\nseats = 2"), "appointments.slots[1].seats", "seats = 2", "unknown key"),
    (("days_ahead = 5", "days_ahed = 5"), "appointments.days_ahed", "days_ahed = 5", "unknown key"),
    (("check_in_before_minutes = 20", "check_in_before_minutes = 300"), "appointments.check_in_before_minutes",
     "check_in_before_minutes = 300", "between 0 and 240"),
    (("forfeit_after_minutes = 30", "forfeit_after_minutes = -1"), "appointments.forfeit_after_minutes",
     "forfeit_after_minutes = -1", "between 0 and 240"),
    (("retention_days = 90", "retention_days = 0"), "appointments.retention_days", "retention_days = 0",
     "between 1 and 3650"),
    (('reject_reasons = ["材料不齐"]', 'reject_reasons = ["材料不齐", ""]'), "appointments.reject_reasons[1]",
     "reject_reasons", "non-empty string"),
    (('prefix = "B"\n', 'prefix = "B"\nfees = 20\n'), "services[1].fees", "fees = 20", "must be a string"),
])
def test_each_appointment_mistake_names_its_key_and_line(change: tuple[str, str], key: str, needle: str,
                                                         fragment: str) -> None:
    text = SLOTS.replace(*change, 1)
    error = error_of(text)
    assert error.key == key, str(error)
    assert error.line == line_of(text, needle), str(error)
    assert fragment in str(error)


def test_overlapping_slots_on_a_common_day_are_refused_at_the_later_one() -> None:
    text = SLOTS.replace('start = "14:00"\nend = "15:00"\ncapacity = 2\ndays = [6]',
                         'start = "09:30"\nend = "10:30"\ncapacity = 2\ndays = [5, 6]')
    error = error_of(text)
    assert error.key == "appointments.slots[1]" and error.line == line_of(text, "[[appointments.slots]]", 2)
    assert "09:30-10:30 overlaps slots[0] 09:00-10:00 on 周五" in str(error)
    assert parse_config(text.replace("days = [5, 6]", "days = [6]")).appointments.slots[1].start == time(9, 30)


def test_a_slot_outside_the_opening_hours_of_its_days_is_refused() -> None:
    assert parse_config(WEEK).appointments.slots[0].days == (1, 2, 3, 4, 5)
    text = WEEK.replace('start = "09:00"\nend = "10:00"\ncapacity = 3', 'start = "11:30"\nend = "12:30"\ncapacity = 3')
    error = error_of(text)
    assert error.key == "appointments.slots[0].start" and error.line == line_of(text, 'start = "11:30"')
    assert "11:30-12:30 on 周一 is outside the [calendar] sessions" in str(error)
    saturday = WEEK.replace("capacity = 3", "capacity = 3\ndays = [5, 6]")
    assert "on 周六 is outside" in str(error_of(saturday))


def test_the_demo_halls_offer_slots_and_a_full_guide_for_every_item() -> None:
    from server.config import load_config

    for path in (ROOT / "config.toml", ROOT / "examples" / "realistic-hall.toml"):
        hall = load_config(path)
        assert len(hall.appointments.slots) >= 4 and hall.appointments.forfeit_after_minutes == 30
        assert all(s.materials and s.steps and s.time_limit and s.fees for s in hall.services), path
