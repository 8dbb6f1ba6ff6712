"""`hallq district …`: the district server's commands, a subcommand of server/cli.py's parser. Only argparse at
import: `run` patches for gevent (server/cli.py main) before anything else is imported."""

from __future__ import annotations

import argparse
import os
import signal
from typing import Any

#: district.toml's path when --config is not given
CONFIG_VARIABLE = "HALLQ_DISTRICT_CONFIG"
#: connections one address may hold: a hall's shipper holds one, an admin's browser a few
PER_ADDRESS = 64


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """`hallq district init|run|user add|revoke|halls`, under ``commands`` (server/cli.py's subparsers)."""
    district = commands.add_parser("district", parents=[common], help="the district server: every hall's events "
                                   "and figures (--config district.toml, env HALLQ_DISTRICT_CONFIG)")
    actions = district.add_subparsers(dest="action", required=True)
    actions.add_parser("init", parents=[common], help="create or upgrade the district's database; register "
                       "district.toml's halls and tokens")
    run = actions.add_parser("run", parents=[common], help="serve the district")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=5100)
    user = actions.add_parser("user", parents=[common], help="district admins").add_subparsers(
        dest="user_action", required=True)
    add_user = user.add_parser("add", parents=[common], help="create a district admin or set a new password; "
                               "the password is asked for (or read from stdin with --password-stdin)")
    add_user.add_argument("name")
    add_user.add_argument("--display-name", help="the admin's name as the screens show it")
    secret = add_user.add_mutually_exclusive_group()
    secret.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    secret.add_argument("--password", help="the password on the command line: visible to others in `ps`")
    actions.add_parser("revoke", parents=[common], help="the hall's token stops working at once (put a new one "
                       "in district.toml and run init)").add_argument("code")
    actions.add_parser("halls", parents=[common], help="every hall: events held, last seen, revoked")


def main(args: argparse.Namespace) -> int:
    return {"init": _init, "run": _run, "user": _user, "revoke": _revoke, "halls": _halls}[args.action](args)


def _config(args: argparse.Namespace) -> Any:
    from district.config import load_district

    return load_district(args.config or os.environ.get(CONFIG_VARIABLE) or "district.toml")


def _store(args: argparse.Namespace) -> Any:
    from district.store import DistrictStore
    from server.clock import SystemClock

    store = DistrictStore(_config(args), SystemClock())
    store.create_schema()
    return store


def _init(args: argparse.Namespace) -> int:
    store = _store(args)
    new = store.register()
    print(f"district: {store.config.name}")
    print(f"database: {store.engine.url.render_as_string(hide_password=True)}")
    for hall in store.halls():
        print(f"hall {hall.code:16} {hall.name}{'  (new)' if hall.code in new else ''}")
    return 0


def _user(args: argparse.Namespace) -> int:
    from district.auth import DistrictAccounts
    from server.cli import _password

    DistrictAccounts(_store(args)).add_user(args.name, _password(args), args.display_name)
    print(f"district admin {args.name} saved")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    revoked = _store(args).revoke(args.code)
    print(f"hall {args.code}: {revoked} token(s) revoked")
    return 0


def _halls(args: argparse.Namespace) -> int:
    from datetime import datetime

    store = _store(args)
    zone = store.config.timezone
    for hall in store.halls():
        seen = hall.last_seen_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if hall.last_seen_at else "never"
        behind = ""
        if hall.last_seen_at:
            behind = f"  last heard {int((datetime.now(zone) - hall.last_seen_at).total_seconds())} s ago"
        state = "revoked" if hall.revoked else "active"
        # as_of: the hall's newest event when it last shipped; the ones after through were still to come
        print(f"{hall.code:16} {state:8} through {hall.through:<10} behind {hall.as_of - hall.through:<6} "
              f"seen {seen}{behind}  {hall.name}")
    return 0


def _run(args: argparse.Namespace) -> int:
    import gevent

    from district.app import create_app
    from server.connections import GuardedServer, guard_sessions

    app = create_app(_config(args), async_mode="gevent")
    guard_sessions(app.extensions["district_socketio"].server)
    server = GuardedServer((args.host, args.port), app, log=None, per_address=PER_ADDRESS, behind_proxy=False)
    server.init_socket()
    host, port = server.address[:2]
    print(f"hallq district serving {app.extensions['district'].config.name} on http://{host}:{port}/district/",
          flush=True)
    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)
    server.serve_forever()
    return 0
