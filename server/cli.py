"""The `hallq` command. Heavy imports happen inside the commands: `run` must patch for gevent first."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import signal
import socket
import sys
from typing import Any

from district import cli as district_cli

DEMO_USERS = (
    ("admin", "admin", "admin-demo-2026", "中心负责人", "0001"),
    ("guide", "guide", "guide-demo-2026", "导询员", "0002"),
    ("clerk1", "clerk", "clerk-demo-2026", "王小红", "1001"),
    ("clerk2", "clerk", "clerk-demo-2026", "李建国", "1002"),
)
DEMO_DEVICES = (("kiosk-1", "kiosk"), ("display-1", "display"), ("rate-1", "evaluator"))
DEMO_TOKENS = "demo-tokens.json"  # in the instance folder, owner-only: the demo devices' tokens, kept across restarts


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
    user.add_parser("list", parents=[common], help="every staff account, disabled ones marked")
    add_user = user.add_parser("add", parents=[common], help="create or reset a staff account; the password is "
                               "asked for (or read from stdin with --password-stdin)")
    add_user.add_argument("name")
    add_user.add_argument("--role", required=True, choices=("clerk", "guide", "admin"))
    secret = add_user.add_mutually_exclusive_group()
    secret.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    secret.add_argument("--password", help="the password on the command line: visible to others in `ps`; prefer the "
                        "prompt or --password-stdin")
    add_user.add_argument("--display-name", help="name shown on the window screen")
    add_user.add_argument("--staff-no", default="", help="工号")
    for action, what in (("disable", "disable an account: it cannot log in, its sessions end, its records stay"),
                         ("enable", "enable a disabled account again")):
        user.add_parser(action, parents=[common], help=what).add_argument("name")
    device = commands.add_parser("device", parents=[common], help="kiosks, displays, rating tablets").add_subparsers(
        dest="action", required=True)
    add_device = device.add_parser("add", parents=[common], help="register a device; prints its token")
    add_device.add_argument("name")
    add_device.add_argument("--kind", required=True, choices=("kiosk", "display", "evaluator"),
                            help="evaluator: the rating tablet of a window ([[evaluation.evaluators]] in config.toml)")
    device.add_parser("list", parents=[common], help="every device: kind, last seen, revoked, bound window")
    device.add_parser("revoke", parents=[common], help="the device's token stops working at once").add_argument("name")
    commands.add_parser("printers", parents=[common], help="list the configured printers and read their status")
    print_test = commands.add_parser("print-test", parents=[common], help="print a test page")
    print_test.add_argument("--printer", required=True, help="the printer's name in config.toml")
    purge = commands.add_parser("purge", parents=[common], help="past the retention period ([appointments] "
                                "retention_days): delete appointments; blank the personal fields of the duty log, "
                                "the enquiries and closed complaints, refused for a month without its archive")
    purge.add_argument("--days", type=int, default=None, help="keep this many days instead of retention_days")
    archive = commands.add_parser("archive", parents=[common], help="keep a finished month's duty log, enquiries "
                                  "and closed complaints as INSTANCE/archives/archive-YYYY-MM.xlsx (before purge)")
    archive.add_argument("--month", help="YYYY-MM; without it, every finished month with records and no archive")
    backup = commands.add_parser("backup", parents=[common], help="write one consistent backup of the database, "
                                 "also while the hall serves; keeps the newest --keep")
    backup.add_argument("--to", help="folder for the backups (default: INSTANCE/backups)")
    backup.add_argument("--keep", type=int, default=14, help="backups kept in that folder (default 14)")
    restore = commands.add_parser("restore", parents=[common], help="bring the stopped hall's database back to a "
                                  "backup")
    restore.add_argument("file", help="a file written by hallq backup")
    restore.add_argument("--force", action="store_true", help="replace the hall's existing database")
    district_cli.add_parser(commands, common)
    agent = commands.add_parser("printer-agent", help="on a kiosk PC: print that kiosk's tickets locally")
    agent.add_argument("--server", required=True, help="the hall server's address, e.g. http://192.168.1.10:5000")
    agent.add_argument("--token", default=os.environ.get("HALLQ_KIOSK_TOKEN"),
                       help="the kiosk's device token (env HALLQ_KIOSK_TOKEN; keeps it out of the process list)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run" or (args.command == "district" and args.action == "run"):
        from gevent import monkey

        monkey.patch_all()
    from server.backup import BackupError
    from server.config import ConfigError
    from server.migrations import NewerDatabase
    from server.queue import DomainError

    try:
        return _COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"配置错误 (config error): {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except (NewerDatabase, BackupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _hall(args: argparse.Namespace) -> Any:
    """The hall; with several server processes, what a command changes reaches them (a revoked device's or a
    disabled account's open screens are closed at once)."""
    import time

    from server.cluster import RedisRelay, channel_of
    from server.hall import Hall, Settings

    hall = Hall.open(Settings.resolve(args.config, args.instance))
    if hall.message_queue:
        RedisRelay(hall.message_queue, channel_of(hall.settings.database_url), hall.bus, time.sleep, queued=False)
    return hall


def _config(args: argparse.Namespace) -> Any:
    from server.config import load_config

    return load_config(args.config or os.environ.get("HALLQ_CONFIG") or "config.toml")


def _printers(args: argparse.Namespace) -> int:
    """Each printer and what it says right now (DLE EOT), read directly: the server need not run."""
    from server.printing.device import PrinterFault
    from server.printing.spooler import probe

    printers = _config(args).printing.printers
    if not printers:
        print("no printers in config.toml ([[printers]])")
    for printer in printers:
        where = printer.connection.kind + (f" {printer.connection.host}:{printer.connection.port}"
                                           if printer.connection.kind == "network" else "")
        if printer.via_agent:
            status = "agent (the kiosk PC reports its status to the server)"
        else:
            try:
                read = probe(printer)
                status = read.message if read.printable else f"FAULT {read.code}: {read.message}"
            except PrinterFault as fault:
                status = f"FAULT {fault.code}: {fault.message}"
        kiosks = ", ".join(printer.kiosks) or "-"
        print(f"{printer.name:12} {where:24} {printer.mode:5} {printer.paper_width}mm  kiosks: {kiosks:16} {status}")
    return 0


def _print_test(args: argparse.Namespace) -> int:
    from datetime import datetime

    from server.printing import device
    from server.printing.device import PrinterFault
    from server.printing.ticket import test_page

    config = _config(args)
    printer = config.printing.printer(args.printer)
    if printer is None:
        names = ", ".join(p.name for p in config.printing.printers) or "none configured"
        print(f"error: no printer named {args.printer!r} (printers: {names})", file=sys.stderr)
        return 2
    try:
        status = device.send(printer, test_page(printer, config.name, datetime.now(config.timezone)))
    except PrinterFault as fault:
        print(f"error: {printer.name}: {fault.message} ({fault.code})", file=sys.stderr)
        return 1
    print(f"test page sent to {printer.name}: {status.message}")
    return 0


def _printer_agent(args: argparse.Namespace) -> int:
    import logging

    from server.printing.agent import run_agent

    if not args.token:
        print("error: --token (or HALLQ_KIOSK_TOKEN) is required: the kiosk's device token", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        run_agent(args.server.rstrip("/"), args.token)
    return 0


def _init(args: argparse.Namespace) -> int:
    hall = _hall(args)
    hall.secret_key()
    hall.settings.instance.chmod(0o700)  # folders and files made by an older hallq were readable by all
    for path in hall.storage.make_private():
        print(f"made owner-only: {path}")
    print(f"instance: {hall.settings.instance}")
    print(f"database: {hall.storage.url.render_as_string(hide_password=True)}")
    print(f"schema: revision {hall.storage.revision()}")
    print(f"hall: {hall.config.name} ({len(hall.config.services)} services, {len(hall.config.windows)} windows)")
    return 0


def _user(args: argparse.Namespace) -> int:
    accounts = _hall(args).accounts
    if args.action == "list":
        for member in accounts.roster():
            state = "disabled" if member["disabled"] else "active"  # login delays live in the server process
            number = member["staff_no"] or "-"
            print(f"{member['username']:16} {member['role']:6} {number:8} {state:9} {member['name']}")
    elif args.action == "add":
        accounts.add_user(args.name, args.role, _password(args), args.display_name, args.staff_no)
        print(f"user {args.name} ({args.role}) saved")
    else:
        accounts.set_disabled(args.name, args.action == "disable", "cli")
        print(f"user {args.name} {args.action}d")
    return 0


def _password(args: argparse.Namespace) -> str:
    """From --password, the first line of stdin, or a prompt asked twice: only the first shows in `ps`."""
    import getpass

    if args.password is not None:
        return str(args.password)
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != password:
        print("error: the passwords differ", file=sys.stderr)
        raise SystemExit(2)
    return password


def _device(args: argparse.Namespace) -> int:
    hall = _hall(args)
    if args.action == "list":
        for device in hall.accounts.devices():
            window = hall.config.evaluation.window_of(device["name"]) if device["kind"] == "evaluator" else None
            print(f"{device['name']:16} {device['kind']:9} {'revoked' if device['revoked'] else 'active':8} "
                  f"last seen {device['last_seen_at'] or 'never':32} {f'window {window}' if window else ''}".rstrip())
    elif args.action == "revoke":
        hall.accounts.revoke_device(args.name, "cli")
        print(f"device {args.name} revoked")
    else:
        print(hall.accounts.add_device(args.name, args.kind))
    return 0


def _purge(args: argparse.Namespace) -> int:
    """Personal records past their retention go; the event rows (no personal data) stay. Safe to run daily."""
    from server.retention import purge

    hall = _hall(args)
    print(purge(hall.storage, hall.config, hall.settings.clock, hall.archives, args.days).text())
    return 0


def _archive(args: argparse.Namespace) -> int:
    """Run before purge (deploy/hallq-backup.service does, nightly): a month is written once it is over."""
    from server.archives import month_of

    archives = _hall(args).archives
    months = [month_of(args.month)] if args.month else archives.missing()
    if not months:
        print(f"every finished month with records has its archive in {archives.folder}")
    for month in months:
        print(archives.make(month).text())
    return 0


def _backup(args: argparse.Namespace) -> int:
    """Reads the database only: safe while `hallq run` serves. Files are named in the hall's local time."""
    from datetime import datetime
    from pathlib import Path

    from server.backup import backup
    from server.config import load_config
    from server.hall import Settings

    settings = Settings.resolve(args.config, args.instance)
    now = datetime.now(load_config(settings.config_path).timezone)
    print(backup(settings.database_url, Path(args.to) if args.to else settings.instance / "backups", now,
                 args.keep).text())
    return 0


def _restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.backup import restore
    from server.hall import Settings

    settings = Settings.resolve(args.config, args.instance)
    settings.instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    print(restore(Path(args.file), settings.database_url, args.force))
    return 0


def _demo(args: argparse.Namespace) -> int:
    hall = _hall(args)
    hall.secret_key()
    print("Demo accounts (passwords are for trying hallq only; change them for a real hall):")
    for username, role, password, display_name, staff_no in DEMO_USERS:
        hall.accounts.add_user(username, role, password, display_name, staff_no)
        print(f"  {role:6} {username:8} password {password}")
    tokens = _demo_tokens(hall)
    base = os.environ.get("HALLQ_URL", "http://127.0.0.1:5000")
    print("Screens (the token after # is kept by the browser and never sent in the URL):")
    print(f"  kiosk   {base}/kiosk#token={tokens['kiosk-1']}")
    print(f"  display {base}/display#token={tokens['display-1']}")
    print(f"  window  {base}/window/1#token={tokens['display-1']}   (the small screen above 1号窗口)")
    print(f"  caller  {base}/caller   (log in as clerk1 / clerk-demo-2026)")
    print(f"  guide   {base}/guide    (导询台: log in as guide / guide-demo-2026)")
    print(f"  rating  {base}/rate/1#token={tokens['rate-1']}   (the tablet facing residents at 1号窗口)")
    print(f"  admin   {base}/admin/stats   (log in as admin / admin-demo-2026)")
    return 0


def _demo_tokens(hall: Any) -> dict[str, str]:
    """The demo devices' tokens: those kept in the instance folder while they still open their device, so a
    restarted `make run` prints the same addresses and every open screen reconnects; else new ones, then kept."""
    path = hall.settings.instance / DEMO_TOKENS
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        kept = {}
    tokens = {}
    for name, kind in DEMO_DEVICES:
        token = kept.get(name) if isinstance(kept, dict) else None
        device = hall.accounts.device(token) if isinstance(token, str) and token else None
        valid = device is not None and (device.name, device.role) == (name, kind)
        tokens[name] = token if valid else hall.accounts.add_device(name, kind)
    if tokens != kept:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # a file left readable by an older copy becomes owner-only too
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(tokens, handle, indent=2)
    return tokens


def _run(args: argparse.Namespace) -> int:
    from server.app import create_app
    from server.connections import GuardedServer
    from server.hall import Settings

    host = args.host if args.host not in ("0.0.0.0", "::", "") else _lan_address()
    app = create_app(Settings.resolve(args.config, args.instance, served_at=f"http://{host}:{args.port}"),
                     async_mode="gevent")
    served = app.extensions["hallq"].config.server
    server = GuardedServer((args.host, args.port), app, log=None, per_address=served.connections_per_address,
                           behind_proxy=served.trusted_proxies > 0)
    server.init_socket()
    host, port = server.address[:2]
    base = f"http://{host}:{port}"
    print(f"hallq serving {app.extensions['hallq'].config.name} on {base}", flush=True)
    for screen in ("kiosk", "caller", "guide", "display", "window/1"):
        print(f"  {screen:9}{base}/{screen}", flush=True)
    import gevent

    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)
    gc.collect()
    gc.freeze()  # start-up objects leave the collector's view: full collections stay short with 200 screens open
    server.serve_forever()
    return 0


def _lan_address() -> str:
    """This machine's address on the hall network (for the QR code when serving on all interfaces)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))  # no packet is sent: this only picks the outgoing interface
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


_COMMANDS = {"init": _init, "run": _run, "user": _user, "device": _device, "demo": _demo, "printers": _printers,
             "print-test": _print_test, "printer-agent": _printer_agent, "purge": _purge, "archive": _archive,
             "backup": _backup, "restore": _restore, "district": district_cli.main}

if __name__ == "__main__":
    sys.exit(main())
