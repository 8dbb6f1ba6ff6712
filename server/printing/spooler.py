"""Print jobs off the request path: one queue and one worker per printer, and each printer's state for staff.

The ticket is saved and the kiosk answered before anything here runs: the spooler only hears the engine's
events (``issued``, ``reprint_requested``), so a printer that is off, out of paper or silent costs the kiosk
nothing. Between jobs each worker reads its printer's status, so staff see a fault before the next resident
does, and a printer that comes back is used again by itself.

With several server processes (server/cluster.py) one of them leads each printer: it alone prints and reads the
status. It publishes the printer's state at each change and each status read (``printer_state``, relayed to the
others, stored by no one; and at once to a process that starts and asks, ``printer_states_asked``), which the
others adopt as theirs, so any process answers what the printer is doing and a process that takes the printer
over starts from there. Every process hears every ``issued``: one that does not lead the printer keeps
the jobs of the last ``job_expiry`` seconds whose outcome (``printed``, ``print_failed``) it has not heard, and
prints them if it takes the printer over: the paper its dead leader had queued, or that was issued while no process
led the printer. A ticket printed twice (its leader died between printing and telling) beats one never printed.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from server.clock import Clock
from server.config import HallConfig
from server.events import HallEvent, TicketView
from server.printing import device
from server.printing.agent import OFFLINE
from server.printing.device import PrinterFault, PrinterStatus
from server.printing.settings import PrinterConfig
from server.printing.ticket import TicketPrint, render

log = logging.getLogger(__name__)

#: The tags printed for the resident's kind of ticket.
PRIORITY_TAG = "绿色通道"
APPOINTMENT_TAG = "预约"
#: a printer's state as the process leading it last saw it: for the hall's other processes, stored by no one
PRINTER_STATE = "printer_state"
PRINTER_STATES_ASKED = "printer_states_asked"  # by a process starting: the leaders publish their printers' states
PRINT_OUTCOMES = frozenset({"printed", "print_failed"})  # server/queue.py's record_print
#: jobs kept per printer led elsewhere, at most (the age limit, ``job_expiry``, usually keeps far fewer)
RECENT_JOBS = 1000


class AgentLink(Protocol):
    """Hands a rendered job to the `hallq printer-agent` of the printer's kiosk PC and waits for its answer."""

    def deliver(self, printer: PrinterConfig, data: bytes, timeout: float) -> PrinterStatus: ...

    def roll_call(self) -> None:
        """Learn afresh which agents are connected (this process now leads a printer on a kiosk PC)."""


class Runtime(Protocol):
    """Where workers run: threads, or greenlets under gevent (blocking device calls then go to real threads)."""

    def start(self, target: Callable[[], None]) -> None: ...

    def blocking(self, call: Callable[..., Any], *args: Any) -> Any: ...


class ThreadRuntime:
    """Workers as threads; under gevent's monkey-patching those are greenlets, so USB, serial and file I/O and
    image rendering (which never yield) go to gevent's pool of real threads."""

    def start(self, target: Callable[[], None]) -> None:
        threading.Thread(target=target, daemon=True, name="hallq-printer").start()

    def blocking(self, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)``; what it raises is raised here, in the worker, which handles it. In the pool the
        exception comes back as a value: one escaping a pool thread is printed by gevent's hub as a full
        traceback, for every job while a printer is off."""
        from gevent import monkey

        if monkey.is_module_patched("threading"):
            import gevent

            outcome = gevent.get_hub().threadpool.apply(_outcome, (call, *args))
            if isinstance(outcome, _Raised):
                raise outcome.error
            return outcome
        return call(*args)


@dataclass(frozen=True)
class _Raised:
    error: Exception


def _outcome(call: Callable[..., Any], *args: Any) -> Any:
    """Runs in gevent's pool: the result, or what was raised wrapped as a value."""
    try:
        return call(*args)
    except Exception as exc:
        return _Raised(exc)


