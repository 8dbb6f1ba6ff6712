"""District admins (区级管理员): a session-cookie login at /district/login, locked for a while after wrong
passwords, and the ``district_admin`` guard of every read API and screen. Passwords are checked and hashed as the
hall's staff's are (server/auth.py), CSRF is refused as the hall refuses it (server/web_guard.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from district.models import DistrictUser
from district.store import DistrictStore
from server.auth import HASHES_IN_FLIGHT, LOGIN_PER_ADDRESS, _check_password, _dummy_hash
from server.queue import DomainError
from server.throttle import Gate, Throttled, TokenBucket

#: wrong passwords in a row that lock an account, and for how long
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
#: the read API's prefix: a guarded view there answers 401, a screen sends the browser to the login page
API = "/district/api/"

bp = Blueprint("district_auth", __name__, template_folder="templates", static_folder="static",
               static_url_path="/district/static")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class DistrictAdmin:
    username: str
    display_name: str
    epoch: int


class DistrictAccounts:
    def __init__(self, store: DistrictStore):
        self.store = store
        self.clock = store.clock
        self.failures_by_address = TokenBucket(self.clock, *LOGIN_PER_ADDRESS)
        #: password hashes at once; `hallq district run` runs them in a thread off the event loop
        self.hashes = Gate(HASHES_IN_FLIGHT)

    def add_user(self, username: str, password: str, display_name: str | None = None) -> None:
        """Create a district admin, or set a new password (every session of the account ends, its lock too)."""
        if not username or len(username) > 64:
            raise DomainError("invalid", "bad_username", "用户名应为 1 到 64 个字符")
        _check_password(password, username)
        digest = self.hashes.run(lambda: generate_password_hash(password, method="scrypt"))
        with self.store.write() as session:
            user = session.get(DistrictUser, username)
            if user is None:
                session.add(DistrictUser(username=username, password_hash=digest,
                                         display_name=display_name or username))
                return
            user.password_hash, user.failed_logins, user.locked_until = digest, 0, None
            user.session_epoch += 1
            if display_name:
                user.display_name = display_name

    def login(self, username: str, password: str, address: str) -> DistrictAdmin:
        """The admin, with the epoch to sign the session with: 401 for a wrong password or name, 429 while the
        account is locked (LOCK_AFTER wrong passwords in a row) or the address tried too often, 403 disabled."""
        if wait := self.failures_by_address.wait(address):
            raise Throttled("too_many_attempts", f"密码错误次数过多，请 {max(1, round(wait))} 秒后再试", wait)
        now = self.clock.now()
        with self.store.write() as session:
            user = session.get(DistrictUser, username[:64])
            if user is not None and user.locked_until is not None and user.locked_until > now:
                wait = (user.locked_until - now).total_seconds()
                minutes = max(1, round(wait / 60))
                raise Throttled("account_locked", f"密码错误次数过多，账号已锁定，请 {minutes} 分钟后再试", wait)
        digest = user.password_hash if user is not None else _dummy_hash()
        opens = self.hashes.run(lambda: check_password_hash(digest, password))
        with self.store.write() as session:  # the failure is counted, committed, before the refusal
            user = session.get(DistrictUser, username[:64], with_for_update=True)
            if opens and user is not None:
                user.failed_logins, user.locked_until = 0, None
            elif user is not None:
                user.failed_logins += 1
                if user.failed_logins >= LOCK_AFTER:
                    user.failed_logins, user.locked_until = 0, now + LOCK_FOR
        if not opens or user is None:
            self.failures_by_address.spend(address)
            raise DomainError("unauthorized", "bad_credentials", "用户名或密码错误")
        if user.disabled_at is not None:
            raise DomainError("forbidden", "account_disabled", "账号已停用")
        return DistrictAdmin(user.username, user.display_name, user.session_epoch)

    def admin(self, username: str, epoch: int) -> DistrictAdmin | None:
        """The enabled admin while a session signed with ``epoch`` has not ended: read on every request."""
        with self.store.write() as session:
            row = session.execute(select(DistrictUser.display_name, DistrictUser.session_epoch).where(
                DistrictUser.username == username, DistrictUser.disabled_at.is_(None))).first()
        return DistrictAdmin(username, row.display_name, epoch) if row and row.session_epoch == epoch else None

    def end_sessions(self, username: str) -> None:
        """Logout: every session of the account ends, other browsers' too."""
        with self.store.write() as session:
            user = session.get(DistrictUser, username)
            if user is not None:
                user.session_epoch += 1


def accounts() -> DistrictAccounts:
    return current_app.extensions["district_accounts"]


def current_admin() -> DistrictAdmin | None:
    """The district admin of this request's session cookie (a Socket.IO connect's too), else None."""
    username = session.get("district_user")
    return accounts().admin(username, session.get("epoch", 0)) if isinstance(username, str) else None


def district_admin(view: F) -> F:
    """Only for a logged-in district admin (``g.district_admin``): the read API answers 401, a screen sends the
    browser to /district/login."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        who = current_admin()
        if who is None:
            if request.path.startswith(API):
                raise DomainError("unauthorized", "unauthorized", "请先登录区级管理账号")
            return redirect(url_for("district_auth.login_page", next=request.full_path.rstrip("?")))
        g.district_admin = who
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


@bp.get("/district/login")
def login_page() -> str:
    return render_template("login.html", district=current_app.extensions["district"].config)


@bp.post("/district/api/v1/login")
def login() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("username"), str) or \
            not isinstance(data.get("password"), str):
        raise DomainError("bad_request", "bad_json", "请求体应为 {\"username\": …, \"password\": …}")
    who = accounts().login(data["username"], data["password"], request.remote_addr or "")
    session.clear()
    session["district_user"], session["epoch"] = who.username, who.epoch
    session.permanent = True
    return {"user": {"username": who.username, "name": who.display_name}}


@bp.post("/district/api/v1/logout")
def logout() -> dict[str, Any]:
    if (who := current_admin()) is not None:
        accounts().end_sessions(who.username)
    session.clear()
    return {"ok": True}


@bp.get("/district/api/v1/me")
@district_admin
def me() -> dict[str, Any]:
    who: DistrictAdmin = g.district_admin
    return {"user": {"username": who.username, "name": who.display_name}}
