"""A replica is the hall's own schema, so a newer hallq's migrations must reach it as they reach a hall: the district
server upgrades every hall's replica when it starts, keeping what the replica holds."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from district.app import create_app
from district.config import parse_district
from district.replica import ReplicaStorage
from server.clock import ManualClock
from tests.district.conftest import district_text, store
from tests.old_hall import ROWS, head_revision, make_old_database, stored_rows


def test_the_district_upgrades_an_older_replica_when_it_starts(district_url: str, clock: ManualClock) -> None:
    config = parse_district(district_text(district_url), environ={})
    first = create_app(config, clock, async_mode="threading")
    store(first).register()
    store(first).dispose()
    engine = create_engine(district_url)
    with engine.begin() as connection:  # dongcheng's replica as an older hallq left it, with its rows
        connection.execute(text('DROP SCHEMA "hall_dongcheng" CASCADE'))
        connection.execute(text('CREATE SCHEMA "hall_dongcheng"'))
    engine.dispose()
    old = f"{district_url}?options=-csearch_path%3Dhall_dongcheng"
    make_old_database(old)

    app = create_app(config, clock, async_mode="threading")
    try:
        with ReplicaStorage(store(app).engine, "dongcheng").read() as session:
            assert session.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
        assert stored_rows(old) == ROWS
    finally:
        store(app).dispose()
