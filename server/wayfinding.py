"""Where a resident goes, and whether anyone is there now.

The windows of an item as the ticket, the kiosk, the display and the phone name them: with the zone (一楼, 二楼)
only when the hall's windows are in more than one, since a single-floor hall gains nothing from it. And what to
tell a resident whose item no signed-in window serves: they may still take a number (the hall calls in order once
a clerk signs in), but they must not be left to wonder why nobody is called.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import bindparam, select

from server.config import HallConfig, Window
from server.hours import Hours
from server.models import Ticket, WindowState

#: the windows with a clerk signed in, and whether each is open or paused (暂停)
STAFFED = select(WindowState.window_id, WindowState.status).where(WindowState.clerk.is_not(None))
#: the window a transferred ticket came from (转入): the window that served the row it continues
CAME_FROM = select(Ticket.window_id).where(Ticket.id == bindparam("ticket"))

NOT_OPEN = "目前没有窗口办理该事项，窗口开放后按取号顺序叫号"
PAUSED = "办理该事项的窗口暂停服务，恢复后按取号顺序叫号"


class Wayfinding:
    def __init__(self, config: HallConfig):
        self.config = config
        #: the hall's windows are in more than one zone: every screen names the zone
        self.zoned = len({window.zone for window in config.windows if window.zone}) > 1
        self._serving = {service.code: config.windows_serving(service.code) for service in config.services}

    def places(self, windows: Iterable[Window]) -> str:
        """「1号窗口、6号窗口（一楼）；4号窗口（二楼）」, grouped by zone in the order of config.toml; in a hall of
        one zone only the names."""
        groups: dict[str, list[str]] = {}
        for window in windows:
            groups.setdefault(window.zone if self.zoned else "", []).append(window.name)
        return "；".join("、".join(names) + (f"（{zone}）" if zone else "") for zone, names in groups.items())

    def place(self, window: Window) -> str:
        """「4号窗口（二楼）」: one window as residents are sent to it."""
        return self.places((window,))

    def windows_for(self, service: str, target_window: int | None) -> tuple[Window, ...]:
        """The windows that may call a ticket: the one it was sent to (转移, 调整窗口), else those serving its item."""
        if target_window is not None:
            window = self.config.window(target_window)
            return (window,) if window is not None else ()
        return self._serving.get(service, ())

    @staticmethod
    def open_windows(windows: Iterable[Window], staffed: Mapping[int, str]) -> list[int]:
        """Of ``windows``, those with a clerk signed in (open or paused: a paused clerk is still at the window)."""
        return [window.id for window in windows if window.id in staffed]

    def notice(self, windows: Iterable[Window], staffed: Mapping[int, str], hours: Hours, now: datetime
               ) -> tuple[bool, str | None]:
        """(no window open, what to tell the resident) for a waiting ticket served at ``windows``. Before opening
        time (a desk ticket, an early appointment check-in) the resident hears when the hall opens."""
        open_ids = self.open_windows(windows, staffed)
        if not open_ids:
            if hours.calendar.span_at(now) is None:
                opens = hours.calendar.describe_next_open(now)
                return True, f"现在不是办理时间，{opens} 开始办理，届时按取号顺序叫号"
            return True, NOT_OPEN
        if all(staffed[window_id] == "paused" for window_id in open_ids):
            return False, PAUSED
        return False, None
