"""Socket.IO: who may connect, and pushing the hall's state to every screen.

Calls go out at once (they are what residents wait for); the full snapshot that keeps counts and window
numbers right is coalesced and sent at most a few times a second, so a rush at the kiosks does not
flood two hundred displays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import request, session
from flask_socketio import SocketIO, emit, join_room

from server import appointments, cases, complaints, desk, evaluation
from server.announcer import Announcer
from server.auth import DEVICE_KINDS, DEVICE_REVOKED, SESSIONS_ENDED, STAFF_ROLES, Principal, allowed
from server.cluster import SNAPSHOT, Leadership
from server.events import HallEvent
from server.fanout import Fanout
from server.hall import Hall
from server.printing import agent
from server.printing.agent import OFFLINE, ONLINE, AgentHub
from server.printing.spooler import PRINT_OUTCOMES, PRINTER_STATE, PRINTER_STATES_ASKED, Spooler
from server.queue import DomainError
from server.web import refused_socket

log = logging.getLogger(__name__)

CALLED = "called"  # a call pushed to the displays (framed once: server/fanout.py)
HALL_ROOM = "hall"
STAFF_ROOM = "staff"  # printer faults and print outcomes for the desk
SNAPSHOT_INTERVAL = 0.2  # seconds between two coalesced snapshots
#: events that change nothing a snapshot shows (the rating tablet has its own feed)
QUIET_KINDS = frozenset({"reprint_requested", *evaluation.EVENTS, *cases.EVENTS, PRINTER_STATE, PRINTER_STATES_ASKED,
                         *agent.EVENTS})
GUIDE_EVENTS = frozenset(appointments.EVENTS + desk.EVENTS + complaints.EVENTS)


def device_room(name: str) -> str:
    return f"device:{name}"


def zone_room(zone: str | None) -> str:
    """Calls of one zone's windows; ``None``: the room of screens that show every zone."""
    return f"zone:{zone}" if zone else "zone:*"


