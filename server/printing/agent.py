"""Printers on a kiosk PC (usually USB): the server renders, `hallq printer-agent` on that PC prints.

Both ends of one small protocol over Socket.IO. The agent signs in with its kiosk's device token and
``"agent": true``; the server sends ``print_job`` {job, printer, data (base64)} and waits for the agent's
acknowledgement {ok, status, message} or {ok: false, error: {code, message}}. A job not acknowledged in time
is reported as not printed (staff can reprint it); the agent reconnects by itself.

With several server processes the agent's socket is on whichever process it reached, and the job comes from the
process leading its printer (server/cluster.py). Each process tells the others of the agents it accepts and loses
(``agent_attached``/``agent_detached`` with the socket's id, stored by no one), so the leader knows every agent's
socket; the job then goes to that socket through Socket.IO's message queue, and so does the acknowledgement back
(python-socketio's ``call`` across hosts). A process that takes a printer over asks for a roll call
(``agents_asked``): the others tell again of the agents they hold.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from server.clock import Clock
from server.events import EventBus, HallEvent
from server.printing import device
from server.printing.device import PrinterFault, PrinterStatus
from server.printing.settings import Connection, PrinterConfig

log = logging.getLogger(__name__)

OFFLINE = PrinterStatus("agent_offline", "打印代理未连接（取号机电脑）")
ONLINE = PrinterStatus("unknown", "打印代理已连接")
#: the hall's other processes told of an agent accepted or lost here; a roll call of every process's agents
AGENT_ATTACHED, AGENT_DETACHED, AGENTS_ASKED = "agent_attached", "agent_detached", "agents_asked"
EVENTS = (AGENT_ATTACHED, AGENT_DETACHED, AGENTS_ASKED)


class AgentHub:
    """The server's side: which kiosk's agent is connected on which socket (of this process or another), and
    handing jobs to it."""

    def __init__(self, server: Any, bus: EventBus, clock: Clock):
        self.server = server  # the python-socketio server
        self.bus = bus
        self.clock = clock
        self._here: dict[str, str] = {}  # socket id → kiosk name: agents on this process
        self._elsewhere: dict[str, str] = {}  # socket id → kiosk name: agents other processes told of
        self._listeners: list[Callable[[str], None]] = []
        self._lock = threading.Lock()
        bus.subscribe_remote(self.on_event)

    def on_change(self, listener: Callable[[str], None]) -> None:
        """``listener(kiosk)`` when an agent of that kiosk is attached or lost on another process."""
        self._listeners.append(listener)

    def attach(self, kiosk: str, sid: str) -> None:
        with self._lock:
            self._here[sid] = kiosk
        self._tell(AGENT_ATTACHED, kiosk, sid)

    def detach(self, sid: str) -> str | None:
        """Forget the agent on ``sid``; its kiosk's name, if it was one."""
        with self._lock:
            kiosk = self._here.pop(sid, None)
        if kiosk is not None:
            self._tell(AGENT_DETACHED, kiosk, sid)
        return kiosk

    def roll_call(self) -> None:
        """Forget the agents other processes told of, and ask them to tell again (this process now leads a
        printer: the agents of a process that died since must not be counted)."""
        with self._lock:
            self._elsewhere.clear()
        self.bus.publish([HallEvent(AGENTS_ASKED, self.clock.now())])

    def on_event(self, event: HallEvent) -> None:
        """Another process's news of its agents."""
        detail = event.detail or {}
        if event.kind == AGENTS_ASKED:
            with self._lock:
                here = list(self._here.items())
            for sid, kiosk in here:
                self._tell(AGENT_ATTACHED, kiosk, sid)
            return
        if event.kind not in (AGENT_ATTACHED, AGENT_DETACHED):
            return
        kiosk, sid = str(detail.get("kiosk")), str(detail.get("sid"))
        with self._lock:
            if event.kind == AGENT_ATTACHED:
                self._elsewhere[sid] = kiosk
            elif self._elsewhere.pop(sid, None) is None:
                return
        self._changed(kiosk)

    def connected(self, printer: PrinterConfig) -> bool:
        return self._sid(printer) is not None

    def _sid(self, printer: PrinterConfig) -> str | None:
        """The agent's socket: this process's first, else the one another process told of last."""
        with self._lock:
            for agents in (self._here, self._elsewhere):
                found = [sid for sid, kiosk in agents.items() if kiosk in printer.kiosks]
                if found:
                    return found[-1]
            return None

    def _tell(self, kind: str, kiosk: str, sid: str) -> None:
        self.bus.publish([HallEvent(kind, self.clock.now(), detail={"kiosk": kiosk, "sid": sid})])

    def _changed(self, kiosk: str) -> None:
        for listener in self._listeners:
            try:
                listener(kiosk)
            except Exception:
                log.exception("agent listener failed")

    def deliver(self, printer: PrinterConfig, data: bytes, timeout: float) -> PrinterStatus:
        sid = self._sid(printer)
        if sid is None:
            raise PrinterFault(OFFLINE.code, OFFLINE.message)
        job = {"printer": asdict(printer), "data": base64.b64encode(data).decode()}
        try:
            answer = self.server.call("print_job", job, to=sid, timeout=timeout)
        except Exception as exc:  # socketio.exceptions.TimeoutError, or the socket went away
            with self._lock:  # told of by a process that died since, say: the agent will come back elsewhere
                lost = self._elsewhere.pop(sid, None)
            if lost is not None:
                self._changed(lost)
            raise PrinterFault("unacknowledged", f"打印代理 {timeout:g} 秒内未确认，请补打", str(exc)) from exc
        if not isinstance(answer, dict):
            raise PrinterFault("error", "打印代理的回答无法识别", repr(answer)[:100])
        if not answer.get("ok"):
            error = answer.get("error") or {}
            raise PrinterFault(str(error.get("code", "error")), str(error.get("message", "打印失败")))
        return PrinterStatus(str(answer.get("status", "unknown")), str(answer.get("message", "")))


