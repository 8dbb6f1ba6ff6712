"""[evaluation] and [cases] in config.toml, and counting working days on the hall's calendar."""

from __future__ import annotations

from datetime import date

import pytest

from server.calendar import CalendarConfig, HallCalendar
from server.config import ConfigError, parse_config
from tests.conftest import SHANGHAI, SMALL_HALL
from tests.unit.test_config import error_of, line_of

EVALUATION = """
[evaluation]
prompt_seconds = 45
reasons = ["等候时间过长", "服务态度不好"]
basic_counts_satisfied = false
unrated = "basic"
followup_working_days = 3
phone_days = 2
target_rate = 0.95

[[evaluation.evaluators]]
device = "rate-1"
window = 1

[[evaluation.evaluators]]
device = "rate-3"
window = 3

[cases]
promised_working_days = 4
approval_working_days = 2
return_reasons = ["主件缺少"]
"""


def test_the_sections_are_read_with_their_defaults() -> None:
    plain = parse_config(SMALL_HALL)
    assert plain.evaluation.prompt_seconds == 60 and plain.evaluation.unrated == "exclude"
    assert plain.evaluation.basic_counts_satisfied and plain.evaluation.followup_working_days == 5
    assert plain.evaluation.evaluators == () and plain.evaluation.window_of("rate-1") is None
    assert "服务态度不好" in plain.evaluation.reasons and plain.cases.promised_working_days == 5
    hall = parse_config(SMALL_HALL + EVALUATION)
    settings = hall.evaluation
    assert (settings.prompt_seconds, settings.reasons, settings.basic_counts_satisfied, settings.unrated,
            settings.followup_working_days, settings.phone_days, settings.target_rate) == (
        45, ("等候时间过长", "服务态度不好"), False, "basic", 3, 2, 0.95)
    assert settings.window_of("rate-1") == 1 and settings.window_of("rate-3") == 3
    assert settings.window_of("rate-2") is None
    assert (hall.cases.promised_working_days, hall.cases.approval_working_days, hall.cases.return_reasons) == (
        4, 2, ("主件缺少",))


@pytest.mark.parametrize(("old", "new", "key", "words"), [
    ("prompt_seconds = 45", "prompt_seconds = 5", "evaluation.prompt_seconds", "between 10 and 600"),
    ("prompt_seconds = 45", 'prompt_seconds = "45"', "evaluation.prompt_seconds", "must be an integer"),
    ('unrated = "basic"', 'unrated = "ignore"', "evaluation.unrated", "exclude, satisfied, basic"),
    ("basic_counts_satisfied = false", "basic_counts_satisfied = 1", "evaluation.basic_counts_satisfied",
     "true/false"),
    ("followup_working_days = 3", "followup_working_days = 0", "evaluation.followup_working_days", "between 1"),
    ("phone_days = 2", "phone_days = 31", "evaluation.phone_days", "between 0 and 30"),
    ("target_rate = 0.95", "target_rate = 98", "evaluation.target_rate", "at most 1"),
    ('reasons = ["等候时间过长", "服务态度不好"]', "reasons = []", "evaluation.reasons", "at least one"),
    ('reasons = ["等候时间过长", "服务态度不好"]', 'reasons = ["慢", "慢"]', "evaluation.reasons", "listed twice"),
    ('reasons = ["等候时间过长", "服务态度不好"]', 'reasons = ["慢", ""]', "evaluation.reasons", "entry 2"),
    ("prompt_seconds = 45", "prompt_second = 45", "evaluation.prompt_second", "unknown key"),
    ("promised_working_days = 4", "promised_working_days = 0", "cases.promised_working_days", "between 1 and 120"),
    ('return_reasons = ["主件缺少"]', "return_reasons = [1]", "cases.return_reasons", "entry 1"),
    ("approval_working_days = 2", "approval_days = 2", "cases.approval_days", "unknown key"),
])
def test_a_wrong_value_names_its_key_and_line(old: str, new: str, key: str, words: str) -> None:
    text = (SMALL_HALL + EVALUATION).replace(old, new)
    error = error_of(text)
    assert error.key == key, str(error)
    assert words in str(error)
    assert error.line == line_of(text, new.split("=")[0].strip() + " ="), str(error)


def test_an_evaluator_for_an_unknown_window_or_listed_twice_is_refused() -> None:
    text = (SMALL_HALL + EVALUATION).replace("window = 3", "window = 9")
    error = error_of(text)
    assert (error.key, error.line) == ("evaluation.evaluators[1].window", line_of(text, "window = 9"))
    assert "no window with id 9" in str(error)
    text = (SMALL_HALL + EVALUATION).replace('device = "rate-3"', 'device = "rate-1"')
    error = error_of(text)
    assert (error.key, error.line) == ("evaluation.evaluators[1].device", line_of(text, 'device = "rate-1"', 2))
    assert "listed twice" in str(error)
    with pytest.raises(ConfigError, match=r"evaluation.evaluators\[0\].windows: unknown key"):
        parse_config((SMALL_HALL + EVALUATION).replace("window = 1", "windows = 1"))


# ---------------------------------------------------------------- working days

#: Monday 2026-11-30; Thursday 2026-12-03 a holiday; Saturday 2026-12-05 a 调休 working day
CALENDAR = HallCalendar(CalendarConfig(
    sessions=parse_config(SMALL_HALL + """
[[calendar.sessions]]
name = "上午"
start = "08:30"
end = "12:00"
""").calendar.sessions, holidays=frozenset({date(2026, 12, 3)}), workdays=frozenset({date(2026, 12, 5)})),
    SHANGHAI)


@pytest.mark.parametrize(("count", "expected"), [
    (0, date(2026, 11, 30)), (1, date(2026, 12, 1)), (2, date(2026, 12, 2)),
    (3, date(2026, 12, 4)),  # the holiday is skipped
    (4, date(2026, 12, 5)),  # the 调休 Saturday counts
    (5, date(2026, 12, 7)), (6, date(2026, 12, 8)),
])
def test_working_days_after_skip_holidays_and_count_make_up_days(count: int, expected: date) -> None:
    assert CALENDAR.add_working_days(date(2026, 11, 30), count) == expected


def test_working_days_between_count_forward_and_back() -> None:
    monday = date(2026, 11, 30)
    assert CALENDAR.working_days_between(monday, monday) == 0
    assert CALENDAR.working_days_between(monday, date(2026, 12, 7)) == 5
    assert CALENDAR.working_days_between(date(2026, 12, 7), monday) == -5
    assert CALENDAR.working_days_between(date(2026, 12, 2), date(2026, 12, 4)) == 1  # Thursday is a holiday
