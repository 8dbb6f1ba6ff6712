"""deploy/: the systemd units, nginx site and screen launcher a technician installs, checked as far as this
machine can (systemd-analyze verify, nginx -t, hallq's own argument parser, the launcher with a stand-in
Chromium)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from server.cli import _parser
from tests.nginx import nginx_conf

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = ROOT / "deploy"
UNITS = ("hallq.service", "hallq@.service", "hallq-printer-agent.service", "hallq-backup.service",
         "hallq-backup.timer")
SERVERS = ("hallq.service", "hallq@.service")  # one process; one of several, its port the instance name
VENV_HALLQ = "/opt/hallq/venv/bin/hallq"
DEPLOYMENT_DOC = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")


def unit(name: str) -> list[tuple[str, str, str]]:
    """(section, key, value) of a unit file, in order (a key may repeat, as ExecStart does in a oneshot)."""
    entries: list[tuple[str, str, str]] = []
    section = ""
    for line in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key.strip(), value.strip()))
    return entries


def values(name: str, key: str) -> list[str]:
    return [value for _, k, value in unit(name) if k == key]


def value(name: str, key: str) -> str:
    found = values(name, key)
    assert len(found) == 1, f"{name}: {key}= {found}"
    return found[0]


def test_the_services_run_as_hallq_and_come_back_after_a_crash() -> None:
    for name in (*SERVERS, "hallq-printer-agent.service"):
        assert value(name, "User") == "hallq" and value(name, "Restart") == "always"
        assert int(value(name, "LimitNOFILE")) >= 65536 and value(name, "NoNewPrivileges") == "yes"
    assert value("hallq-backup.service", "User") == "hallq" and value("hallq-backup.service", "Type") == "oneshot"
    assert set(value("hallq-printer-agent.service", "SupplementaryGroups").split()) >= {"lp", "dialout"}


def test_the_server_writes_only_its_instance_and_listens_only_for_nginx() -> None:
    assert value("hallq.service", "ProtectSystem") == "strict"
    assert value("hallq.service", "ReadWritePaths") == value("hallq.service", "WorkingDirectory") == "/var/lib/hallq"
    command = shlex.split(value("hallq.service", "ExecStart"))
    assert command[command.index("--host") + 1] == "127.0.0.1"
    port = command[command.index("--port") + 1]
    assert re.search(rf"^    server 127\.0\.0\.1:{port} ", (DEPLOY / "nginx-hallq.conf").read_text(), re.MULTILINE)


def test_each_process_of_several_is_the_one_process_unit_on_a_port_of_its_own() -> None:
    """hallq@.service repeats hallq.service (systemd has no include): only its port and its ordering may differ."""
    def service(name: str) -> list[tuple[str, str, str]]:
        return [entry for entry in unit(name) if entry[0] != "Unit"]

    assert service("hallq@.service") == [(section, key, entry.replace("--port 5000", "--port %i"))
                                         for section, key, entry in service("hallq.service")]
    assert value("hallq@.service", "Conflicts") == "hallq.service"


def test_the_timer_backs_up_archives_then_purges_every_night() -> None:
    assert value("hallq-backup.timer", "OnCalendar") == "*-*-* 01:15:00"
    assert value("hallq-backup.timer", "Persistent") == "true"
    steps = [shlex.split(command)[1] for command in values("hallq-backup.service", "ExecStart")]
    # a failed backup or archive stops the unit before anything is purged
    assert steps == ["backup", "archive", "purge"]
    backup = shlex.split(values("hallq-backup.service", "ExecStart")[0])
    assert backup[backup.index("--to") + 1] in value("hallq-backup.service", "ReadWritePaths").split()
    archive = shlex.split(values("hallq-backup.service", "ExecStart")[1])  # writes INSTANCE/archives
    assert archive[archive.index("--instance") + 1] in value("hallq-backup.service", "ReadWritePaths").split()


def exec_starts() -> list[tuple[str, str]]:
    return [(name, command) for name in UNITS for command in values(name, "ExecStart")]


@pytest.mark.parametrize(("name", "command"), exec_starts(), ids=[f"{n}:{c.split()[1]}" for n, c in exec_starts()])
def test_every_command_line_is_one_hallq_accepts(name: str, command: str) -> None:
    """The units call the installed hallq with the paths the deployment guide installs it to."""
    argv = shlex.split(command.replace("${HALLQ_SERVER}", "https://hall.example.cn").replace("%i", "5001"))
    assert argv[0] == VENV_HALLQ and VENV_HALLQ in DEPLOYMENT_DOC
    known = _parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    if argv[1] not in known:
        pytest.skip(f"`hallq {argv[1]}` is not in this hallq yet (issue 13: another point adds it)")
    args = _parser().parse_args(argv[1:])
    for path in (getattr(args, "config", None), getattr(args, "instance", None)):
        assert path is None or path in DEPLOYMENT_DOC


def test_the_guide_names_every_file_of_deploy() -> None:
    for path in sorted(DEPLOY.iterdir()):
        assert f"deploy/{path.name}" in DEPLOYMENT_DOC, path.name


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    """verify also checks that ExecStart's program exists: the units are verified with hallq's path pointed at
    a stand-in, and any warning (an unknown key, a bad value systemd would ignore) fails the test."""
    stand_in = tmp_path / "hallq"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    for name in UNITS:
        (tmp_path / name).write_text((DEPLOY / name).read_text().replace(VENV_HALLQ, str(stand_in)))
    result = subprocess.run(["systemd-analyze", "verify", *(f"./{name}" for name in UNITS)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed here (apt-get install nginx)")
def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    result = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(nginx_conf(tmp_path))],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr and "[emerg]" not in result.stderr


def test_nginx_forwards_the_scheme_and_upgrades_socket_io() -> None:
    text = (DEPLOY / "nginx-hallq.conf").read_text()
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text and "return 301 https://$host$request_uri;" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text and "location /socket.io/ {" in text
    socket_io = text[text.index("location /socket.io/ {"):]
    assert int(re.search(r"proxy_read_timeout (\d+)s;", socket_io).group(1)) > 20  # type: ignore[union-attr]


def test_the_screen_launcher_opens_the_configured_screen_full_screen(tmp_path: Path) -> None:
    """hallq-screen with a stand-in Chromium that records its arguments and ends the launcher's loop."""
    (tmp_path / "screen.token").write_text("tok-123\n")
    (tmp_path / "screen.conf").write_text(f"HALLQ_SCREEN_URL=https://hall.example.cn/display\n"
                                          f"HALLQ_SCREEN_TOKEN_FILE={tmp_path}/screen.token\n")
    preferences = tmp_path / "home" / ".config" / "hallq-screen" / "Default" / "Preferences"
    preferences.parent.mkdir(parents=True)
    preferences.write_text('{"profile":{"exited_cleanly":false,"exit_type":"Crashed"}}')
    chromium = tmp_path / "chromium"
    chromium.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/args\nkill $PPID\n')
    chromium.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "HALLQ_CHROMIUM": str(chromium),
           "HALLQ_SCREEN_CONF": str(tmp_path / "screen.conf")}
    subprocess.run([str(DEPLOY / "hallq-screen")], env=env, timeout=30, check=False)
    args = (tmp_path / "args").read_text().splitlines()
    assert args[-1] == "https://hall.example.cn/display#token=tok-123"
    assert {"--kiosk", "--noerrdialogs", "--disable-session-crashed-bubble",
            "--autoplay-policy=no-user-gesture-required"} <= set(args)
    assert preferences.read_text() == '{"profile":{"exited_cleanly":true,"exit_type":"Normal"}}'


def test_the_screen_launcher_refuses_an_empty_token(tmp_path: Path) -> None:
    (tmp_path / "screen.token").write_text("\n")
    (tmp_path / "screen.conf").write_text(f"HALLQ_SCREEN_URL=https://hall.example.cn/kiosk\n"
                                          f"HALLQ_SCREEN_TOKEN_FILE={tmp_path}/screen.token\n")
    result = subprocess.run([str(DEPLOY / "hallq-screen")], capture_output=True, text=True, timeout=30,
                            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path),
                                 "HALLQ_SCREEN_CONF": str(tmp_path / "screen.conf")})
    assert result.returncode == 1 and "screen.token is empty" in result.stderr
