"""The `hallq` command. Heavy imports happen inside the commands: `run` must patch for gevent first."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import socket
import sys
from typing import Any

DEMO_USERS = (
    ("admin", "admin", "admin-demo-2026", "中心负责人", "0001"),
    ("guide", "guide", "guide-demo-2026", "导询员", "0002"),
    ("clerk1", "clerk", "clerk-demo-2026", "王小红", "1001"),
    ("clerk2", "clerk", "clerk-demo-2026", "李建国", "1002"),
)
DEMO_DEVICES = (("kiosk-1", "kiosk"), ("display-1", "display"))


def _common(default: Any) -> argparse.ArgumentParser:
    """--config and --instance, accepted before or after the command (the later one wins)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=default, help="config.toml of the hall (env HALLQ_CONFIG)")
    common.add_argument("--instance", default=default,
                        help="instance folder: database, secret key (env HALLQ_INSTANCE)")
    return common


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hallq", description="hallq: queue and kiosk system for service halls",
                                     parents=[_common(None)])
    common = _common(argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", parents=[common], help="create the instance folder, database and secret key")
    run = commands.add_parser("run", parents=[common], help="serve the hall")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=5000)
    commands.add_parser("demo", parents=[common], help="create demo accounts and devices and print them")
    user = commands.add_parser("user", parents=[common], help="staff accounts").add_subparsers(
        dest="action", required=True)
    add_user = user.add_parser("add", parents=[common], help="create or reset a staff account")
    add_user.add_argument("name")
    add_user.add_argument("--role", required=True, choices=("clerk", "guide", "admin"))
    add_user.add_argument("--password", required=True)
    add_user.add_argument("--display-name", help="name shown on the window screen")
    add_user.add_argument("--staff-no", default="", help="工号")
    device = commands.add_parser("device", parents=[common], help="kiosks and displays").add_subparsers(
        dest="action", required=True)
    add_device = device.add_parser("add", parents=[common], help="register a device; prints its token")
    add_device.add_argument("name")
    add_device.add_argument("--kind", required=True, choices=("kiosk", "display"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        from gevent import monkey

        monkey.patch_all()
    from server.config import ConfigError
    from server.queue import DomainError

    try:
        return _COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"配置错误 (config error): {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


def _hall(args: argparse.Namespace) -> Any:
    from server.hall import Hall, Settings

    return Hall.open(Settings.resolve(args.config, args.instance))


def _init(args: argparse.Namespace) -> int:
    hall = _hall(args)
    hall.secret_key()
    print(f"instance: {hall.settings.instance}")
    print(f"database: {hall.storage.url.render_as_string(hide_password=True)}")
    print(f"hall: {hall.config.name} ({len(hall.config.services)} services, {len(hall.config.windows)} windows)")
    return 0


def _user(args: argparse.Namespace) -> int:
    _hall(args).accounts.add_user(args.name, args.role, args.password, args.display_name, args.staff_no)
    print(f"user {args.name} ({args.role}) saved")
    return 0


def _device(args: argparse.Namespace) -> int:
    print(_hall(args).accounts.add_device(args.name, args.kind))
    return 0


def _demo(args: argparse.Namespace) -> int:
    hall = _hall(args)
    hall.secret_key()
    print("Demo accounts (passwords are for trying hallq only; change them for a real hall):")
    for username, role, password, display_name, staff_no in DEMO_USERS:
        hall.accounts.add_user(username, role, password, display_name, staff_no)
        print(f"  {role:6} {username:8} password {password}")
    tokens = {name: hall.accounts.add_device(name, kind) for name, kind in DEMO_DEVICES}
    base = os.environ.get("HALLQ_URL", "http://127.0.0.1:5000")
    print("Screens (the token after # is kept by the browser and never sent in the URL):")
    print(f"  kiosk   {base}/kiosk#token={tokens['kiosk-1']}")
    print(f"  display {base}/display#token={tokens['display-1']}")
    print(f"  caller  {base}/caller   (log in as clerk1 / clerk-demo-2026)")
    return 0


def _run(args: argparse.Namespace) -> int:
    from gevent import pywsgi

    from server.app import create_app
    from server.hall import Settings

    class NoDelayServer(pywsgi.WSGIServer):
        """Small pushes must not wait for delayed ACKs (they added ~40 ms to every call on this stack)."""

        def handle(self, sock: Any, address: Any) -> None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().handle(sock, address)

    app = create_app(Settings.resolve(args.config, args.instance), async_mode="gevent")
    server = NoDelayServer((args.host, args.port), app, log=None)
    server.init_socket()
    host, port = server.address[:2]
    base = f"http://{host}:{port}"
    print(f"hallq serving {app.extensions['hallq'].config.name} on {base}", flush=True)
    for screen in ("kiosk", "caller", "display"):
        print(f"  {screen:8}{base}/{screen}", flush=True)
    import gevent

    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)
    gc.collect()
    gc.freeze()  # start-up objects leave the collector's view: full collections stay short with 200 screens open
    server.serve_forever()
    return 0


_COMMANDS = {"init": _init, "run": _run, "user": _user, "device": _device, "demo": _demo}

if __name__ == "__main__":
    sys.exit(main())
