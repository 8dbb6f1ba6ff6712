"""The admin's archive files (档案, 机构建设 5.1 and 5.5, seed lines 303-318): the list, and each file to download
(print the paper copy, keep the electronic one). Admin only; a download is registered in the event log (5.5)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, send_file

from server.archives import month_text
from server.auth import Principal
from server.operations import Answer, File, operation
from server.web import hall

bp = Blueprint("archives_api", __name__, url_prefix="/api")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ArchiveEntry(Answer):
    #: archive-YYYY-MM.xlsx, the name to download it by
    name: str
    #: YYYY-MM
    month: str
    #: bytes
    size: int
    made_at: dt.datetime


class ArchiveList(Answer):
    archives: list[ArchiveEntry]


@operation(bp, "get", "/archives", summary="The month files of the duty log, enquiries and closed complaints, "
           "newest first (admin)", tag="archives", roles=("admin",), answer=ArchiveList)
def archive_list() -> dict[str, Any]:
    zone = hall().config.timezone
    return {"archives": [{"name": f.name, "month": month_text(f.month), "size": f.size,
                          "made_at": f.made_at.astimezone(zone).isoformat()} for f in hall().archives.files()]}


@operation(bp, "get", "/archives/<name>", summary="One month file as XLSX (admin); 404 for a name the server did not "
           "make", tag="archives", roles=("admin",), answer=File(XLSX), errors=(404,))
def archive_file(name: str, who: Principal) -> Response:
    archives = hall().archives
    path = archives.file(name)
    archives.downloaded(name, who.actor)
    return send_file(path, mimetype=XLSX, as_attachment=True, download_name=f"登记档案-{name[len('archive-'):]}",
                     max_age=0)