def printer_from_json(data: dict[str, Any]) -> PrinterConfig:
    """The printer as the server's config.toml describes it (the agent has no config of its own)."""
    fields = dict(data)
    fields["connection"] = Connection(**fields["connection"])
    fields["kiosks"] = tuple(fields.get("kiosks", ()))
    return PrinterConfig(**fields)


#: each printer's last status on this PC, so that a fault is logged when it starts and ends, not for every job
_last_status: dict[str, PrinterStatus] = {}


def print_job(job: dict[str, Any]) -> dict[str, Any]:
    """Print one job on this PC; the acknowledgement to send back."""
    try:
        printer, data = printer_from_json(job["printer"]), base64.b64decode(job["data"])
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("malformed job: %s", exc)
        return {"ok": False, "error": {"code": "error", "message": "打印任务格式错误"}}
    answer: dict[str, Any]
    try:
        status = device.send(printer, data)
        answer = {"ok": True, "status": status.code, "message": status.message}
    except PrinterFault as fault:
        status = PrinterStatus(fault.code, fault.message)
        answer = {"ok": False, "error": {"code": fault.code, "message": fault.message}}
    device.log_change(log, printer.name, _last_status.get(printer.name, PrinterStatus.of("unknown")), status)
    _last_status[printer.name] = status
    return answer


def run_agent(server_url: str, token: str) -> None:
    """Connect (and keep reconnecting) to the hall server and print what it sends, until interrupted."""
    import socketio

    client = socketio.Client(reconnection=True, reconnection_delay=1, reconnection_delay_max=10)

    @client.event
    def connect() -> None:
        log.info("connected to %s", server_url)
        print(f"printer agent connected to {server_url}", flush=True)

    @client.event
    def disconnect(reason: Any = None) -> None:
        log.warning("disconnected (%s); reconnecting", reason)

    client.on("print_job", print_job)
    client.connect(server_url, auth={"token": token, "agent": True}, transports=["websocket"], wait_timeout=10,
                   retry=True)
    client.wait()
