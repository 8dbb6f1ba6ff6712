"""The building blocks of config.toml's models: strict values, bounded numbers and how a model refuses a value.

The models (server.config, server.calendar, server.printing.settings, server.voice.settings) are frozen
dataclasses that pydantic v2 validates: pydantic is the project's one schema library (the API's bodies use it too
and it generates their JSON Schema), and dataclasses keep the settings the code already reads, positional
construction and ``dataclasses.asdict`` included. This module imports only pydantic and the standard library, so
any settings module can use it without pulling in the voice engine, gevent or the printer library.

A model never words its own error as pydantic would: it raises ``refuse(message, *key)`` for a rule of the hall,
or declares the wording of a type or range error with ``Says``; server.config turns either into
``config.toml:LINE: KEY: message``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BeforeValidator, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr
from pydantic_core import PydanticCustomError

from server.clock import calendar_day, wall_time

#: Every table of config.toml: an unknown key is refused (a typo must not load silently), settings are frozen.
TABLE = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

#: The pydantic error type of a hall rule; its context holds the message and the key below the value's own.
REFUSED = "hallq"

_KIND_NAMES: dict[Any, str] = {int: "an integer", str: "a string", list: "a list", dict: "a table",
                               bool: "true/false", float: "a number"}

T = TypeVar("T")

Text = StrictStr
Flag = StrictBool
Integer = StrictInt


def config_table(cls: type[T]) -> type[T]:
    """A table of config.toml: a frozen dataclass that pydantic validates, refusing unknown keys.

    A plain dataclass, not pydantic's: only config.toml is validated (by server.config); code and tests that build
    settings directly (a ticket layout of one field, a printer in a mode the renderer must refuse) are not."""
    cls.__pydantic_config__ = TABLE  # type: ignore[attr-defined]
    return dataclass(frozen=True)(cls)


def kind_name(kind: type) -> str:
    """A TOML value's type as an error names it: "an integer", "a table"."""
    return _KIND_NAMES.get(kind, kind.__name__)


def refuse(message: str, *key: str | int) -> PydanticCustomError:
    """A value breaks a rule of the hall; ``key`` continues the path of the value validated (e.g. ``"end"``)."""
    return PydanticCustomError(REFUSED, "{message}", {"message": message, "key": key})


@dataclass(frozen=True)
class Says:
    """How config.toml's errors about one key read, instead of pydantic's English.

    ``kind``: a value of the wrong type; ``range``: out of its bounds; ``choice``: not one of the allowed values
    (``{shown}`` is the value as written); ``pattern``: not of the form asked (``{shown}`` too).
    """

    kind: str = ""
    range: str = ""
    choice: str = ""
    pattern: str = ""


def between(low: int, high: int | None = None, unit: str = "", words: str = "") -> Any:
    """An integer within bounds; out of them it reads "must be between 1 and 999 (unit)", "must be 0 or more" or
    ``words``."""
    if high is None:
        return Annotated[StrictInt, Field(ge=low), Says(range=words or f"must be {low} or more")]
    return Annotated[StrictInt, Field(ge=low, le=high),
                     Says(range=words or f"must be between {low} and {high}" + (f" ({unit})" if unit else ""))]


def seconds(low: float, high: float) -> Any:
    """A number of seconds within bounds (an integer is accepted and kept as a float)."""
    return Annotated[StrictFloat, Field(ge=low, le=high), BeforeValidator(_as_float),
                     Says(kind="must be a number of seconds", range=f"must be between {low:g} and {high:g} seconds")]


def fraction(words: str) -> Any:
    """A number above 0 and at most 1 (a volume, a rate); ``words`` is the one error for any wrong value."""
    return Annotated[StrictFloat, Field(gt=0, le=1), BeforeValidator(_as_float), Says(kind=words, range=words)]


def choice(values: Sequence[str | int], words: str) -> Any:
    """One of a few values; ``words`` names them, with ``{shown}`` for the value written."""
    return Annotated[Literal[tuple(values)], Says(choice=words)]


def matching(pattern: str, words: str) -> Any:
    """A string of a given form (a service code, a ticket prefix)."""
    return Annotated[StrictStr, Field(pattern=pattern), Says(pattern=words)]


def _as_float(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def shown(value: Any) -> str:
    """A value as an error quotes it: a string in quotes, anything else as TOML wrote it."""
    return repr(value) if isinstance(value, str) else str(value)


# ---------------------------------------------------------------- times of day, weekdays, dates, lists of text

def _time_of_day(value: Any, end: bool) -> time | None:
    """ "08:30" (or "8:30") or a TOML time 08:30:00; an end may be "24:00" (None: the end of the day)."""
    if value is None and end:
        return None
    if isinstance(value, time) and not value.second and not value.microsecond:
        return value
    text = value.strip() if isinstance(value, str) else None
    if end and text == "24:00":
        return None
    at = wall_time(text.zfill(5)) if text is not None else None
    if at is not None:
        return at
    raise refuse(f"{shown(value)}: a time of day \"HH:MM\" such as \"08:30\"" + (" or \"24:00\"" if end else ""))


TimeOfDay = Annotated[time, BeforeValidator(lambda value: _time_of_day(value, end=False))]
#: an end of a session: "24:00" is None
EndOfDay = Annotated[time | None, BeforeValidator(lambda value: _time_of_day(value, end=True))]


def _weekdays(days: Any) -> Any:
    """ISO weekdays, each once, kept sorted."""
    if not isinstance(days, list | tuple):
        return days  # pydantic: "must be a list"
    bad = [d for d in days if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7]
    if bad or not days:
        raise refuse((f"{shown(bad[0])}: " if bad else "") + "weekdays 1 (Monday) to 7 (Sunday)")
    if len(set(days)) != len(days):
        raise refuse("a weekday is listed twice")
    return tuple(sorted(days))


Weekdays = Annotated[tuple[int, ...], BeforeValidator(_weekdays)]
WORKING_WEEK: tuple[int, ...] = (1, 2, 3, 4, 5)


def dates_of(values: list[Any] | tuple[Any, ...]) -> list[date]:
    """Dates such as 2026-10-01 or "2026-10-01", in the order written."""
    days: list[date] = []
    for k, value in enumerate(values):
        day = value if isinstance(value, date) and not isinstance(value, datetime) else None
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = calendar_day(value)  # None for 2026-02-30
        if day is None:
            raise refuse(f"{shown(value)}: a date such as 2026-10-01 or \"2026-10-01\"", k)
        days.append(day)
    return days


Dates = Annotated[frozenset[date],
                  BeforeValidator(lambda v: frozenset(dates_of(v)) if isinstance(v, list | tuple) else v)]


def _reasons(values: Any) -> Any:
    """Short texts offered to pick from (reasons of a poor rating, of a 退回件): each once, stripped."""
    if not isinstance(values, list | tuple):
        return values
    if not values:
        raise refuse("at least one entry")
    for k, value in enumerate(values):
        if not isinstance(value, str) or not value.strip() or len(value) > 40:
            raise refuse(f"entry {k + 1}: a non-empty string of at most 40 characters")
    if len(set(values)) != len(values):
        raise refuse("an entry is listed twice")
    return tuple(v.strip() for v in values)


Reasons = Annotated[tuple[str, ...], BeforeValidator(_reasons)]
