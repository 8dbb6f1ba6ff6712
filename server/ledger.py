"""What the hall's registers of work with a deadline share (the case records, the complaint register, the ratings'
follow-ups): the records, the hall's rules, the clock, the event bus, and the calendar whose working days their
deadlines count in. Plain Python: no Flask."""

from __future__ import annotations

from datetime import date

from server.calendar import HallCalendar
from server.clock import Clock, business_date
from server.config import HallConfig
from server.db import Storage
from server.events import EventBus


class Ledger:
    def __init__(self, storage: Storage, config: HallConfig, clock: Clock, bus: EventBus, calendar: HallCalendar):
        self.storage = storage
        self.config = config
        self.clock = clock
        self.bus = bus
        self.calendar = calendar

    def today(self) -> date:
        """The hall's business date now."""
        return business_date(self.clock.now(), self.config.timezone)
