"""`hallq user` and `hallq device` on a real SQLite instance: the password from a prompt or stdin, not argv."""

from __future__ import annotations

import getpass
import io
from pathlib import Path

import pytest

from server.cli import main
from server.clock import SystemClock
from server.hall import Hall, Settings
from server.queue import DomainError
from tests.conftest import SMALL_HALL


@pytest.fixture
def args(tmp_path: Path) -> list[str]:
    config = tmp_path / "hall.toml"
    config.write_text(SMALL_HALL + '\n[[evaluation.evaluators]]\ndevice = "rate-1"\nwindow = 2\n', encoding="utf-8")
    return ["--config", str(config), "--instance", str(tmp_path / "instance")]


def login(args: list[str], name: str, secret: str) -> str:
    """Whether the password opens the account (a fresh Hall each time, as a running server would)."""
    hall = Hall.open(Settings.resolve(args[1], args[3], clock=SystemClock()))
    try:
        return hall.accounts.login(name, secret, "127.0.0.1").role
    finally:
        hall.storage.dispose()


def test_user_add_reads_the_password_from_stdin(args: list[str], monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin-2026\nignored\n"))
    assert main(["user", "add", "clerk3", "--role", "clerk", "--display-name", "赵敏", "--staff-no", "1003",
                 "--password-stdin", *args]) == 0
    assert "user clerk3 (clerk) saved" in capsys.readouterr().out
    assert login(args, "clerk3", "from-stdin-2026") == "clerk"


def test_user_add_prompts_twice(args: list[str], monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    answers = iter(["prompted-pw-2026", "prompted-pw-2026", "one-thing-2026", "another-2026"])
    prompts: list[str] = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt: prompts.append(prompt) or next(answers))
    assert main(["user", "add", "boss", "--role", "admin", *args]) == 0
    assert prompts == ["password for boss: ", "again: "]
    assert login(args, "boss", "prompted-pw-2026") == "admin"
    with pytest.raises(SystemExit) as differ:
        main(["user", "add", "boss", "--role", "admin", *args])
    assert differ.value.code == 2 and "the passwords differ" in capsys.readouterr().err
    assert login(args, "boss", "prompted-pw-2026") == "admin"  # unchanged


def test_user_add_password_argument_still_works(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "add", "g", "--role", "guide", "--password", "on-the-line-2026", *args]) == 0
    assert login(args, "g", "on-the-line-2026") == "guide"
    assert main(["user", "add", "g", "--role", "guide", "--password", "short", *args]) == 2
    assert "至少" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # one source of the password, not two
        main(["user", "add", "g", "--role", "guide", "--password", "x" * 9, "--password-stdin", *args])


def test_user_list_disable_enable(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    main(["user", "add", "clerk1", "--role", "clerk", "--password", "clerk1-pw-2026", "--display-name", "王小红",
          "--staff-no", "1001", *args])
    assert main(["user", "disable", "clerk1", *args]) == 0
    with pytest.raises(DomainError) as refused:
        login(args, "clerk1", "clerk1-pw-2026")
    assert refused.value.code == "account_disabled"
    capsys.readouterr()
    assert main(["user", "list", *args]) == 0
    assert capsys.readouterr().out.split() == ["clerk1", "clerk", "1001", "disabled", "王小红"]
    assert main(["user", "enable", "clerk1", *args]) == 0
    assert login(args, "clerk1", "clerk1-pw-2026") == "clerk"
    assert main(["user", "disable", "ghost", *args]) == 2
    assert "ghost" in capsys.readouterr().err


def test_device_add_list_revoke(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["device", "add", "rate-1", "--kind", "evaluator", *args]) == 0
    assert main(["device", "add", "kiosk-1", "--kind", "kiosk", *args]) == 0
    capsys.readouterr()
    assert main(["device", "revoke", "kiosk-1", *args]) == 0
    assert capsys.readouterr().out == "device kiosk-1 revoked\n"
    assert main(["device", "list", *args]) == 0
    assert [line.split() for line in capsys.readouterr().out.splitlines()] == [
        ["rate-1", "evaluator", "active", "last", "seen", "never", "window", "2"],
        ["kiosk-1", "kiosk", "revoked", "last", "seen", "never"]]
    assert main(["device", "revoke", "ghost", *args]) == 2
    assert "ghost" in capsys.readouterr().err
