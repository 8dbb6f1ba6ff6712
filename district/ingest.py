"""Where the halls' batches arrive (issue 19's wire protocol): POST /district/api/v1/events applies a batch to the
hall's replica in one transaction with the hall's row locked, so two shippers of one hall (a restarted process, a
cluster's leader changing) apply one after the other and every event lands exactly once; GET …/events/through says
where the shipper starts. The bearer token names the hall and is looked up on every request: revoked, refused."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError

from district.models import DistrictHall
from district.replica import search_path
from district.store import DistrictStore
from server.queue import DomainError
from server.shipment import Batch, ShipmentError, apply

bp = Blueprint("district_ingest", __name__, url_prefix="/district/api/v1")
#: a batch's largest body: [district] batch_events events (500 by default) with their rows fit well within it
MAX_BODY = 8 * 1024 * 1024


def store() -> DistrictStore:
    return current_app.extensions["district"]


def _hall() -> str:
    """The hall the bearer token belongs to; 401 bad_token for none, an unknown or a revoked one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise DomainError("unauthorized", "bad_token", "需要大厅令牌：Authorization: Bearer <令牌>")
    code = store().hall_of(token)
    if code is None:
        raise DomainError("unauthorized", "bad_token", "大厅令牌无效或已吊销")
    return code


def _batch(code: str) -> Batch:
    data = request.get_json(silent=True)  # a body over MAX_BODY: 413 before it is read
    if not isinstance(data, dict):
        raise DomainError("bad_request", "bad_json", "请求体必须是 JSON 对象")
    try:
        batch = Batch.from_json(data)
    except ShipmentError as exc:
        raise DomainError("bad_request", exc.code, exc.message) from None
    if batch.hall != code:
        raise DomainError("forbidden", "wrong_hall", f"此令牌属于大厅 {code}，不能写入大厅 {batch.hall} 的数据")
    return batch


@bp.post("/events")
def events() -> Any:
    code = _hall()
    batch = _batch(code)
    district = store()
    with district.write() as session:
        hall = session.scalars(select(DistrictHall).where(DistrictHall.code == code).with_for_update()).one()
        before = (hall.through, hall.as_of)
        if batch.after > hall.through:
            return _gap(hall.through)
        search_path(session, code)
        try:
            hall.through, hall.as_of = apply(session, batch, through=hall.through, as_of=hall.as_of)
        except ShipmentError as exc:
            raise DomainError("bad_request", exc.code, exc.message) from None
        except (DataError, IntegrityError):  # a row the hall's tables cannot hold: rolled back, nothing filed
            raise DomainError("bad_request", "bad_row", "批次中有行不符合大厅的表结构") from None
        hall.last_seen_at = district.clock.now()
        if batch.config:
            hall.config = batch.config
        after = (hall.through, hall.as_of)
    if after != before:
        _applied(district, code, batch)
    return {"through": after[0], "as_of": after[1]}


def _gap(through: int) -> tuple[Response, int]:
    """The district lacks events before the batch's: the shipper starts again from ``through``."""
    return jsonify({"error": {"code": "gap", "message": f"区里只收到第 {through} 号事件为止，请从那里重发"},
                    "through": through}), 409


def _applied(district: DistrictStore, code: str, batch: Batch) -> None:
    """The hooks (the live board, the day rollups) after the commit; one failing neither fails the hall's batch
    (it is applied) nor keeps the others from running. They run in the request: each hands slow work off."""
    for hook in district.on_applied:
        try:
            hook(code, batch)
        except Exception:
            logging.getLogger(__name__).exception("on_applied hook failed for hall %s", code)


@bp.get("/events/through")
def through() -> dict[str, Any]:
    code = _hall()
    with store().write() as session:
        hall = session.get(DistrictHall, code)
        assert hall is not None  # a token's hall row exists (foreign key)
        return {"through": hall.through, "as_of": hall.as_of}
