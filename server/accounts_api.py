"""REST for the admin's account screens: staff (add, correct, reset a password, disable) and devices (register,
replace a token, revoke). The token of a device is shown once, with the screen's address and its QR code."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import qrcode
import qrcode.image.svg
from flask import Blueprint, request
from pydantic import Field

from server.auth import DEVICE_KINDS, STAFF_ROLES, DeviceKind, Principal, StaffRole
from server.operations import Answer, Body, operation
from server.queue import DomainError
from server.web import hall

bp = Blueprint("accounts_api", __name__, url_prefix="/api")
ADMIN = ("admin",)

# ---------------------------------------------------------------- staff


class StaffMember(Answer):
    username: str
    #: the name the screens show (王小红)
    name: str
    #: 工号
    staff_no: str
    role: StaffRole
    #: 党员: the window screen shows 党员 by their name (场所设施标准 2.1.5)
    party_member: bool
    disabled: bool
    disabled_at: datetime | None
    #: logins with this username are being delayed a few seconds after many wrong passwords (someone may be
    #: guessing); never a lock
    locked: bool


class Roster(Answer):
    staff: list[StaffMember]


class Member(Answer):
    staff: StaffMember


class NewMember(Body):
    username: str
    #: a role the hall knows; another is 422 bad_role (the accounts' own check, with its message)
    role: str = Field(json_schema_extra={"enum": list(STAFF_ROLES)})
    #: at least 8 characters, not a common one (else 422 weak_password)
    password: str
    #: the name the screens show; the username when none
    name: str | None = None
    #: 工号
    staff_no: str | None = None
    #: 党员
    party_member: bool = False


class MemberCard(Body):
    """What the admin corrects; a field not given stays as it is."""

    name: str | None = None
    #: 工号
    staff_no: str | None = None
    role: str | None = Field(None, json_schema_extra={"enum": list(STAFF_ROLES)})
    #: 党员
    party_member: bool | None = None


class NewPassword(Body):
    #: at least 8 characters, not a common one (else 422 weak_password)
    password: str


@operation(bp, "get", "/staff", summary="Every staff account, disabled ones too (admin)", tag="accounts",
           roles=ADMIN, answer=Roster)
def staff_list() -> dict[str, Any]:
    return {"staff": hall().accounts.roster()}


@operation(bp, "post", "/staff", summary="Add a staff account (admin); 409 username_taken", tag="accounts",
           roles=ADMIN, body=NewMember, answer=Member, status=201, errors=(409,))
def staff_add(data: NewMember) -> dict[str, Any]:
    username = data.username.strip()
    hall().accounts.add_user(username, data.role, data.password, data.name, data.staff_no or "", new_only=True,
                             party_member=data.party_member)
    return {"staff": _member(username)}


@operation(bp, "patch", "/staff/<username>", summary="Correct name, 工号, role or 党员 (admin); 409 "
           "last_admin: the hall keeps an enabled admin", tag="accounts", roles=ADMIN, body=MemberCard,
           body_required=False, answer=Member, errors=(404, 409))
def staff_edit(username: str, data: MemberCard) -> dict[str, Any]:
    hall().accounts.update_staff(username, data.name, data.staff_no, data.role, data.party_member)
    return {"staff": _member(username)}


@operation(bp, "post", "/staff/<username>/password", summary="Reset the password (admin): the member's sessions end",
           tag="accounts", roles=ADMIN, body=NewPassword, answer=Member, errors=(404, 409))
def staff_reset_password(username: str, who: Principal, data: NewPassword) -> dict[str, Any]:
    """重置密码: the admin sets a new one; the member's open sessions end."""
    hall().accounts.reset_password(username, data.password, who.actor)
    return {"staff": _member(username)}


@operation(bp, "post", "/staff/<username>/disable", summary="Disable (admin): no login, sessions end, records stay; "
           "409 disable_self", tag="accounts", roles=ADMIN, answer=Member, errors=(404, 409))
def staff_disable(username: str, who: Principal) -> dict[str, Any]:
    """停用: the member cannot log in and is logged out; the records they made stay."""
    if username == who.name:
        raise DomainError("conflict", "disable_self", "不能停用自己的账号：请由另一位管理员操作")
    hall().accounts.set_disabled(username, True, who.actor)
    return {"staff": _member(username)}


@operation(bp, "post", "/staff/<username>/enable", summary="Enable a disabled account (admin)", tag="accounts",
           roles=ADMIN, answer=Member, errors=(404, 409))
def staff_enable(username: str, who: Principal) -> dict[str, Any]:
    hall().accounts.set_disabled(username, False, who.actor)
    return {"staff": _member(username)}


def _member(username: str) -> dict[str, Any]:
    member = next((m for m in hall().accounts.roster() if m["username"] == username), None)
    if member is None:
        raise DomainError("not_found", "staff_not_found", f"没有用户名为 {username} 的工作人员")
    return member


# ---------------------------------------------------------------- devices


class Device(Answer):
    name: str
    kind: DeviceKind
    last_seen_at: datetime | None
    revoked: bool
    revoked_at: datetime | None


class DeviceEntry(Device):
    #: a rating tablet's window ([[evaluation.evaluators]]); null for other kinds
    window: int | None


class Devices(Answer):
    devices: list[DeviceEntry]


class Revoked(Answer):
    device: Device


class DeviceName(Answer):
    name: str
    kind: DeviceKind


class IssuedToken(Answer):
    """Shown once: only its digest is stored."""

    device: DeviceName
    token: str
    #: the device's screen with #token=…; null for a rating tablet no window is bound to
    address: str | None
    #: a data:image/svg+xml;base64 QR code of the address
    qr: str | None


class NewDevice(Body):
    name: str
    #: a kind the hall knows; another is 422 bad_kind
    kind: str = Field(json_schema_extra={"enum": list(DEVICE_KINDS)})


@operation(bp, "get", "/devices", summary="Every device with last seen, revoked and a rating tablet's window (admin)",
           tag="accounts", roles=ADMIN, answer=Devices)
def device_list() -> dict[str, Any]:
    evaluators = hall().config.evaluation
    return {"devices": [{**d, "window": evaluators.window_of(d["name"]) if d["kind"] == "evaluator" else None}
                        for d in hall().accounts.devices()]}


@operation(bp, "post", "/devices", summary="Register a device (admin): its token once, with the screen's address and "
           "QR code; 409 device_taken", tag="accounts", roles=ADMIN, body=NewDevice, answer=IssuedToken, status=201,
           errors=(409,))
def device_add(data: NewDevice) -> dict[str, Any]:
    name = data.name.strip()
    return _issued(name, data.kind, hall().accounts.add_device(name, data.kind, new_only=True))


@operation(bp, "post", "/devices/<name>/replace", summary="A new token (admin): the old one stops working; a revoked "
           "device works again", tag="accounts", roles=ADMIN, answer=IssuedToken, errors=(404, 409))
def device_replace(name: str) -> dict[str, Any]:
    """更换令牌: the old token stops working at once (a lost or stolen tablet)."""
    kind = hall().accounts.device_kind(name)
    return _issued(name, kind, hall().accounts.add_device(name, kind))


@operation(bp, "post", "/devices/<name>/revoke", summary="Revoke (admin): the token stops working and its "
           "connections close; the row stays", tag="accounts", roles=ADMIN, answer=Revoked, errors=(404, 409))
def device_revoke(name: str, who: Principal) -> dict[str, Any]:
    hall().accounts.revoke_device(name, who.actor)
    return {"device": next(d for d in hall().accounts.devices() if d["name"] == name)}


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