class Realtime:
    def __init__(self, socketio: SocketIO, hall: Hall, spooler: Spooler, agents: AgentHub, announcer: Announcer,
                 fanout: Fanout, leadership: Leadership):
        self.socketio = socketio
        self.leadership = leadership
        self.fanout = fanout
        self.hall = hall
        self.announcer = announcer
        self.spooler = spooler
        self.agents = agents
        self._dirty = socketio.server.eio.create_event()
        self._loop_started = False
        self._running = True
        #: device kinds with their own connection (the rating tablet): called instead of the hall's rooms
        self.device_handlers: dict[str, Callable[[Principal], None]] = {}
        #: who each open connection speaks for: the connections to close when their sessions end or token is revoked
        self.principals: dict[str, Principal] = {}
        hall.bus.subscribe(self.on_event)
        hall.bus.subscribe_remote(self.on_remote_event)
        spooler.on_change(self.on_printers)
        agents.on_change(self._agent_status)
        socketio.on_event("connect", self.on_connect)
        socketio.on_event("disconnect", self.on_disconnect)

    def identify(self, auth: Any) -> Principal | None:
        token = auth.get("token") if isinstance(auth, dict) else None
        return self.hall.accounts.identify(token if isinstance(token, str) else None, session.get("staff"),
                                           session.get("epoch", 0))

    def _emitted(self) -> bool:
        """Whether this ``connect`` or ``disconnect`` is an event the client sent under that name: python-socketio
        hands those to the same handlers as the real ones. Obeyed, it would connect the socket twice, drop it from
        ``principals`` (so it outlives its token's revocation) and, refused, make gevent print what it sent (its
        token) with the handler's traceback. A real connect comes before the socket is in ``principals``, a real
        disconnect after python-socketio stopped counting it as connected."""
        sid: str = request.sid  # type: ignore[attr-defined]
        who = self.principals.get(sid)
        if who is None or not self.socketio.server.manager.is_connected(sid, "/"):
            return False
        log.warning("socket %s of %s sent an event named %r: ignored", sid, who.actor,
                    request.event["message"])  # type: ignore[attr-defined]
        return True

    def on_connect(self, auth: Any = None) -> None:
        if self._emitted():
            return
        who = self.identify(auth)
        try:
            allowed(who, (*STAFF_ROLES, *DEVICE_KINDS))  # anyone the hall knows; nobody is refused as by the API
        except DomainError as refusal:
            raise refused_socket(refusal) from None
        assert who is not None
        sid: str = request.sid  # type: ignore[attr-defined]
        log.info("socket %s connected as %s", sid, who.actor)
        if who.kind == "device":
            self.hall.accounts.device_seen(who.name)
        if isinstance(auth, dict) and auth.get("agent"):
            self._attach_agent(who, sid)
        elif who.role in self.device_handlers:
            self.device_handlers[who.role](who)
        else:
            self._join_hall(who)
        self.principals[sid] = who  # once accepted: a refused connection never disconnects

    def _join_hall(self, who: Principal) -> None:
        """A screen or the staff's pages: the hall's rooms, and what they show from the start."""
        join_room(HALL_ROOM)
        if who.kind == "device":
            join_room(device_room(who.name))
            if who.role == "kiosk":
                emit("printer", self._kiosk_printer(who.name))
        else:
            join_room(STAFF_ROOM)
            join_room(zone_room(None))
            emit("printers", {"printers": self.spooler.printers()})
        if who.role == "display":
            zones = self.hall.config.zones_of_display(who.name)
            for zone in zones or (None,):
                join_room(zone_room(zone))
            voice = self.announcer.voice.settings
            emit("display", {"name": who.name, "zones": list(zones) if zones else None,
                             "announce": {"chime": voice.chime, "repeat": voice.repeat,
                                          "within_s": voice.announce_within}})
        emit("snapshot", self.hall.engine.snapshot())
        self._start_loop()

    def _start_loop(self) -> None:
        if not self._loop_started:
            self._loop_started = True
            self.socketio.start_background_task(self._snapshot_loop)

    def _attach_agent(self, who: Principal, sid: str) -> None:
        """A `hallq printer-agent` speaks for its kiosk's printers; it needs no snapshots."""
        if who.role != "kiosk":
            raise refused_socket(DomainError("forbidden", "forbidden", "printer agents sign in with a kiosk token"))
        self.agents.attach(who.name, sid)
        self._agent_status(who.name)

    def on_disconnect(self, reason: Any = None) -> None:
        if self._emitted():
            return
        self.principals.pop(request.sid, None)  # type: ignore[attr-defined]
        kiosk = self.agents.detach(request.sid)  # type: ignore[attr-defined]
        if kiosk is not None:
            self._agent_status(kiosk)

    def _agent_status(self, kiosk: str) -> None:
        """An agent of ``kiosk`` came or went (here or on another process): the process leading its printers
        reports whether one is still connected anywhere (and shares that state with the others)."""
        for printer in self.hall.config.printing.printers:
            if printer.via_agent and kiosk in printer.kiosks and self.spooler.leads(printer.name):
                self.spooler.report(printer.name, ONLINE if self.agents.connected(printer) else OFFLINE)

    def on_printers(self, printers: list[dict[str, Any]]) -> None:
        self.socketio.emit("printers", {"printers": printers}, to=STAFF_ROOM)
        for printer in printers:  # each kiosk hears about its own printer, to warn residents before they choose
            for kiosk in printer["kiosks"]:
                self.socketio.emit("printer", {"printer": printer}, to=device_room(kiosk))

    def _kiosk_printer(self, kiosk: str) -> dict[str, Any]:
        printer = self.hall.config.printing.printer_of_kiosk(kiosk)
        return {"printer": self.spooler.states[printer.name].to_json() if printer else None}

    def _print_outcome(self, event: HallEvent) -> None:
        """Tell the kiosk (or the desk) that asked for the paper whether it came out."""
        detail = event.detail or {}
        for_actor = str(detail.get("for", ""))
        room = device_room(for_actor.removeprefix("device:")) if for_actor.startswith("device:") else STAFF_ROOM
        self.socketio.emit("printed", {"ticket": detail.get("ticket"), "number": detail.get("number"),
                                       "printer": detail.get("printer"), "ok": event.kind == "printed",
                                       "error": detail.get("error")}, to=room)

    def _close(self, kind: str, name: str) -> None:
        """Close every connection of one staff member or one device (its sessions ended, its token revoked)."""
        for sid, who in list(self.principals.items()):
            if who.kind == kind and who.name == name:
                log.info("socket %s of %s closed: %s", sid, who.actor, "token revoked" if kind == "device"
                         else "sessions ended")
                self.socketio.server.disconnect(sid, namespace="/")
                self.principals.pop(sid, None)

    def on_event(self, event: HallEvent) -> None:
        detail = event.detail or {}
        if event.kind in (SESSIONS_ENDED, DEVICE_REVOKED):
            staff = event.kind == SESSIONS_ENDED
            self._close("staff" if staff else "device", str(detail.get("username" if staff else "device")))
            return
        if event.kind in PRINT_OUTCOMES:
            self._print_outcome(event)
            return
        if event.kind in QUIET_KINDS:
            return
        if event.kind in GUIDE_EVENTS:  # the guide desk reloads its lists; the detail holds nothing personal
            self.socketio.emit("guide", {**(event.detail or {}), "event": event.kind}, to=STAFF_ROOM)
            return
        if event.kind in ("called", "recalled") and event.ticket is not None:
            self._announce(event)
        self.refresh()  # also where no screen is connected: this process may be the one that broadcasts

    def on_remote_event(self, event: HallEvent) -> None:
        """An event of another process of the hall: it pushed the calls and the guide desk's news itself; this
        process closes its own sockets of an ended session or revoked device, and the snapshot's leader hears of
        the change."""
        if event.kind in (SESSIONS_ENDED, DEVICE_REVOKED):
            self.on_event(event)
        elif event.kind not in QUIET_KINDS and event.kind not in GUIDE_EVENTS and event.kind not in PRINT_OUTCOMES:
            self.refresh()

    def heard(self, event: str, call: Any) -> None:
        """A call another process pushed: this process's displays may fetch its audio here."""
        if event == CALLED and isinstance(call, dict) and call.get("audio") and isinstance(call.get("ticket"), dict):
            self.announcer.expect(str(call["ticket"].get("number", "")), str(call.get("window_name", "")))

    def refresh(self) -> None:
        """A snapshot for every screen soon (coalesced with other changes)."""
        self._start_loop()
        self._dirty.set()

    def _announce(self, event: HallEvent) -> None:
        """The call to the screens of its window's zone (and to those showing every zone), with its audio."""
        assert event.ticket is not None
        window = self.hall.config.window(event.window_id or 0)
        name, zone = (window.name, window.zone) if window else ("", "")
        call = {"ticket": event.ticket.to_json(), "window": event.window_id, "window_name": name, "zone": zone,
                "text": event.text, "recall": event.kind == "recalled", "at": event.at.isoformat()}
        rooms = [zone_room(zone), zone_room(None)] if zone else zone_room(None)
        self.announcer.announce(event.ticket.number, name,
                                lambda audio: self.fanout.emit(CALLED, {**call, "audio": audio}, rooms))

    def stop(self) -> None:
        """End the snapshot loop (tests: the database may be gone next)."""
        self._running = False
        self._dirty.set()

    def _snapshot_loop(self) -> None:
        while self._running:
            self._dirty.wait()
            # wait first: the `called` push of the same change goes out alone, and a burst becomes one snapshot
            self.socketio.sleep(SNAPSHOT_INTERVAL)
            if not self._running:
                return
            self._dirty.clear()
            if not self.leadership.holds(SNAPSHOT):  # another process broadcasts the hall's snapshots
                continue
            try:
                self.socketio.emit("snapshot", self.hall.engine.snapshot(), to=HALL_ROOM)
            except Exception:  # the loop must outlive a database hiccup
                log.exception("snapshot broadcast failed")
