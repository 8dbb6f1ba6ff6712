"""district.toml: the district, its PostgreSQL database and its halls, validated once at start-up with errors by key
and line as config.toml's (server/config.py's machinery)."""

from __future__ import annotations

import os
from dataclasses import field
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from server.config import ConfigError, Zone, parse_toml
from server.config_types import Text, config_table, matching, refuse

#: the environment's database address wins over district.toml's (a password kept out of the file)
DATABASE_VARIABLE = "HALLQ_DISTRICT_DATABASE_URL"
#: a hall token shorter than this is guessable
MIN_TOKEN = 24


def _not_postgresql(url: str) -> str | None:
    """What is wrong with a database address, None for PostgreSQL's: the district keeps every hall's replica in a
    schema of its own, which SQLite has not."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        return "not a database address; postgresql+psycopg://user@host/database"
    if backend != "postgresql":
        return f"{backend}: the district server needs PostgreSQL (postgresql+psycopg://user@host/database)"
    return None


@config_table
class DistrictTable:
    """district.toml ``[district]``."""

    name: Text
    #: postgresql+psycopg://user@host/database; the environment's HALLQ_DISTRICT_DATABASE_URL, when set, wins
    database_url: Text
    timezone: Zone = ZoneInfo("Asia/Shanghai")

    @field_validator("database_url")
    @classmethod
    def _on_postgresql(cls, url: str) -> str:
        problem = _not_postgresql(url)
        if problem:
            raise refuse(problem)
        return url


@config_table
class HallEntry:
    """district.toml ``[[halls]]``: a hall that ships its events here."""

    code: matching(r"^[a-z0-9][a-z0-9_-]{0,31}$", "{shown}: lower-case letters, digits, - and _ (at most 32)")
    name: Text
    #: what the hall's config.toml has as [district] token; only its sha256 is stored
    token: Text

    @field_validator("token")
    @classmethod
    def _long_enough(cls, token: str) -> str:
        if len(token) < MIN_TOKEN:
            raise refuse(f"at least {MIN_TOKEN} characters (e.g. python3 -c 'import secrets; "
                         "print(secrets.token_urlsafe(32))')")
        return token


@config_table
class DistrictConfig:
    """The whole of district.toml."""

    district: DistrictTable
    halls: tuple[HallEntry, ...] = ()
    source: str = field(default="district.toml", init=False)

    @field_validator("halls")
    @classmethod
    def _apart(cls, halls: tuple[HallEntry, ...]) -> tuple[HallEntry, ...]:
        for i, hall in enumerate(halls):
            if any(h.code == hall.code for h in halls[:i]):
                raise refuse(f"duplicate hall code {hall.code!r}", i, "code")
            if any(h.token == hall.token for h in halls[:i]):
                raise refuse("two halls share this token: give each hall its own", i, "token")
        return halls

    @property
    def name(self) -> str:
        return self.district.name

    @property
    def timezone(self) -> ZoneInfo:
        return self.district.timezone

    @property
    def database_url(self) -> str:
        return self.district.database_url

    def hall(self, code: str) -> HallEntry | None:
        return next((h for h in self.halls if h.code == code), None)


def parse_district(text: str, source: str = "district.toml", environ: dict[str, str] | None = None) -> DistrictConfig:
    """district.toml's text, with HALLQ_DISTRICT_DATABASE_URL (when set) in place of its database_url."""
    config = parse_toml(text, source, DistrictConfig)
    given = (os.environ if environ is None else environ).get(DATABASE_VARIABLE)
    if given:
        problem = _not_postgresql(given)
        if problem:
            raise ConfigError(DATABASE_VARIABLE, "district.database_url", None, problem)
        object.__setattr__(config.district, "database_url", given)
    object.__setattr__(config, "source", source)
    return config


def load_district(path: str | Path) -> DistrictConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", None, "config file not found") from None
    return parse_district(text, str(path))
