"""A district as a hall's shipper meets it over the network: real HTTP on a free port, answering the wire
protocol of issue 19 (through, 200, 409 gap, 401 bad_token, 403 wrong_hall, 400 for a malformed batch), the
events kept by their id. Small enough to see whole; the district/ package's server answers the same."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.serving import make_server

from server.shipment import Batch, ShipmentError
from tests.live import free_port


@dataclass
class Copy:
    """What the district holds of one hall."""

    through: int = 0
    as_of: int = 0
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: every id it was sent, once per batch that carried it (a replayed batch's ids twice)
    sent: list[int] = field(default_factory=list)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class WireDistrict:
    """``halls``: token → hall code. ``answer_all`` set: every request is answered with that status (a district
    behind a proxy whose backend is down answers 502)."""

    def __init__(self, halls: dict[str, str], port: int | None = None):
        self.halls = halls
        self.copies = {code: Copy() for code in halls.values()}
        self.answer_all: int | None = None
        self.authorizations: list[str] = []
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = Flask(__name__)
        app.add_url_rule("/district/api/v1/events/through", view_func=self._through, methods=["GET"])
        app.add_url_rule("/district/api/v1/events", view_func=self._events, methods=["POST"])
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def _hall(self) -> str | ResponseReturnValue:
        self.authorizations.append(request.headers.get("Authorization", ""))
        if self.answer_all is not None:
            return _error(self.answer_all, "unavailable", "暂不可用")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        code = self.halls.get(token) if scheme == "Bearer" else None
        return code if code is not None else _error(401, "bad_token", "令牌无效")

    def _through(self) -> ResponseReturnValue:
        code = self._hall()
        if not isinstance(code, str):
            return code
        copy = self.copies[code]
        return jsonify(through=copy.through, as_of=copy.as_of)

    def _events(self) -> ResponseReturnValue:
        code = self._hall()
        if not isinstance(code, str):
            return code
        try:
            batch = Batch.from_json(request.get_json(silent=True))
        except ShipmentError as exc:
            return _error(400, exc.code, exc.message)
        if batch.hall != code:
            return _error(403, "wrong_hall", "令牌不属于该中心")
        copy = self.copies[code]
        if batch.after > copy.through:
            answer = jsonify(error={"code": "gap", "message": "缺少之前的事件"}, through=copy.through)
            return answer, 409
        copy.sent += [event["id"] for event in batch.events]
        for event in batch.events:
            if event["id"] > copy.through:
                copy.events[event["id"]] = event
        copy.through = max(copy.through, batch.through)
        if batch.as_of >= copy.as_of:
            copy.rows, copy.as_of = batch.rows, batch.as_of
        return jsonify(through=copy.through, as_of=copy.as_of)


def _error(status: int, code: str, message: str) -> ResponseReturnValue:
    return jsonify(error={"code": code, "message": message}), status
