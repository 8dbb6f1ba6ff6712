"""REST for the admin's account screens: staff (add, correct, reset a password, disable) and devices (register,
replace a token, revoke). The token of a device is shown once, with the screen's address and its QR code."""

from __future__ import annotations

import base64
from typing import Any

import qrcode
import qrcode.image.svg
from flask import Blueprint, jsonify, request

from server.queue import DomainError
from server.web import body, field, hall, require

bp = Blueprint("accounts_api", __name__, url_prefix="/api")


@bp.get("/staff")
def staff_list() -> Any:
    require("admin")
    return jsonify({"staff": hall().accounts.roster()})


@bp.post("/staff")
def staff_add() -> Any:
    require("admin")
    data = body()
    username = field(data, "username", str).strip()
    hall().accounts.add_user(username, field(data, "role", str), field(data, "password", str),
                             field(data, "name", str, required=False), field(data, "staff_no", str, required=False)
                             or "", new_only=True)
    return jsonify({"staff": _member(username)}), 201


@bp.patch("/staff/<username>")
def staff_edit(username: str) -> Any:
    require("admin")
    data = body()
    hall().accounts.update_staff(username, field(data, "name", str, required=False),
                                 field(data, "staff_no", str, required=False), field(data, "role", str, required=False))
    return jsonify({"staff": _member(username)})


@bp.post("/staff/<username>/password")
def staff_reset_password(username: str) -> Any:
    """重置密码: the admin sets a new one; the member's open sessions end."""
    who = require("admin")
    hall().accounts.reset_password(username, field(body(), "password", str), who.actor)
    return jsonify({"staff": _member(username)})


@bp.post("/staff/<username>/disable")
def staff_disable(username: str) -> Any:
    """停用: the member cannot log in and is logged out; the records they made stay."""
    who = require("admin")
    if username == who.name:
        raise DomainError("conflict", "disable_self", "不能停用自己的账号：请由另一位管理员操作")
    hall().accounts.set_disabled(username, True, who.actor)
    return jsonify({"staff": _member(username)})


@bp.post("/staff/<username>/enable")
def staff_enable(username: str) -> Any:
    who = require("admin")
    hall().accounts.set_disabled(username, False, who.actor)
    return jsonify({"staff": _member(username)})


def _member(username: str) -> dict[str, Any]:
    member = next((m for m in hall().accounts.roster() if m["username"] == username), None)
    if member is None:
        raise DomainError("not_found", "staff_not_found", f"没有用户名为 {username} 的工作人员")
    return member


@bp.get("/devices")
def device_list() -> Any:
    require("admin")
    evaluators = hall().config.evaluation
    return jsonify({"devices": [{**d, "window": evaluators.window_of(d["name"]) if d["kind"] == "evaluator" else None}
                                for d in hall().accounts.devices()]})


@bp.post("/devices")
def device_add() -> Any:
    require("admin")
    data = body()
    name, kind = field(data, "name", str).strip(), field(data, "kind", str)
    return jsonify(_issued(name, kind, hall().accounts.add_device(name, kind, new_only=True))), 201


@bp.post("/devices/<name>/replace")
def device_replace(name: str) -> Any:
    """更换令牌: the old token stops working at once (a lost or stolen tablet)."""
    require("admin")
    kind = hall().accounts.device_kind(name)
    return jsonify(_issued(name, kind, hall().accounts.add_device(name, kind)))


@bp.post("/devices/<name>/revoke")
def device_revoke(name: str) -> Any:
    who = require("admin")
    hall().accounts.revoke_device(name, who.actor)
    return jsonify({"device": next(d for d in hall().accounts.devices() if d["name"] == name)})


def _issued(name: str, kind: str, token: str) -> dict[str, Any]:
    """The token, once, with the address that opens the device's screen and a QR code of it."""
    address = screen_address(name, kind, token)
    return {"device": {"name": name, "kind": kind}, "token": token, "address": address,
            "qr": qr_data_url(address) if address else None}


def screen_address(name: str, kind: str, token: str) -> str | None:
    """The screen a device of this kind opens; a rating tablet without a window in config.toml has none yet."""
    base = hall().config.public_url or request.host_url.rstrip("/")
    if kind == "evaluator":
        window = hall().config.evaluation.window_of(name)
        if window is None:
            return None
        return f"{base}/rate/{window}#token={token}"
    return f"{base}/{kind}#token={token}"


def qr_data_url(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()
