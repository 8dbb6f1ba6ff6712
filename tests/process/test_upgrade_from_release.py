"""A hall installed with the first release (commit 64c408b) takes this version without losing anything.

The old hall is made by the release's own code, taken from git history and run in a child process over its own
config.toml: accounts, a device token, tickets issued, called and finished, an appointment, a rating from the phone.
This version then opens the same database (Storage.create_schema upgrades it in place) with the same config.toml, and
every record is there, the old password logs in, the old device token works, and the schema is a fresh install's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from datetime import datetime
from io import BytesIO
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select

from server.app import Settings, create_app
from server.clock import ManualClock
from server.config import load_config
from server.hall import Hall
from server.models import Appointment, Base, Evaluation, Ticket
from tests.conftest import SHANGHAI
from tests.live import ROOT

RELEASE = "64c408b"
PASSWORD = "release-password-2026"
MONDAY_9 = "2026-11-30T09:00:00+08:00"

#: run by the release's code: fills a hall as its users would, prints what it was told
OLD_HALL = f"""
import json, sys
from datetime import datetime
from pathlib import Path
from server.app import Settings, create_app
from server.clock import ManualClock

config, instance, url = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
clock = ManualClock(datetime.fromisoformat({MONDAY_9!r}))
app = create_app(Settings(config, instance, url, clock), async_mode="threading")
hall = app.extensions["hallq"]
hall.accounts.add_user("clerk9", "clerk", {PASSWORD!r}, display_name="王九", staff_no="1009")
hall.accounts.add_user("guide9", "guide", {PASSWORD!r}, display_name="导询")
token = hall.accounts.add_device("kiosk-9", "kiosk")
kiosk = app.test_client()
kiosk.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {{token}}"
tickets = [kiosk.post("/api/tickets", json={{"service": "hukou-id"}}).json["ticket"] for _ in range(3)]
clerk = app.test_client()
assert clerk.post("/api/auth/login", json={{"username": "clerk9", "password": {PASSWORD!r}}}).status_code == 200
assert clerk.post("/api/windows/1/sign-in").status_code == 200
assert clerk.post("/api/windows/1/call-next").status_code == 200
assert clerk.post("/api/windows/1/finish").status_code == 200
track = tickets[0]["track_url"].split("/t/", 1)[1]
rated = app.test_client().post(f"/t/{{track}}/rate", json={{"level": "satisfied"}})
assert rated.status_code == 200, rated.json
guide = app.test_client()
assert guide.post("/api/auth/login", json={{"username": "guide9", "password": {PASSWORD!r}}}).status_code == 200
booked = guide.post("/api/appointments", json={{"service": "hukou-id", "date": "2026-12-01", "slot": "09:00",
    "kind": "window", "channel": "phone", "name": "张三", "phone": "13800001234", "id_last6": "12345X"}})
assert booked.status_code == 201, booked.json
app.extensions["hallq_stop"]()
hall.storage.dispose()
print(json.dumps({{"token": token, "numbers": [t["number"] for t in tickets],
                  "appointment": booked.json["appointment"]["code"]}}))
"""


def release_tree(folder: Path) -> Path:
    """The release's files, from git history (an install from a source archive has none: nothing to compare)."""
    found = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{RELEASE}^{{commit}}"], capture_output=True)
    if found.returncode != 0:
        pytest.skip(f"commit {RELEASE} is not in this checkout's history (a shallow clone?)")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", RELEASE, "server", "config.toml", "static",
                              "kiosk", "caller", "display", "track", "windowscreen", "evaluator", "admin", "guide"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


@pytest.mark.slow
def test_a_release_hall_upgrades_with_every_record_login_and_token(tmp_path: Path, database_url: str) -> None:
    old = release_tree(tmp_path / "release")
    config = tmp_path / "config.toml"  # the hall's own config.toml, as that release shipped it
    config.write_bytes((old / "config.toml").read_bytes())
    instance = tmp_path / "instance"
    made = subprocess.run([sys.executable, "-c", OLD_HALL, str(config), str(instance), database_url], cwd=old,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(old), "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr[-3000:]
    told = json.loads(made.stdout.strip().splitlines()[-1])

    load_config(config)  # the release's config.toml still loads: no key to change
    clock = ManualClock(datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI))
    app = create_app(Settings(config, instance, database_url, clock), async_mode="threading")
    hall: Hall = app.extensions["hallq"]
    try:
        with hall.storage.read() as session:
            numbers = session.scalars(select(Ticket.number).order_by(Ticket.id)).all()
            statuses = session.scalars(select(Ticket.status).order_by(Ticket.id)).all()
            ratings = session.scalars(select(Evaluation.level)).all()
            codes = session.scalars(select(Appointment.code)).all()
        assert numbers == told["numbers"] and statuses == ["done", "waiting", "waiting"]
        assert "satisfied" in ratings and codes == [told["appointment"]]

        clerk = app.test_client()
        login = clerk.post("/api/auth/login", json={"username": "clerk9", "password": PASSWORD})
        assert login.status_code == 200 and login.json["user"]["name"] == "王九"
        kiosk = app.test_client()
        kiosk.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {told['token']}"
        ticket = kiosk.post("/api/tickets", json={"service": "hukou-id"})
        assert ticket.status_code == 201 and ticket.json["ticket"]["number"] == "A004"  # the day's numbers go on

        engine = create_engine(database_url)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        engine.dispose()
        assert differences == [], "the upgraded schema differs from a fresh install's"
    finally:
        app.extensions["hallq_stop"]()
        hall.storage.dispose()
