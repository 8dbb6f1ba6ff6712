"""Staff accounts and device tokens, and the one place that decides who may do what."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from server.clock import Clock
from server.db import Storage
from server.events import EventBus, HallEvent
from server.models import Device, Staff
from server.queue import DomainError
from server.throttle import Gate, Tallies, Throttled, TokenBucket, in_memory
from server.vocabulary import DEVICE_KINDS, STAFF_ROLES

#: the staff's roles and the devices' kinds as types, for the API's bodies and document (named in server/vocabulary.py)
StaffRole = Literal[tuple(STAFF_ROLES)]  # type: ignore[valid-type]
DeviceKind = Literal[tuple(DEVICE_KINDS)]  # type: ignore[valid-type]
MIN_PASSWORD = 8
#: wrong passwords from one address: 10 at once, then one every 30 s (what was spent comes back at that pace)
LOGIN_PER_ADDRESS = (10, 2)
#: wrong passwords for one typed username, from anywhere: 5 at once, then one every 3 s. A short wait, not a
#: lock: whoever knows the password gets in a few seconds later, however many guesses others make
LOGIN_PER_NAME = (5, 20)
#: password hashes (scrypt, ~120 ms of CPU each) run or queued at once; one more is refused at once
HASHES_IN_FLIGHT = 4
#: wrong passwords for every name and address together: 20 at once, then 4 a second. Each cost a hash (~120 ms of
#: CPU), so a flood from ever-new addresses uses at most half a core (on two cores, often one physical core's two
#: threads, a whole core of hashing slowed every other request down); a hall's staff mistype far less often
LOGIN_ANYWHERE = (20, 240)
#: a device's last_seen_at is written at most this often from HTTP requests (its lookup is on every request)
SEEN_EVERY = timedelta(minutes=1)
#: published when every session of a staff member ends (detail: username) or a device token is revoked
#: (detail: device); the Socket.IO adapter closes their connections
SESSIONS_ENDED, DEVICE_REVOKED = "sessions_ended", "device_revoked"
_DEVICE_BY_DIGEST = select(Device.name, Device.kind).where(Device.token_hash == bindparam("digest"),
                                                            Device.revoked_at.is_(None))
_STAFF_BY_NAME = select(Staff.username, Staff.role, Staff.display_name, Staff.session_epoch).where(
    Staff.username == bindparam("username"), Staff.disabled_at.is_(None))


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so a wrong name costs as long as a wrong password. Made on
    the first such login, not at import (that cost every `hallq` command ~120 ms)."""
    return generate_password_hash("not-a-real-password", method="scrypt")


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in staff member or a registered device."""

    kind: str  # staff | device
    name: str
    role: str  # admin, guide, clerk, kiosk, display, evaluator
    display_name: str = ""
    #: the staff member's session epoch when looked up: a session signed with another one has ended
    epoch: int = field(default=0, compare=False)

    @property
    def actor(self) -> str:
        """How the audit trail names this principal."""
        return self.name if self.kind == "staff" else f"device:{self.name}"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_LOGIN_ROW = select(Staff.username, Staff.role, Staff.display_name, Staff.session_epoch, Staff.password_hash,
                    Staff.disabled_at).where(Staff.username == bindparam("username"))


@cache
def _common_passwords() -> frozenset[str]:
    """The deny-list shipped with the package (server/common_passwords.txt), lower-cased."""
    lines = Path(__file__).with_name("common_passwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _straight(password: str) -> bool:
    """All one character (aaaaaaaa), or a run up or down (12345678, 87654321, abcdefgh)."""
    steps = {ord(b) - ord(a) for a, b in pairwise(password)}
    return steps in ({0}, {1}, {-1})


def _check_password(password: str, username: str) -> None:
    """Refuse what an attacker tries first: short, common, trivial, or the username itself."""
    if len(password) < MIN_PASSWORD:
        raise DomainError("invalid", "weak_password", f"新密码至少需要 {MIN_PASSWORD} 个字符")
    lowered = password.lower()
    if lowered in _common_passwords() or _straight(lowered) or lowered == username.lower():
        raise DomainError("invalid", "weak_password", "这个密码太常见或太简单（如 12345678、用户名），请换一个")


def _next_epoch(staff: Staff) -> int:
    """Raise the account's session epoch: every session signed with an older one has ended."""
    staff.session_epoch += 1
    return staff.session_epoch


