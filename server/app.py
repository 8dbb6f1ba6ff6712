"""The composition root: builds the Flask app, its Socket.IO server and wires every role package in."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, render_template
from flask_socketio import SocketIO
from jinja2.utils import htmlsafe_json_dumps

from admin import bp as admin_bp
from caller import bp as caller_bp
from display import bp as display_bp
from evaluator import bp as evaluator_bp
from evaluator.feed import EvaluatorFeed
from guide import bp as guide_bp
from kiosk import bp as kiosk_bp
from server import (
    accounts_api,
    api,
    archives_api,
    cases_api,
    cluster,
    complaints_api,
    evaluation_api,
    guide_api,
    openapi,
    prompts,
    stats_api,
    vocabulary,
    web,
    web_guard,
)
from server.announcer import Announcer
from server.announcer import bp as audio_bp
from server.cluster import AdvisoryLocks, Leadership, LocalRelay, RedisRelay, Relay, SoleProcess
from server.fanout import Fanout, SharedRooms
from server.hall import Hall, Settings
from server.printing.agent import AgentHub
from server.printing.spooler import Spooler, ThreadRuntime
from server.proxy import trust_proxies
from server.realtime import CALLED, Realtime
from server.shipper import POSITION_FILE, HttpLink, Shipper
from server.throttle import DeviceLimits
from server.voice.speech import Voice
from track import bp as track_bp
from windowscreen import bp as windowscreen_bp

ROOT = Path(__file__).resolve().parent.parent
#: hallq.js, hallq.css, vendor/: at the top of a checkout, server/static once installed from the wheel (pyproject.toml)
STATIC = next((folder for folder in (ROOT / "server" / "static", ROOT / "static") if folder.is_dir()), ROOT / "static")


#: threads hashing passwords under gevent: one, so a flood of logins takes at most one core of the hall's two
HASH_THREADS = 1
TICK_SECONDS = 5  # how soon 延时服务 starts and ends, an appointment lapses, a 未评价 is recorded


class Ticker:
    """The hall's clock-driven rules (延时服务, the day's end, appointments more than 30 minutes late), run without
    anyone pressing anything: by one process of the hall (server/cluster.py)."""

    def __init__(self, socketio: SocketIO, hall: Hall, leadership: Leadership):
        self.socketio = socketio
        self.hall = hall
        self.leadership = leadership
        self.running = True

    def run(self) -> None:
        while self.running:
            if self.leadership.holds(cluster.TICKER):
                self.tick()
            self.socketio.sleep(TICK_SECONDS)

    def tick(self) -> None:
        for tick in (self.hall.engine.tick, self.hall.appointments.tick, self.hall.evaluation.tick):
            try:
                tick()
            except Exception:  # a database hiccup must not stop the hall's clock
                logging.getLogger(__name__).exception("tick failed")

    def stop(self) -> None:
        self.running = False


def _behind_requests(job: Callable[[], Any]) -> Any:
    """Run ``job`` in this thread at the lowest CPU priority (on Linux only this thread's): the event loop's
    requests come first, so hashing a flood of passwords cannot slow the kiosks down."""
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, 0, 19)  # Linux: who=0 is the calling thread, not the whole process
    return job()


def create_app(settings: Settings | None = None, async_mode: str | None = None) -> Flask:
    hall = Hall.open(settings or Settings.resolve())
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static",
                instance_path=str(hall.settings.instance))
    app.config.update(
        SECRET_KEY=hall.secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),  # a working day from login, then log in again
        SESSION_REFRESH_EACH_REQUEST=False,  # re-signing the cookie on every click cost ~0.2 ms a request
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    trust_proxies(app, hall.config.server.trusted_proxies)
    web_guard.install(app)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["hallq"] = hall
    web.guard_input(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(guide_api.bp)
    web.register_errors(app)
    for blueprint in (audio_bp, kiosk_bp, caller_bp, display_bp, track_bp, windowscreen_bp, guide_bp,
                      evaluation_api.bp, prompts.bp, cases_api.bp, complaints_api.bp, stats_api.bp, accounts_api.bp,
                      archives_api.bp, evaluator_bp, admin_bp):
        app.register_blueprint(blueprint)

    words = vocabulary.words()
    # in the vocabulary's order (the rating levels best first), which Flask's tojson would sort away
    words_json = htmlsafe_json_dumps(words, dumps=json.dumps, ensure_ascii=False)

    @app.context_processor
    def hall_zone() -> dict[str, Any]:
        """Every page knows the hall's time zone and words from its first paint (screen.html puts the zone on
        <html> and the words in a JSON block that hallq.words reads): no screen keeps its own copy."""
        return {"hall_zone": hall.config.timezone.key, "hall_words": words, "hall_words_json": words_json}

    @app.get("/")
    def index() -> str:
        return render_template("index.html", hall=hall.config)

    shared = _shared_rooms(hall)
    socketio = SocketIO(app, async_mode=async_mode, ping_interval=10, ping_timeout=10,
                        **({"client_manager": shared} if shared else {}))
    if socketio.async_mode == "gevent":  # `hallq run`: gevent is patched in
        from gevent.threadpool import ThreadPool

        from server.connections import guard_sessions

        guard_sessions(socketio.server)  # its websockets need the guards
        pool = ThreadPool(HASH_THREADS)  # a password hash (~120 ms of CPU) must not stall every other request
        hall.accounts.hashes.run_blocking = lambda job: pool.apply(_behind_requests, (job,))
    app.extensions["hallq_pause"] = socketio.sleep if socketio.async_mode == "gevent" else lambda _seconds: None
    app.extensions["hallq_limits"] = DeviceLimits(hall.settings.clock, hall.config.server.kiosk_burst,
                                                  hall.config.server.kiosk_per_minute, hall.tallies)
    leadership, relay = _cluster(hall, socketio)
    app.extensions["hallq_leadership"] = leadership
    agents = AgentHub(socketio.server, hall.bus, hall.settings.clock)
    # the printer states are published for the hall's other processes only: one process has none to tell
    spooler = Spooler(hall.config, hall.engine.record_print, hall.settings.clock, hall.public_url, ThreadRuntime(),
                      agents, leads=lambda printer: leadership.holds(cluster.printer_job(printer)),
                      **({"publish": hall.bus.publish} if hall.message_queue else {}))
    hall.bus.subscribe(spooler.on_event, remote=True)
    app.extensions["hallq_spooler"] = spooler
    voice = Voice(hall.config.voice, hall.settings.instance / "voice")
    announcer = Announcer(hall.config, voice, socketio.start_background_task)
    app.extensions["hallq_announcer"] = announcer
    fanout = Fanout(socketio.server, direct=socketio.async_mode == "gevent")
    realtime = Realtime(socketio, hall, spooler, agents, announcer, fanout, leadership)
    if shared:
        shared.fanout = fanout
        shared.heard.append(realtime.heard)
        # listening from the start, not from this process's first client as python-socketio would: a printer
        # agent's acknowledgement comes back through it to the process leading the printer, clients or not
        socketio.server.manager_initialized = True
        shared.initialize()
    app.extensions["hallq_realtime"] = realtime
    realtime.device_handlers["evaluator"] = EvaluatorFeed(socketio, hall).on_connect
    leadership.on_gain(lambda job: _taken_over(job, realtime, spooler))
    leadership.start(socketio.start_background_task)
    relay.start(socketio.start_background_task)
    spooler.start()
    voice.start()
    ticker = Ticker(socketio, hall, leadership)
    socketio.start_background_task(ticker.run)
    app.extensions["hallq_ticker"] = ticker
    shipper = _shipper(hall, socketio, leadership)
    app.extensions["hallq_shipper"] = shipper
    app.extensions["hallq_stop"] = lambda: (spooler.stop(), ticker.stop(), realtime.stop(), relay.stop(),
                                            shipper and shipper.stop(), leadership.stop())  # background work ends
    return app


def _shared_rooms(hall: Hall) -> SharedRooms | None:
    """Socket.IO's rooms shared through the hall's Redis, when it has several processes."""
    if not hall.message_queue:
        return None
    return SharedRooms(hall.message_queue, cluster.channel_of(hall.settings.database_url),
                       frozenset({CALLED}))


def _cluster(hall: Hall, socketio: SocketIO) -> tuple[Leadership, Relay]:
    """Who runs the background jobs, and how this process hears the others' events (server/cluster.py)."""
    if not hall.message_queue:
        return SoleProcess(), LocalRelay()
    jobs = cluster.jobs_of((printer.name for printer in hall.config.printing.printers), hall.config.district.enabled)
    return (AdvisoryLocks(hall.settings.database_url, jobs, socketio.sleep),
            RedisRelay(hall.message_queue, cluster.channel_of(hall.settings.database_url), hall.bus, socketio.sleep))


def _shipper(hall: Hall, socketio: SocketIO, leadership: Leadership) -> Shipper | None:
    """The hall's events to the district ([district] url), by the process leading job "district", woken by every
    event of the hall: no request waits for it."""
    if not hall.config.district.enabled:
        return None
    shipper = Shipper(hall.storage, hall.config, hall.settings.clock, hall.settings.config_path,
                      HttpLink(hall.config.district), hall.settings.instance / POSITION_FILE)
    hall.bus.subscribe(shipper.heard, remote=True)
    socketio.start_background_task(shipper.run, lambda: leadership.holds(cluster.DISTRICT), socketio.sleep)
    return shipper


def _taken_over(job: str, realtime: Realtime, spooler: Spooler) -> None:
    """A job this process now runs starts from the present: the screens get a snapshot; the printer prints what
    its last leader may have left unprinted, and is read."""
    if job == cluster.SNAPSHOT:
        realtime.refresh()
    elif job.startswith("printer:"):
        spooler.take_over(job.removeprefix("printer:"))