@dataclass
class PrinterState:
    config: PrinterConfig
    status: PrinterStatus = field(default_factory=lambda: PrinterStatus("unknown", "尚未检测"))
    last_error: dict[str, str] | None = None
    checked_at: datetime | None = None

    def shared(self) -> dict[str, Any]:
        """What the other processes adopt (the ``printer_state`` event's detail)."""
        return {"printer": self.config.name, "status": self.status.code, "message": self.status.message,
                "last_error": self.last_error, "checked_at": self.checked_at.isoformat() if self.checked_at else None}

    def adopt(self, shared: dict[str, Any]) -> None:
        self.status = PrinterStatus(str(shared["status"]), str(shared["message"]))
        self.last_error = shared.get("last_error")
        self.checked_at = datetime.fromisoformat(shared["checked_at"]) if shared.get("checked_at") else None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.config.name, "status": self.status.code, "message": self.status.message,
                "ok": self.status.printable, "last_error": self.last_error,
                "checked_at": self.checked_at.isoformat() if self.checked_at else None,
                "mode": self.config.mode, "paper_width": self.config.paper_width, "kiosks": list(self.config.kiosks),
                "via_agent": self.config.via_agent}


@dataclass(frozen=True)
class PrintJob:
    ticket_id: int
    paper: TicketPrint
    #: who will pick the paper up (``device:kiosk-1`` or a staff name): told the outcome
    for_actor: str
    queued_at: datetime


_CHECK = object()  # a queue item asking the worker to read the status now
_STOP = object()


