"""Where the parts of one hall are put together: config, storage, clock, engine, accounts, event bus,
appointments, the guide desk's records and their archives, and the complaint register.

Used by the web app and by the CLI alike, so both see the same hall.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from server.appointments import Appointments
from server.archives import Archives
from server.auth import Accounts
from server.cases import Cases
from server.clock import Clock, SystemClock
from server.cluster import channel_of
from server.complaints import Complaints
from server.config import MESSAGE_QUEUE_PATTERN, ConfigError, HallConfig, load_config
from server.db import Storage
from server.desk import DeskRecords
from server.evaluation import Evaluations
from server.events import EventBus
from server.queue import QueueEngine
from server.stats import Statistics
from server.throttle import Tallies, tallies_of

MESSAGE_QUEUE_VARIABLE = "HALLQ_MESSAGE_QUEUE"


@dataclass(frozen=True)
class Settings:
    """Where things are: from command-line options, else HALLQ_CONFIG / HALLQ_INSTANCE / DATABASE_URL."""

    config_path: Path
    instance: Path
    database_url: str
    clock: Clock = field(default_factory=SystemClock)
    #: where the server answers (``hallq run`` sets it); the tracking QR uses it unless config.toml sets one
    served_at: str = "http://127.0.0.1:5000"
    #: HALLQ_MESSAGE_QUEUE: the Redis shared by the hall's server processes; None: config.toml's, if any
    message_queue: str | None = None

    @classmethod
    def resolve(cls, config: str | os.PathLike[str] | None = None, instance: str | os.PathLike[str] | None = None,
                database_url: str | None = None, clock: Clock | None = None,
                served_at: str | None = None) -> Settings:
        config_path = Path(config or os.environ.get("HALLQ_CONFIG") or "config.toml")
        instance_dir = Path(instance or os.environ.get("HALLQ_INSTANCE") or "instance").absolute()
        url = database_url or os.environ.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'hallq.db'}"
        return cls(config_path, instance_dir, url, clock or SystemClock(), served_at or cls.served_at,
                   os.environ.get(MESSAGE_QUEUE_VARIABLE) or None)


@dataclass
class Hall:
    settings: Settings
    config: HallConfig
    storage: Storage
    bus: EventBus
    engine: QueueEngine
    accounts: Accounts
    cases: Cases
    evaluation: Evaluations
    stats: Statistics
    appointments: Appointments
    desk: DeskRecords
    complaints: Complaints
    #: where the kiosks' and logins' limits are counted: Redis when several processes serve the hall
    tallies: Tallies

    @classmethod
    def open(cls, settings: Settings) -> Hall:
        """Validate the config, open the database (creating tables and window rows) and wire the engine."""
        config = load_config(settings.config_path)
        settings.instance.mkdir(mode=0o700, parents=True, exist_ok=True)  # database, secret key, backups
        _check_message_queue(settings, config)
        storage = Storage(settings.database_url)
        storage.create_schema()
        bus = EventBus()
        tallies = tallies_of(_message_queue(settings, config), channel_of(settings.database_url))
        engine = QueueEngine(storage, config, settings.clock, bus)
        engine.ensure_windows()
        calendar = engine.hours.calendar  # one calendar for the hall's rules
        cases = Cases(storage, config, settings.clock, bus, calendar)
        evaluation = Evaluations(storage, config, settings.clock, bus, calendar)
        engine.finish_hooks += [cases.on_finish, evaluation.on_finish]
        return cls(settings, config, storage, bus, engine, Accounts(storage, settings.clock, bus, tallies=tallies),
                   cases, evaluation,
                   Statistics(storage, config, settings.clock, engine.extended_records),
                   Appointments(storage, config, settings.clock, bus, engine),
                   DeskRecords(storage, config, settings.clock, bus),
                   Complaints(storage, config, settings.clock, bus, calendar), tallies)

    @property
    def message_queue(self) -> str:
        """The Redis of the hall's several server processes; empty: this is the only one."""
        return _message_queue(self.settings, self.config)

    @property
    def archives(self) -> Archives:
        """The month files of the guide desk's registers, in the instance folder."""
        return Archives(self.storage, self.config, self.settings.clock, self.settings.instance)

    @property
    def public_url(self) -> str:
        """The address residents' phones open from the ticket's QR code."""
        return self.config.public_url or self.settings.served_at

    def secret_key(self) -> str:
        """The session-signing key, made once per instance folder and kept private to its owner."""
        path = self.settings.instance / "secret_key"
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
        return path.read_text().strip()


def _check_message_queue(settings: Settings, config: HallConfig) -> None:
    """Several processes need a database they can all write to at once, and a Redis address redis-py can read."""
    if settings.message_queue is not None and not re.match(MESSAGE_QUEUE_PATTERN, settings.message_queue):
        raise ConfigError(MESSAGE_QUEUE_VARIABLE, "(environment)", None,
                          "must be a redis:// (rediss://, unix://) address, e.g. redis://127.0.0.1:6379/0")
    if _message_queue(settings, config) and \
            make_url(settings.database_url).get_backend_name() == "sqlite":
        raise ConfigError(str(settings.config_path), "server.message_queue", None,
                          "several server processes need PostgreSQL: set DATABASE_URL to postgresql+psycopg://…, or "
                          "leave message_queue empty to serve from one process on SQLite")


def _message_queue(settings: Settings, config: HallConfig) -> str:
    """HALLQ_MESSAGE_QUEUE, else config.toml's ``[server] message_queue``; empty: one process."""
    return settings.message_queue or config.server.message_queue
