"""The district's own state in PostgreSQL schema ``district``: its halls, their tokens (checked on every request,
so a revoked one stops at once), and the session-signing key. The halls' replicas are district/replica.py's."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, create_engine, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from district import migrations
from district.config import DistrictConfig
from district.models import DistrictHall, HallToken, Secret
from server.auth import token_digest
from server.clock import Clock
from server.config import ConfigError
from server.queue import DomainError

if TYPE_CHECKING:
    from server.shipment import Batch

#: PostgreSQL advisory lock held while schema district is migrated ("hqdist" in ASCII)
_MIGRATION_LOCK = 0x687164697374
_HALL_BY_DIGEST = select(HallToken.hall).where(HallToken.token_hash == bindparam("digest"),
                                                HallToken.revoked_at.is_(None))
SESSION_KEY = "session_key"

#: called after each applied batch is committed, with the hall's code and the batch (the live board, the rollups)
Applied = Callable[[str, "Batch"], None]


@dataclass(frozen=True)
class HallState:
    """A hall as `hallq district halls` and the screens list it."""

    code: str
    name: str
    through: int
    as_of: int
    last_seen_at: datetime | None
    revoked: bool

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "through": self.through, "as_of": self.as_of,
                "last_seen_at": self.last_seen_at.isoformat() if self.last_seen_at else None,
                "revoked": self.revoked}


class DistrictStore:
    def __init__(self, config: DistrictConfig, clock: Clock):
        self.config = config
        self.clock = clock
        self.engine = create_engine(config.database_url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._one_statement = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.on_applied: list[Applied] = []

    def create_schema(self) -> None:
        """Schema district at its newest revision, with a session key; two processes starting at once migrate one
        after the other."""
        with self.engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            migrations.upgrade(connection)
            connection.execute(insert(Secret).values(name=SESSION_KEY, value=secrets.token_hex(32))
                               .on_conflict_do_nothing())

    def upgrade_replicas(self) -> None:
        """Every hall's replica at this hallq's schema, at every start as a hall's own database is: a new hallq's
        migrations reach the replicas without waiting for `hallq district init`."""
        from district.replica import create_replica

        for hall in self.halls():
            create_replica(self.engine, hall.code)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def register(self) -> list[str]:
        """district.toml's halls and tokens into the database (`hallq district init`, idempotent): a new hall gets
        its replica; a hall's other tokens are revoked (its token in district.toml is the one that works). A token
        revoked earlier is refused: revocation is for good. Returns the codes of the halls new to the district."""
        from district.replica import create_replica

        now = self.clock.now()
        new: list[str] = []
        with self.write() as session:
            for i, entry in enumerate(self.config.halls):
                digest = token_digest(entry.token)
                known = session.scalars(select(HallToken).where(HallToken.token_hash == digest)).one_or_none()
                if known is not None and (known.revoked_at is not None or known.hall != entry.code):
                    raise ConfigError(self.config.source, f"halls[{i}].token", None,
                                      "已吊销，请换新令牌" if known.revoked_at is not None else "已属于另一个大厅")
                hall = session.get(DistrictHall, entry.code)
                if hall is None:
                    session.add(DistrictHall(code=entry.code, name=entry.name))
                    new.append(entry.code)
                else:
                    hall.name = entry.name
                session.flush()
                session.execute(update(HallToken).where(HallToken.hall == entry.code, HallToken.token_hash != digest,
                                                        HallToken.revoked_at.is_(None)).values(revoked_at=now))
                if known is None:
                    session.add(HallToken(hall=entry.code, token_hash=digest, created_at=now))
        for entry in self.config.halls:  # each replica at the hall's newest schema (a new hallq's migrations too)
            create_replica(self.engine, entry.code)
        return new

    def hall_of(self, token: str) -> str | None:
        """The hall whose token this is, unless revoked: read on every request."""
        with self._one_statement.connect() as connection:
            row = connection.execute(_HALL_BY_DIGEST, {"digest": token_digest(token)}).first()
        return row[0] if row else None

    def revoke(self, code: str) -> int:
        """Every token of the hall stops working at once; the number revoked."""
        with self.write() as session:
            if session.get(DistrictHall, code) is None:
                raise DomainError("not_found", "hall_not_found", f"没有代码为 {code} 的大厅")
            return session.execute(update(HallToken).where(HallToken.hall == code, HallToken.revoked_at.is_(None))
                                   .values(revoked_at=self.clock.now())).rowcount

    def halls(self) -> list[HallState]:
        """Every hall of the district, by code, with how far its replica has come."""
        live = select(HallToken.id).where(HallToken.hall == DistrictHall.code, HallToken.revoked_at.is_(None))
        with self.write() as session:
            rows = session.execute(select(DistrictHall, live.exists()).order_by(DistrictHall.code))
            return [HallState(h.code, h.name, h.through, h.as_of, h.last_seen_at, not has_token)
                    for h, has_token in rows]

    def secret_key(self) -> str:
        """The session-signing key, made once with the schema: sessions outlive a restart."""
        with self.write() as session:
            return session.scalars(select(Secret.value).where(Secret.name == SESSION_KEY)).one()

    def dispose(self) -> None:
        self.engine.dispose()