class Spooler:
    def __init__(self, config: HallConfig, record: Callable[[int, str, str, str, dict[str, str] | None], None],
                 clock: Clock, public_url: str, runtime: Runtime, agents: AgentLink | None = None,
                 leads: Callable[[str], bool] = lambda _printer: True,
                 publish: Callable[[list[HallEvent]], None] = lambda _events: None):
        """``leads(printer)``: whether this process prints on that printer and reads its status (one process of
        the hall does: server/cluster.py); ``publish``: the hall's event bus, for the printer states it leads."""
        self.config = config
        self.leads = leads
        self.publish = publish
        self.record = record
        self.clock = clock
        self.public_url = public_url
        self.runtime = runtime
        self.agents = agents
        self.states = {p.name: PrinterState(p, OFFLINE) if p.via_agent else PrinterState(p)
                       for p in config.printing.printers}
        self._queues: dict[str, queue.Queue[Any]] = {p.name: queue.Queue() for p in config.printing.printers}
        #: the recent jobs of each printer another process leads, outcome not yet heard: printed if this one takes
        #: the printer over
        self._unsettled: dict[str, deque[PrintJob]] = {p.name: deque(maxlen=RECENT_JOBS)
                                                       for p in config.printing.printers}
        self._listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        self._started = False

    # ------------------------------------------------------------------ wiring

    def start(self) -> None:
        if not self._started:
            self._started = True
            self.publish([HallEvent(PRINTER_STATES_ASKED, self.clock.now())])
            for printer in self.config.printing.printers:
                self.runtime.start(lambda printer=printer: self._work(printer))

    def on_change(self, listener: Callable[[list[dict[str, Any]]], None]) -> None:
        """``listener(printers)`` runs in a worker whenever a printer's state changes."""
        self._listeners.append(listener)

    def printers(self) -> list[dict[str, Any]]:
        return [state.to_json() for state in self.states.values()]

    def track_url(self, token: str) -> str:
        return f"{self.public_url}/t/{token}"

    def printer_for(self, actor: str, requested: str | None = None) -> PrinterConfig | None:
        """The printer that serves ``actor``: the one asked for, else its kiosk's, else the guide desk's."""
        printing = self.config.printing
        if requested is not None:
            return printing.printer(requested)
        if actor.startswith("device:"):
            return printing.printer_of_kiosk(actor.removeprefix("device:"))
        return printing.printer(printing.desk_printer) if printing.desk_printer else None

    def report(self, name: str, status: PrinterStatus) -> None:
        """A state learnt elsewhere (an agent connecting or going away)."""
        self._update(self.states[name].config, status, None)

    def stop(self) -> None:
        """End the workers (tests; the server's workers live as long as it does)."""
        for jobs in self._queues.values():
            jobs.put(_STOP)

    def check(self, name: str) -> None:
        """Ask the printer's worker to read its status now (after staff refilled paper, say)."""
        self._queues[name].put(_CHECK)

    def take_over(self, name: str) -> int:
        """This process now leads printer ``name``: print the recent jobs whose outcome it never heard (their
        age still counted from when it heard of them), then read the printer; how many jobs it queued."""
        unsettled = self._unsettled[name]
        self._forget_expired(unsettled)
        jobs = list(unsettled)
        unsettled.clear()
        for job in jobs:
            self._queues[name].put(job)
        if jobs:
            log.warning("printer %s taken over with %d job(s) its last leader may not have printed", name, len(jobs))
        if self.states[name].config.via_agent and self.agents is not None:
            self.agents.roll_call()
        self.check(name)
        return len(jobs)

    def unsettled(self, name: str) -> list[int]:
        """The tickets of the jobs kept for printer ``name`` (led elsewhere), oldest first."""
        self._forget_expired(self._unsettled[name])
        return [job.ticket_id for job in self._unsettled[name]]

    # ------------------------------------------------------------------ events in

    def on_event(self, event: HallEvent) -> None:
        detail = event.detail or {}
        if event.kind == PRINTER_STATE:
            self._adopt(detail)
            return
        if event.kind == PRINTER_STATES_ASKED:
            self._share([state for name, state in self.states.items() if self.leads(name)])
            return
        if event.kind in PRINT_OUTCOMES:
            self._settled(str(detail.get("printer")), detail.get("ticket"))
            return
        if event.ticket is None or event.actor is None:
            return
        if event.kind == "issued":
            printer, reprint = self.printer_for(event.actor), False
        elif event.kind == "reprint_requested":
            printer, reprint = self.printer_for(event.actor, detail.get("printer")), True
        else:
            return
        if printer is None:
            return
        job = PrintJob(event.ticket.id, self.paper(event.ticket, reprint), event.actor, self.clock.now())
        if self.leads(printer.name):
            self._queues[printer.name].put(job)
        else:
            self._keep(printer.name, job)

    def _keep(self, printer: str, job: PrintJob) -> None:
        """A job for the printer's leader elsewhere, kept until its outcome is heard."""
        unsettled = self._unsettled[printer]
        self._forget_expired(unsettled)
        unsettled.append(job)

    def _adopt(self, shared: dict[str, Any]) -> None:
        """A printer's state as the process leading it published it: this process's own, silently (the leader
        told every screen itself)."""
        state = self.states.get(str(shared.get("printer")))
        if state is not None and not self.leads(state.config.name):
            state.adopt(shared)

    def _settled(self, printer: str, ticket_id: Any) -> None:
        """A job's outcome was heard: it is not printed again on taking the printer over."""
        unsettled = self._unsettled.get(printer)
        job = next((job for job in unsettled or () if job.ticket_id == ticket_id), None)
        if unsettled is not None and job is not None:
            unsettled.remove(job)

    def _share(self, states: list[PrinterState]) -> None:
        """The states of printers this process leads, for the others to adopt."""
        if states:
            self.publish([HallEvent(PRINTER_STATE, self.clock.now(), detail=state.shared()) for state in states])

    def _forget_expired(self, jobs: deque[PrintJob]) -> None:
        """Jobs are kept in the order heard: the expired ones are the first."""
        now = self.clock.now()
        while jobs and (now - jobs[0].queued_at).total_seconds() > self.config.printing.job_expiry:
            jobs.popleft()

    def paper(self, ticket: TicketView, reprint: bool = False) -> TicketPrint:
        service = self.config.service(ticket.service)
        return TicketPrint(
            hall_name=self.config.name, number=ticket.number, service_name=ticket.service_name,
            waiting_ahead=ticket.waiting_ahead, issued_at=ticket.issued_at.astimezone(self.config.timezone),
            windows=ticket.windows_text,
            tag=PRIORITY_TAG if ticket.priority else APPOINTMENT_TAG if ticket.appointment else None,
            track_url=self.track_url(ticket.track_token) if ticket.track_token else None,
            notice=f"请携带：{service.materials}" if service and service.materials else None, reprint=reprint,
            complaint_phone=self.config.hall.complaint_phone)

    # ------------------------------------------------------------------ the worker of one printer

    def _work(self, printer: PrinterConfig) -> None:
        jobs = self._queues[printer.name]
        self._check(printer)
        while True:
            try:
                job = jobs.get(timeout=self.config.printing.status_interval)
            except queue.Empty:
                job = _CHECK
            if job is _STOP:
                return
            try:
                if job is _CHECK:
                    self._check(printer)
                elif self.leads(printer.name):
                    self._print(printer, job)
                else:  # the printer was lost (the database went away) with this job queued: its new leader prints it
                    self._keep(printer.name, job)
            except Exception:  # the worker must outlive any bug in one job
                log.exception("printer %s: job failed unexpectedly", printer.name)

    def _check(self, printer: PrinterConfig) -> None:
        if printer.via_agent or printer.connection.kind == "dummy" or not self.leads(printer.name):
            return  # an agent reports with each job; a dummy has nothing to read; another process reads this one
        try:
            status = self.runtime.blocking(probe, printer)
        except PrinterFault as fault:
            status = PrinterStatus(fault.code, fault.message)
        self._update(printer, status, None, read=True)

    def _print(self, printer: PrinterConfig, job: PrintJob) -> None:
        error: dict[str, str] | None = None
        waited = (self.clock.now() - job.queued_at).total_seconds()
        if waited > self.config.printing.job_expiry:  # no paper for a resident who has gone: nothing is sent
            self._record(printer, job, {"code": "expired", "message": f"排队 {waited:.0f} 秒未能打印，已取消，请补打"})
            return
        try:
            data = self.runtime.blocking(render, job.paper, self.config.printing.layout, printer)
            if printer.via_agent:
                if self.agents is None:
                    raise PrinterFault("error", "打印代理不可用")
                status = self.agents.deliver(printer, data, self.config.printing.agent_timeout)
            else:
                status = self.runtime.blocking(device.send, printer, data)
        except PrinterFault as fault:  # logged by _update when it changes the printer's state, not per ticket
            error = {"code": fault.code, "message": fault.message}
            status = PrinterStatus(fault.code, fault.message)
        self._update(printer, status, error)
        self._record(printer, job, error)

    def _record(self, printer: PrinterConfig, job: PrintJob, error: dict[str, str] | None) -> None:
        try:
            self.record(job.ticket_id, job.paper.number, job.for_actor, printer.name, error)
        except Exception:
            log.exception("printer %s: could not record the outcome for ticket %s", printer.name, job.ticket_id)

    def _update(self, printer: PrinterConfig, status: PrinterStatus, error: dict[str, str] | None,
                read: bool = False) -> None:
        """The printer's state after a job, a status read (``read``) or an agent's coming or going."""
        state = self.states[printer.name]
        now = self.clock.now()
        device.log_change(log, printer.name, state.status, status)
        changed = state.status != status or error is not None
        state.status, state.checked_at = status, now
        if error is not None:
            state.last_error = {**error, "at": now.isoformat()}
        if (changed or read) and self.leads(printer.name):
            self._share([state])
        if changed:
            printers = self.printers()
            for listener in self._listeners:
                try:
                    listener(printers)
                except Exception:
                    log.exception("printer state listener failed")


def probe(printer: PrinterConfig) -> PrinterStatus:
    """Open, read DLE EOT, close: what `hallq printers` and the background check see."""
    connection = device.open_printer(printer)
    try:
        return device.read_status(connection)
    finally:
        connection.close()
