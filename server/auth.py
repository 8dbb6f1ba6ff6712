"""Staff accounts and device tokens, and the one place that decides who may do what."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from server.clock import Clock
from server.db import Storage
from server.models import Device, Staff
from server.queue import DomainError

STAFF_ROLES = ("admin", "guide", "clerk")
DEVICE_KINDS = ("kiosk", "display", "evaluator")  # evaluator: the rating tablet at a window
MIN_PASSWORD = 8
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
# verified against when the username is unknown, so a wrong name costs as long as a wrong password
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")
_DEVICE_BY_DIGEST = select(Device.name, Device.kind).where(Device.token_hash == bindparam("digest"))
_STAFF_BY_NAME = select(Staff.username, Staff.role, Staff.display_name).where(Staff.username == bindparam("username"))


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in staff member or a registered device."""

    kind: str  # staff | device
    name: str
    role: str  # admin, guide, clerk, kiosk, display, evaluator
    display_name: str = ""

    @property
    def actor(self) -> str:
        """How the audit trail names this principal."""
        return self.name if self.kind == "staff" else f"device:{self.name}"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, storage: Storage, clock: Clock):
        self.storage = storage
        self.clock = clock

    def add_user(self, username: str, role: str, password: str, display_name: str | None = None,
                 staff_no: str = "", new_only: bool = False) -> None:
        """Create a staff account, or reset its role and password when it exists (``new_only``: refuse then,
        as the admin screen's 添加 does, so a typo cannot overwrite a colleague's account)."""
        _check_role(role)
        if len(password) < MIN_PASSWORD:
            raise DomainError("invalid", "weak_password", f"密码至少 {MIN_PASSWORD} 位")
        if not username or len(username) > 64:
            raise DomainError("invalid", "bad_username", "用户名应为 1 到 64 个字符")
        _check_card(display_name or username, staff_no)
        digest = generate_password_hash(password, method="scrypt")
        with self.storage.write() as session:
            staff = session.scalars(select(Staff).where(Staff.username == username)).one_or_none()
            if staff is not None and new_only:
                raise DomainError("conflict", "username_taken", f"用户名 {username} 已存在")
            if staff is None:
                staff = Staff(username=username, display_name=display_name or username, staff_no=staff_no,
                              role=role, password_hash=digest, failed_logins=0)
                session.add(staff)
            else:
                staff.role, staff.password_hash, staff.failed_logins, staff.locked_until = role, digest, 0, None
                if display_name:
                    staff.display_name = display_name
                if staff_no:
                    staff.staff_no = staff_no

    def login(self, username: str, password: str) -> Principal:
        now = self.clock.now()
        refusal: DomainError | None = None
        with self.storage.write() as session:  # the failure count must commit, so refuse after the block
            staff = session.scalars(select(Staff).where(Staff.username == username)).one_or_none()
            if staff is None:
                check_password_hash(_DUMMY_HASH, password)
                refusal = DomainError("unauthorized", "bad_credentials", "用户名或密码错误")
            elif staff.locked_until and staff.locked_until > now:
                refusal = DomainError("unauthorized", "account_locked", "密码错误次数过多，账号已锁定，请稍后再试")
            elif not check_password_hash(staff.password_hash, password):
                staff.failed_logins += 1
                if staff.failed_logins >= MAX_FAILED_LOGINS:
                    staff.locked_until, staff.failed_logins = now + LOCKOUT, 0
                refusal = DomainError("unauthorized", "bad_credentials", "用户名或密码错误")
            else:
                staff.failed_logins, staff.locked_until = 0, None
                principal = Principal("staff", staff.username, staff.role, staff.display_name)
        if refusal is not None:
            raise refusal
        return principal

    def staff(self, username: str) -> Principal | None:
        row = self.storage.first(_STAFF_BY_NAME, {"username": username})  # on every staff request
        return Principal("staff", row.username, row.role, row.display_name) if row else None

    def identify(self, token: str | None, username: str | None) -> Principal | None:
        """Who asks, for HTTP and Socket.IO alike: a given device token decides (a wrong one is nobody),
        else the staff member named by the signed session."""
        if token:
            return self.device(token)
        return self.staff(username) if username else None

    def add_device(self, name: str, kind: str, new_only: bool = False) -> str:
        """Register a device, or give an existing one a new token (the old one stops working); ``new_only``:
        refuse an existing name."""
        if kind not in DEVICE_KINDS:
            raise DomainError("invalid", "bad_kind", f"设备类型应为 {'、'.join(DEVICE_KINDS)} 之一")
        if not name or len(name) > 64:
            raise DomainError("invalid", "bad_name", "设备名称应为 1 到 64 个字符")
        token = secrets.token_urlsafe(32)
        with self.storage.write() as session:
            device = session.scalars(select(Device).where(Device.name == name)).one_or_none()
            if device is not None and new_only:
                raise DomainError("conflict", "device_taken", f"设备 {name} 已存在：如需新令牌请用「更换令牌」")
            if device is None:
                session.add(Device(name=name, kind=kind, token_hash=token_digest(token)))
            else:  # a replaced token: the device works again even if it was revoked
                device.kind, device.token_hash, device.revoked_at = kind, token_digest(token), None
        return token

    def device(self, token: str) -> Principal | None:
        row = self.storage.first(_DEVICE_BY_DIGEST, {"digest": token_digest(token)})  # on every device request
        return Principal("device", row.name, row.kind) if row else None

    def update_staff(self, username: str, display_name: str | None = None, staff_no: str | None = None,
                     role: str | None = None) -> None:
        """The admin corrects a name, 工号 or role (None: unchanged); the hall always keeps an enabled admin."""
        if role is not None:
            _check_role(role)
        with self.storage.write() as session:
            staff = _one_staff(session, username)
            _check_card(display_name or staff.display_name, staff.staff_no if staff_no is None else staff_no)
            if role is not None and role != "admin" and staff.role == "admin" and staff.disabled_at is None:
                others = session.scalar(select(func.count()).select_from(Staff).where(
                    Staff.role == "admin", Staff.disabled_at.is_(None), Staff.username != username))
                if not others:
                    raise DomainError("conflict", "last_admin", "这是唯一启用的管理员账号，不能改为其他角色")
            if display_name:
                staff.display_name = display_name
            if staff_no is not None:
                staff.staff_no = staff_no
            if role is not None:
                staff.role = role

    def roster(self) -> list[dict[str, Any]]:
        """Every staff account for the admin's list: disabled ones too (their records stay)."""
        with self.storage.read() as session:
            return [{"username": s.username, "name": s.display_name, "staff_no": s.staff_no, "role": s.role,
                     "disabled": s.disabled_at is not None, "disabled_at": _iso(s.disabled_at),
                     "locked": bool(s.locked_until and s.locked_until > self.clock.now())}
                    for s in session.scalars(select(Staff).order_by(Staff.username))]

    def devices(self) -> list[dict[str, Any]]:
        """Every registered device, revoked ones too, by kind and name."""
        with self.storage.read() as session:
            return [{"name": d.name, "kind": d.kind, "last_seen_at": _iso(d.last_seen_at),
                     "revoked": d.revoked_at is not None, "revoked_at": _iso(d.revoked_at)}
                    for d in session.scalars(select(Device).order_by(Device.kind, Device.name))]

    def device_kind(self, name: str) -> str:
        kind = self.storage.first(select(Device.kind).where(Device.name == bindparam("name")), {"name": name})
        if kind is None:
            raise DomainError("not_found", "device_not_found", f"没有名为 {name} 的设备")
        return kind[0]

    def members(self) -> list[Principal]:
        """Every staff account, by username: whom the guide desk can assign a home or holiday visit to."""
        with self.storage.read() as session:
            rows = session.execute(select(Staff.username, Staff.role, Staff.display_name).order_by(Staff.username))
            return [Principal("staff", row.username, row.role, row.display_name) for row in rows]