class Accounts:
    def __init__(self, storage: Storage, clock: Clock, bus: EventBus | None = None,
                 run_blocking: Callable[[Callable[[], Any]], Any] | None = None, tallies: Tallies = in_memory):
        """``run_blocking``: runs a password hash off the event loop (gevent's thread pool under `hallq run`);
        None: in the calling thread. ``tallies``: where failed logins are counted (Redis when several processes
        serve the hall: a guesser gets one allowance from all of them)."""
        self.storage = storage
        self.clock = clock
        self.bus = bus or EventBus()
        #: when this process last wrote each device's last_seen_at (HTTP writes it at most every SEEN_EVERY)
        self._seen_written: dict[str, datetime] = {}
        self.failures_by_address = TokenBucket(clock, *LOGIN_PER_ADDRESS, tallies("login-address"))
        self.failures_by_name = TokenBucket(clock, *LOGIN_PER_NAME, tallies("login-name"))
        self.failures_anywhere = TokenBucket(clock, *LOGIN_ANYWHERE, tallies("login-anywhere"))
        self.hashes = Gate(HASHES_IN_FLIGHT, run_blocking)

    def _new_password_hash(self, password: str, username: str) -> str:
        _check_password(password, username)
        return self.hashes.run(lambda: generate_password_hash(password, method="scrypt"))

    def _opens(self, username: str, password: str, address: str) -> Any:
        """The account's row when the password opens it, else None (counted against the address and the typed
        name). Unknown, wrong and disabled names cost one hash alike; a throttled attempt (429) costs none and
        says the same whether the name exists or not."""
        name = username[:64]
        wait = max(self.failures_by_address.wait(address), self.failures_by_name.wait(name))
        if wait:
            raise Throttled("too_many_attempts", f"密码错误次数过多，请 {max(1, round(wait))} 秒后再试", wait)
        if self.failures_anywhere.wait(""):
            raise Throttled("login_busy", "登录繁忙，请稍后再试", 1)
        row = self.storage.first(_LOGIN_ROW, {"username": username})
        digest = row.password_hash if row is not None else _dummy_hash()
        if self.hashes.run(lambda: check_password_hash(digest, password)) and row is not None:
            return row
        self.failures_by_address.spend(address)
        self.failures_by_name.spend(name)
        self.failures_anywhere.spend("")
        return None

    def add_user(self, username: str, role: str, password: str, display_name: str | None = None,
                 staff_no: str = "", new_only: bool = False, party_member: bool = False) -> None:
        """Create a staff account, or reset its role and password when it exists (``new_only``: refuse then,
        as the admin screen's 添加 does, so a typo cannot overwrite a colleague's account). A reset (`hallq user
        add` on an existing name) ends every session of it, like ``reset_password``."""
        _check_role(role)
        if not username or len(username) > 64:
            raise DomainError("invalid", "bad_username", "用户名应为 1 到 64 个字符")
        _check_card(display_name or username, staff_no)
        digest = self._new_password_hash(password, username)
        with self.storage.write() as session:
            staff = session.scalars(select(Staff).where(Staff.username == username)).one_or_none()
            if staff is not None and new_only:
                raise DomainError("conflict", "username_taken", f"用户名 {username} 已存在")
            reset = staff is not None
            if staff is None:
                staff = Staff(username=username, display_name=display_name or username, staff_no=staff_no,
                              party_member=party_member, role=role, password_hash=digest, failed_logins=0)
                session.add(staff)
            else:
                staff.role, staff.password_hash = role, digest
                _next_epoch(staff)
                if display_name:
                    staff.display_name = display_name
                if staff_no:
                    staff.staff_no = staff_no
        if reset:
            self._sessions_ended(username, None)

    def login(self, username: str, password: str, address: str) -> Principal:
        """The staff member, with the epoch to sign the session with; 401 for a wrong password or an unknown
        name, 429 after too many of them (from ``address`` or for ``username``), 403 (account_disabled) for a
        disabled account, told only to whoever knows its password."""
        row = self._opens(username, password, address)
        if row is None:
            raise DomainError("unauthorized", "bad_credentials", "用户名或密码错误")
        if row.disabled_at is not None:
            raise DomainError("forbidden", "account_disabled", "账号已停用，请联系管理员")
        return Principal("staff", row.username, row.role, row.display_name, row.session_epoch)

    def staff(self, username: str, epoch: int | None = None) -> Principal | None:
        """The enabled staff member; with ``epoch``, only while a session signed with it has not ended."""
        row = self.storage.first(_STAFF_BY_NAME, {"username": username})  # on every staff request
        if row is None or (epoch is not None and row.session_epoch != epoch):
            return None
        return Principal("staff", row.username, row.role, row.display_name, row.session_epoch)

    def identify(self, token: str | None, username: str | None, epoch: int = 0) -> Principal | None:
        """Who asks, for HTTP and Socket.IO alike: a given device token decides (a wrong one is nobody),
        else the staff member named by the signed session, while its epoch is the account's."""
        if token:
            return self.device(token)
        return self.staff(username, epoch) if username else None

    # ------------------------------------------------------------ sessions that end

    def end_sessions(self, username: str, actor: str | None = None) -> int:
        """Every session of the account ends (logout, or an admin's order); the new epoch."""
        with self.storage.write() as session:
            epoch = _next_epoch(self._account(session, username))
        self._sessions_ended(username, actor or username)
        return epoch

    def change_password(self, username: str, old: str, new: str, address: str) -> int:
        """The staff member's own change: the old password must be right (a wrong one counts as a failed login);
        every session ends. The new epoch."""
        if self._opens(username, old, address) is None:  # not 401: the screens take that for "logged out"
            raise DomainError("invalid", "wrong_password", "原密码不正确")
        digest = self._new_password_hash(new, username)
        with self.storage.write() as session:
            staff = self._account(session, username)
            staff.password_hash = digest
            epoch = _next_epoch(staff)
        self._sessions_ended(username, username)
        return epoch

    def reset_password(self, username: str, new: str, actor: str | None = None) -> int:
        """An admin sets a new password (the old one forgotten): ends every session."""
        digest = self._new_password_hash(new, username)
        with self.storage.write() as session:
            staff = self._account(session, username)
            staff.password_hash = digest
            epoch = _next_epoch(staff)
        self._sessions_ended(username, actor)
        return epoch

    def set_disabled(self, username: str, disabled: bool, actor: str | None = None) -> None:
        """Disable an account (the clerk left: it cannot log in, its sessions end, its records stay) or enable it."""
        with self.storage.write() as session:
            staff = self._account(session, username)
            staff.disabled_at = self.clock.now() if disabled else None
            if disabled:
                _next_epoch(staff)
        if disabled:
            self._sessions_ended(username, actor)

    def _sessions_ended(self, username: str, actor: str | None) -> None:
        self.bus.publish([HallEvent(SESSIONS_ENDED, self.clock.now(), actor=actor, detail={"username": username})])

    @staticmethod
    def _account(session: Session, username: str) -> Staff:
        staff = session.scalars(select(Staff).where(Staff.username == username)).one_or_none()
        if staff is None:
            raise DomainError("not_found", "staff_not_found", f"没有账号 {username!r}")
        return staff

    # ------------------------------------------------------------ devices

    def add_device(self, name: str, kind: str, new_only: bool = False) -> str:
        """Register a device, or give an existing (or revoked) one a new token (the old one stops working);
        ``new_only``: refuse an existing name."""
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
            else:
                device.kind, device.token_hash, device.revoked_at = kind, token_digest(token), None
        return token

    def revoke_device(self, name: str, actor: str | None = None) -> None:
        """The device's token stops working at once and its connections close; the row stays for the record."""
        now = self.clock.now()
        with self.storage.write() as session:
            found = session.execute(update(Device).where(Device.name == name).values(revoked_at=now)).rowcount
        if not found:
            raise DomainError("not_found", "device_not_found", f"没有设备 {name!r}")
        self.bus.publish([HallEvent(DEVICE_REVOKED, now, actor=actor, detail={"device": name})])

    def device(self, token: str) -> Principal | None:
        row = self.storage.first(_DEVICE_BY_DIGEST, {"digest": token_digest(token)})  # on every device request
        if row is None:
            return None
        last = self._seen_written.get(row.name)
        if last is None or self.clock.now() - last >= SEEN_EVERY:
            self.device_seen(row.name)
        return Principal("device", row.name, row.kind)

    def device_seen(self, name: str) -> None:
        """Note that the device is there now (a Socket.IO connect always; an HTTP request via ``device``)."""
        now = self.clock.now()
        self._seen_written[name] = now
        with self.storage.write() as session:
            session.execute(update(Device).where(Device.name == name).values(last_seen_at=now))

    def update_staff(self, username: str, display_name: str | None = None, staff_no: str | None = None,
                     role: str | None = None, party_member: bool | None = None) -> None:
        """The admin corrects a name, 工号, role or 党员 (None: unchanged); the hall always keeps an enabled admin."""
        if role is not None:
            _check_role(role)
        with self.storage.write() as session:
            staff = self._account(session, username)
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
            if party_member is not None:
                staff.party_member = party_member

    def roster(self) -> list[dict[str, Any]]:
        """Every staff account for the admin's list: disabled ones too (their records stay)."""
        with self.storage.read() as session:
            return [{"username": s.username, "name": s.display_name, "staff_no": s.staff_no, "role": s.role,
                     "party_member": s.party_member, "disabled": s.disabled_at is not None,
                     "disabled_at": _iso(s.disabled_at), "locked": self.failures_by_name.wait(s.username) > 0}
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
        """Every enabled staff account, by username: whom the guide desk can assign a home or holiday visit to."""
        with self.storage.read() as session:
            rows = session.execute(select(Staff.username, Staff.role, Staff.display_name)
                                   .where(Staff.disabled_at.is_(None)).order_by(Staff.username))
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
