"""hallq as a hall installs it: the built wheel, in its own environment, upgrades an older hall's database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SMALL_HALL
from tests.live import ROOT
from tests.old_hall import ROWS, make_old_database, stored_rows

pytestmark = pytest.mark.slow

MIGRATIONS = ["server/migrations/env.py", "server/migrations/script.py.mako",
              "server/migrations/versions/0001_baseline.py", "server/migrations/versions/0002_extended_session.py"]
#: the installed hallq, never this checkout: no PYTHONPATH
OUTSIDE = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def _run(*command: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=300,
                            env=env or OUTSIDE, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A venv with the wheel built from the sources (a copy: no stale build/ folder), its dependencies borrowed
    from the test environment (a .pth file) so the test needs no package index."""
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "instance", "tests"))
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", folder / "dist", source)
    [wheel] = (folder / "dist").glob("hallq-*.whl")
    assert set(MIGRATIONS) <= set(zipfile.ZipFile(wheel).namelist())
    venv = folder / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    _run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--no-deps", "-q", wheel)
    site = Path(_run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
                .strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    assert _run(venv / "bin" / "python", "-c", "import server; print(server.__file__)", cwd=folder).startswith(
        str(site))
    yield venv


def test_hallq_init_from_the_wheel_upgrades_an_older_hall(installed: Path, database_url: str,
                                                          tmp_path: Path) -> None:
    url = database_url if database_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'instance' / 'hallq.db'}"
    (tmp_path / "instance").mkdir()
    make_old_database(url)
    config = tmp_path / "hall.toml"
    config.write_text(SMALL_HALL, encoding="utf-8")
    init = [installed / "bin" / "hallq", "init", "--config", config, "--instance", tmp_path / "instance"]
    env = {**OUTSIDE, "DATABASE_URL": url}
    assert "schema: revision 0002" in _run(*init, env=env, cwd=tmp_path)
    assert stored_rows(url) == ROWS
    assert "schema: revision 0002" in _run(*init, env=env, cwd=tmp_path)  # every start: nothing lost
    assert stored_rows(url) == ROWS
