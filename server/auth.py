"""Staff accounts and device tokens, and the one place that decides who may do what."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select
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
                 staff_no: str = "") -> None:
        """Create a staff account, or reset its role and password when it exists."""
        if role not in STAFF_ROLES:
            raise DomainError("invalid", "bad_role", f"role must be one of {', '.join(STAFF_ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise DomainError("invalid", "weak_password", f"password must have at least {MIN_PASSWORD} characters")
        if not username or len(username) > 64:
            raise DomainError("invalid", "bad_username", "username must have 1 to 64 characters")
        digest = generate_password_hash(password, method="scrypt")
        with self.storage.write() as session:
            staff = session.scalars(select(Staff).where(Staff.username == username)).one_or_none()
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

    def add_device(self, name: str, kind: str) -> str:
        """Register a device, or give an existing one a new token (the old one stops working)."""
        if kind not in DEVICE_KINDS:
            raise DomainError("invalid", "bad_kind", f"kind must be one of {', '.join(DEVICE_KINDS)}")
        if not name or len(name) > 64:
            raise DomainError("invalid", "bad_name", "device name must have 1 to 64 characters")
        token = secrets.token_urlsafe(32)
        with self.storage.write() as session:
            device = session.scalars(select(Device).where(Device.name == name)).one_or_none()
            if device is None:
                session.add(Device(name=name, kind=kind, token_hash=token_digest(token)))
            else:
                device.kind, device.token_hash = kind, token_digest(token)
        return token

    def device(self, token: str) -> Principal | None:
        row = self.storage.first(_DEVICE_BY_DIGEST, {"digest": token_digest(token)})  # on every device request
        return Principal("device", row.name, row.kind) if row else None

    def members(self) -> list[Principal]:
        """Every staff account, by username: whom the guide desk can assign a home or holiday visit to."""
        with self.storage.read() as session:
            rows = session.execute(select(Staff.username, Staff.role, Staff.display_name).order_by(Staff.username))
            return [Principal("staff", row.username, row.role, row.display_name) for row in rows]


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
