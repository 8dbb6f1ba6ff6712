"""Printers on a kiosk PC (usually USB): the server renders, `hallq printer-agent` on that PC prints.

Both ends of one small protocol over Socket.IO. The agent signs in with its kiosk's device token and
``"agent": true``; the server sends ``print_job`` {job, printer, data (base64)} and waits for the agent's
acknowledgement {ok, status, message} or {ok: false, error: {code, message}}. A job not acknowledged in time
is reported as not printed (staff can reprint it); the agent reconnects by itself.
"""

from __future__ import annotations

import base64
import logging
import threading
from dataclasses import asdict
from typing import Any

from server.printing import device
from server.printing.device import PrinterFault, PrinterStatus
from server.printing.settings import Connection, PrinterConfig

log = logging.getLogger(__name__)

OFFLINE = PrinterStatus("agent_offline", "打印代理未连接（取号机电脑）")
ONLINE = PrinterStatus("unknown", "打印代理已连接")


class AgentHub:
    """The server's side: which kiosk's agent is connected on which socket, and handing jobs to it."""

    def __init__(self, server: Any):
        self.server = server  # the python-socketio server
        self._sids: dict[str, str] = {}  # kiosk name → socket id
        self._lock = threading.Lock()

    def attach(self, kiosk: str, sid: str) -> None:
        with self._lock:
            self._sids[kiosk] = sid

    def detach(self, sid: str) -> str | None:
        """Forget the agent on ``sid``; its kiosk's name, if it was one."""
        with self._lock:
            kiosk = next((k for k, s in self._sids.items() if s == sid), None)
            if kiosk is not None:
                del self._sids[kiosk]
            return kiosk

    def connected(self, printer: PrinterConfig) -> bool:
        return self._sid(printer) is not None

    def _sid(self, printer: PrinterConfig) -> str | None:
        with self._lock:
            return next((self._sids[k] for k in printer.kiosks if k in self._sids), None)

    def deliver(self, printer: PrinterConfig, data: bytes, timeout: float) -> PrinterStatus:
        sid = self._sid(printer)
        if sid is None:
            raise PrinterFault(OFFLINE.code, OFFLINE.message)
        job = {"printer": asdict(printer), "data": base64.b64encode(data).decode()}
        try:
            answer = self.server.call("print_job", job, to=sid, timeout=timeout)
        except Exception as exc:  # socketio.exceptions.TimeoutError, or the socket went away
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
