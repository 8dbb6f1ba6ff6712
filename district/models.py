"""The district's own tables, in PostgreSQL schema ``district`` (each hall's replica has a schema of its own,
district/replica.py). Created and upgraded by district/migrations, never by create_all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.models import UTCDateTime

SCHEMA = "district"


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA)


class DistrictHall(Base):
    """A hall of district.toml and how far its replica has come."""

    __tablename__ = "halls"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    #: the last of the hall's event ids the replica holds (every one up to it, exactly once)
    through: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: the hall's event id its replicated rows were read at
    as_of: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the tables of the hall's config.toml its figures need, as it last shipped them (server/shipment.py
    #: figures_config; server/config.py config_from_data reads them)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class HallToken(Base):
    """A hall's token, by its sha256 only; a revoked one stays for the record and is refused at once."""

    __tablename__ = "hall_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hall: Mapped[str] = mapped_column(String(32), ForeignKey("halls.code"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DistrictUser(Base):
    """A district admin, who reads every hall's figures."""

    __tablename__ = "district_users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(64))
    #: wrong passwords in a row; LOCK_AFTER of them lock the account until locked_until
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: raised to end every session of the account (a session cookie carries the epoch it was signed with)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Secret(Base):
    """The district server's own secrets (the session-signing key), made once by `hallq district init`: the
    district has no instance folder, its state is the database."""

    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