def _check_role(role: str) -> None:
    if role not in STAFF_ROLES:
        raise DomainError("invalid", "bad_role", f"角色应为 {'、'.join(STAFF_ROLES)} 之一")


def _check_card(display_name: str, staff_no: str) -> None:
    """What the window screen shows must fit its columns."""
    if len(display_name) > 64:
        raise DomainError("invalid", "bad_display_name", "姓名最多 64 个字符")
    if len(staff_no) > 32:
        raise DomainError("invalid", "bad_staff_no", "工号最多 32 个字符")


def _one_staff(session: Session, username: str) -> Staff:
    staff = session.scalars(select(Staff).where(Staff.username == username)).one_or_none()
    if staff is None:
        raise DomainError("not_found", "staff_not_found", f"没有用户名为 {username} 的工作人员")
    return staff


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def allowed(principal: Principal | None, roles: tuple[str, ...]) -> None:
    """Raise unless the principal holds one of the roles: 401 for nobody, 403 for the wrong one."""
    if principal is None:
        raise DomainError("unauthorized", "unauthorized", "请先登录或提供设备令牌")
    if principal.role not in roles:
        raise DomainError("forbidden", "forbidden", "当前账号或设备无权进行此操作")


def clerk_cards(session: Session, usernames: Iterable[str]) -> dict[str, dict[str, str]]:
    """Name and 工号 of staff members, for the screens and lists that say who served (an unknown name as is)."""
    wanted = set(usernames)
    rows = session.execute(select(Staff.username, Staff.display_name, Staff.staff_no)
                           .where(Staff.username.in_(wanted))) if wanted else []
    cards = {u: {"username": u, "name": u, "staff_no": ""} for u in wanted}
    cards.update({u: {"username": u, "name": name, "staff_no": no} for u, name, no in rows})
    return cards


def display_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """Staff display names (王小红) by username, for records that name who wrote them (an unknown name as is)."""
    return {u: card["name"] for u, card in clerk_cards(session, (u for u in usernames if u)).items()}
