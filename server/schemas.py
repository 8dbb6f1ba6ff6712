"""The shapes the API's answers share (a ticket, a window, a print plan), declared once for the views and the
OpenAPI document (server/operations.py). Shapes used by one module only live next to its views."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from server.operations import Answer


class Ticket(Answer):
    """A ticket as the API shows it (server.events.TicketView.to_json): never the track token."""

    id: int
    number: str
    service: str
    service_name: str
    status: str
    priority: str | None
    waiting_ahead: int
    issued_at: datetime
    called_at: datetime | None
    window: int | None
    recalls: int
    channel: str
    appointment: bool
    estimated_wait_minutes: int | None
    windows_text: str
    no_open_window: bool
    window_notice: str | None
    transferred_from_window: int | None


class TrackedTicket(Ticket):
    """A ticket with its tracking page, for whoever hands the paper to the resident (kiosk, guide desk)."""

    track_url: str


class Clerk(Answer):
    name: str
    staff_no: str | None


class CurrentTicket(Answer):
    id: int
    number: str
    status: str
    service: str
    appointment: bool
    transferred_from: int | None


class Window(Answer):
    id: int
    name: str
    label: str
    zone: str
    services: list[str]
    status: str
    clerk: Clerk | None
    current: CurrentTicket | None
    #: 今日已办: residents this window finished today
    served_today: int


class OneTicket(Answer):
    ticket: Ticket


class TicketOrNone(Answer):
    """The ticket the action concerns; null when there was none (call-next with nobody waiting)."""

    ticket: Ticket | None


class WindowAnswer(Answer):
    window: Window


class PrintPlan(Answer):
    """What happens to the paper: queued on a printer (its outcome follows as a `printed` event), or none."""

    status: Literal["queued", "none"]
    printer: str | None
    printer_status: str | None
    message: str


class Issued(Answer):
    ticket: TrackedTicket
    print: PrintPlan
