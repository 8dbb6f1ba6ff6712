"""The archive files on the admin's page (issue 16 point 8; 档案管理 5.1 and 5.5): listed and downloaded by the admin
alone, each download registered; only the names the server made, of files that exist, are served."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import load_workbook
from sqlalchemy import select

from server.models import TicketEvent
from tests.api.conftest import HallApp
from tests.conftest import SHANGHAI

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_the_admin_lists_and_downloads_an_archive_nobody_else_can(hall_app: HallApp) -> None:
    """November's enquiry, archived on 1 December: the admin gets the very file; guide, clerk and devices 403."""
    hall = hall_app.hall
    hall.desk.register_enquiry("phone", "社保卡补办", "guide", who="李四", contact="13900000000")
    hall_app.clock.set(datetime(2026, 12, 1, 9, tzinfo=SHANGHAI))
    made = hall.archives.make(datetime(2026, 11, 1).date(), "admin")
    admin = hall_app.staff("admin")
    listing = admin.get("/api/archives")
    assert listing.status_code == 200
    [entry] = listing.json["archives"]
    assert entry["name"] == "archive-2026-11.xlsx" and entry["month"] == "2026-11"
    assert entry["size"] == made.path.stat().st_size
    answer = admin.get("/api/archives/archive-2026-11.xlsx")
    assert answer.status_code == 200 and answer.mimetype == XLSX
    assert answer.data == made.path.read_bytes()
    assert "attachment" in answer.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(answer.data))["来电来访登记"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    assert rows == [[1, "2026-11-30", "09:00", "来电", "李四", "13900000000", "社保卡补办", None, None, "guide"]]
    with hall.storage.read() as session:
        [event] = session.scalars(select(TicketEvent).where(TicketEvent.action == "archive_downloaded")).all()
    assert (event.actor, event.detail) == ("admin", {"file": "archive-2026-11.xlsx"})
    for client in (hall_app.staff("guide"), hall_app.staff("clerk1"), hall_app.kiosk(), hall_app.display()):
        for path in ("/api/archives", "/api/archives/archive-2026-11.xlsx"):
            refused = client.get(path)
            assert refused.status_code == 403, (path, refused.json)
            assert refused.json["error"]["code"] == "forbidden"
    assert hall_app.app.test_client().get("/api/archives/archive-2026-11.xlsx").status_code == 401


def test_only_the_names_the_server_made_are_served(hall_app: HallApp) -> None:
    """A month without a file, another name in the folder, the instance's secret key, a way out of the folder: 404."""
    hall = hall_app.hall
    hall.secret_key()
    hall.archives.folder.mkdir(mode=0o700, parents=True)
    (hall.archives.folder / "notes.xlsx").write_bytes(b"not ours")
    admin = hall_app.staff("admin")
    assert admin.get("/api/archives").json == {"archives": []}
    for name in ("archive-2026-10.xlsx", "notes.xlsx", "archive-2026-13.xlsx", "secret_key", "..%2Fsecret_key",
                 "..%2F..%2Finstance%2Fsecret_key"
                 "%2E%2E"):
        missing = admin.get(f"/api/archives/{name}")
        assert missing.status_code == 404, name
        assert b"not ours" not in missing.data and hall.secret_key().encode() not in missing.data
    assert admin.get("/api/archives/../secret_key").status_code == 404
    assert admin.get("/api/archives/archive-2026-10.xlsx%00").status_code == 400  # the input guard: no NUL
