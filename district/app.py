"""The district server's composition root: Flask and Flask-SocketIO (gevent under `hallq district run`) with the
halls' ingest, the district admins' login and, when present, the screens (district/screens.py)."""

from __future__ import annotations

import importlib
import json
from datetime import timedelta
from typing import Any

from flask import Flask
from flask_socketio import SocketIO
from jinja2.utils import htmlsafe_json_dumps

from district import auth, ingest
from district.auth import DistrictAccounts
from district.config import DistrictConfig
from district.store import DistrictStore
from server import vocabulary, web, web_guard
from server.app import HASH_THREADS, ROOT, STATIC, _behind_requests
from server.clock import Clock, SystemClock


def create_app(config: DistrictConfig, clock: Clock | None = None, async_mode: str | None = None) -> Flask:
    """The district server over its database, brought to the newest schema, each hall's replica too (`hallq district
    init` has registered the halls and made the session key)."""
    store = DistrictStore(config, clock or SystemClock())
    store.create_schema()
    store.upgrade_replicas()
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static",
                template_folder=str(ROOT / "server" / "templates"))
    app.config.update(
        SECRET_KEY=store.secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="district_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=ingest.MAX_BODY,
    )
    web_guard.install(app)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["district"] = store
    accounts = DistrictAccounts(store)
    app.extensions["district_accounts"] = accounts
    app.extensions["hallq_pause"] = lambda _seconds: None  # server/web.py's 429 pause: the district's are rare
    web.register_errors(app, api=auth.API)
    app.register_blueprint(ingest.bp)
    app.register_blueprint(auth.bp)

    words = vocabulary.words()
    words_json = htmlsafe_json_dumps(words, dumps=json.dumps, ensure_ascii=False)

    @app.context_processor
    def district_zone() -> dict[str, Any]:
        """The hall's screen.html and its scripts read the zone and the words: the district's are the halls'."""
        return {"hall_zone": config.timezone.key, "hall_words": words, "hall_words_json": words_json,
                "role": "district"}

    socketio = SocketIO(app, async_mode=async_mode, ping_interval=10, ping_timeout=10)
    if socketio.async_mode == "gevent":
        from gevent.threadpool import ThreadPool

        pool = ThreadPool(HASH_THREADS)
        accounts.hashes.run_blocking = lambda job: pool.apply(_behind_requests, (job,))
    app.extensions["district_socketio"] = socketio
    screens = _screens()
    if screens is not None:
        app.register_blueprint(screens.blueprint)
        screens.init_app(app, socketio, store)
    return app


def _screens() -> Any:
    """district/screens.py (the side-by-side figures, the drill-down, the live board), once it is there."""
    try:
        return importlib.import_module("district.screens")
    except ModuleNotFoundError as exc:
        if exc.name != "district.screens":
            raise
        return None
