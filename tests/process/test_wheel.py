"""hallq as a hall installs it: the built wheel, in its own environment, upgrades an older hall's database."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import SMALL_HALL, scratch_postgres
from tests.e2e.test_browser import CHROMIUM, TIMEOUT_MS, launch
from tests.live import ROOT, LiveHall
from tests.old_hall import ROWS, head_revision, make_old_database, stored_rows

pytestmark = pytest.mark.slow

MIGRATIONS = ["server/migrations/env.py", "server/migrations/script.py.mako",
              "server/migrations/versions/0001_baseline.py", "server/migrations/versions/0002_extended_session.py",
              "district/migrations/env.py", "district/migrations/versions/0001_district.py",
              "district/migrations/versions/0002_day_figures.py"]
#: the installed hallq, never this checkout: no PYTHONPATH
OUTSIDE = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def _run(*command: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=300,
                            env=env or OUTSIDE, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from the sources (a copy: no stale build/ folder)."""
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "instance", "tests"))
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", folder / "dist", source)
    [built] = (folder / "dist").glob("hallq-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A venv with the wheel installed (not editable), its dependencies borrowed from the test environment (a .pth
    file) so the test needs no package index."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    _run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--no-deps", "-q", wheel)
    site = Path(_run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
                .strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    assert _run(venv / "bin" / "python", "-c", "import server; print(server.__file__)", cwd=venv).startswith(
        str(site))
    yield venv


def loaded_by_the_screens() -> set[str]:
    """Where in the wheel each file the templates load must be: url_for('static' | '<package>.static', filename=...);
    the shared static/ is installed as server/static."""
    roles: set[str] = set()
    calls: list[str] = []
    for template in ROOT.glob("*/templates/*.html"):
        text = template.read_text(encoding="utf-8")
        roles |= set(re.findall(r'{% set role = "(\w+)" %}', text))
        calls += re.findall(r"url_for\(([^)]*static[^)]*)\)", text)
    files: set[str] = set()
    for call in calls:
        if shared := re.fullmatch(r"'static', filename='([^']+)'", call):
            files.add(f"server/static/{shared[1]}")
        elif own := re.fullmatch(r"'(\w+)\.static', filename='([^']+)'", call):
            package = own[1] if (ROOT / own[1]).is_dir() else own[1].split("_")[0]  # district_screens: district/
            files.add(f"{package}/static/{own[2]}")
        elif call == "role + '.static', filename=role + '.js'":  # screen.html: each screen's own script
            files |= {f"{role}/static/{role}.js" for role in roles}
        else:
            raise AssertionError(f"a url_for this test cannot read: {call}")
    return files


def in_the_checkout() -> set[str]:
    """Every static file of the checkout, named as the wheel names it."""
    shared = {f"server/{path.relative_to(ROOT)}" for path in (ROOT / "static").rglob("*") if path.is_file()}
    own = {str(path.relative_to(ROOT)) for path in ROOT.glob("*/static/*") if path.is_file()}
    return shared | own


def test_the_wheel_holds_the_migrations_and_every_file_the_screens_load(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    screens = loaded_by_the_screens()
    assert {"server/static/hallq.js", "server/static/vendor/socket.io.min.js", "kiosk/static/kiosk.js",
            "admin/static/stats.js", "server/static/vendor/chart.umd.min.js"} <= screens
    assert screens <= in_the_checkout()  # the templates name files that exist
    assert sorted(screens - names) == []
    assert sorted(in_the_checkout() - names) == []  # licences of the vendored files too
    templates = {str(path.relative_to(ROOT)) for path in ROOT.glob("*/templates/*.html")}
    assert sorted(templates - names) == []
    assert set(MIGRATIONS) <= names


def test_hallq_init_from_the_wheel_upgrades_an_older_hall(installed: Path, database_url: str,
                                                          tmp_path: Path) -> None:
    url = database_url if database_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'instance' / 'hallq.db'}"
    (tmp_path / "instance").mkdir()
    make_old_database(url)
    config = tmp_path / "hall.toml"
    config.write_text(SMALL_HALL, encoding="utf-8")
    init = [installed / "bin" / "hallq", "init", "--config", config, "--instance", tmp_path / "instance"]
    env = {**OUTSIDE, "DATABASE_URL": url}
    assert f"schema: revision {head_revision()}" in _run(*init, env=env, cwd=tmp_path)
    assert stored_rows(url) == ROWS
    assert f"schema: revision {head_revision()}" in _run(*init, env=env, cwd=tmp_path)  # every start: nothing lost
    assert stored_rows(url) == ROWS


def test_the_installed_hallq_sets_up_a_district(installed: Path, tmp_path: Path) -> None:
    """`hallq district init` from the wheel: the district's own migrations, each hall's replica by the hall's."""
    with scratch_postgres() as url:
        config = tmp_path / "district.toml"
        config.write_text(f'[district]\nname = "测试区"\ndatabase_url = "{url}"\n\n[[halls]]\ncode = "zhen-1"\n'
                          f'name = "一镇便民服务中心"\ntoken = "{"t" * 32}"\n', encoding="utf-8")
        district = [installed / "bin" / "hallq", "district"]
        _run(*district, "init", "--config", config, cwd=tmp_path)
        _run(*district, "init", "--config", config, cwd=tmp_path)  # again, as at an upgrade: nothing lost
        listed = _run(*district, "halls", "--config", config, cwd=tmp_path)
        assert "zhen-1" in listed and "一镇便民服务中心" in listed


#: each screen `hallq demo` prints: the element it shows once working, and who logs in (None: a device token)
SCREENS = (("kiosk", "#home", None), ("display", "#windows [data-window='1']", None), ("window", "#ws-number", None),
           ("rating", "#ev-idle", None), ("caller", "#pick", "clerk1"), ("guide", "#desk", "guide"),
           ("admin", "#chart-hours", "admin"), ("followups", "#followups", "admin"), ("track", "#t-number", None))
PASSWORDS = {"clerk1": "clerk-demo-2026", "guide": "guide-demo-2026", "admin": "admin-demo-2026"}


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_the_installed_hallq_serves_every_screen_to_chromium_without_an_error(installed: Path, tmp_path: Path) -> None:
    """hallq init, hallq demo and hallq run from the wheel; every screen the demo prints opens in Chromium, every
    request it makes answered without 4xx/5xx but the one 401 of /api/auth/me before a staff login."""
    hallq = installed / "bin" / "hallq"
    hall = LiveHall(tmp_path / "instance", command=[str(hallq)], environ=OUTSIDE)
    where = ["--config", hall.config, "--instance", hall.instance]
    _run(hallq, "init", *where, cwd=tmp_path)
    printed = _run(hallq, "demo", *where, env={**OUTSIDE, "HALLQ_URL": hall.url}, cwd=tmp_path)
    addresses = dict(re.findall(r"^  (\w+) +(http://\S+)", printed, re.MULTILINE))
    hall.start()
    try:
        kiosk = requests.Session()
        kiosk.headers["Authorization"] = f"Bearer {addresses['kiosk'].split('#token=')[1]}"
        ticket = kiosk.post(f"{hall.url}/api/tickets", json={"service": "hukou-id"}).json()["ticket"]
        addresses["track"] = hall.url + urlsplit(ticket["track_url"]).path
        addresses["followups"] = f"{hall.url}/admin/followups"
        with sync_playwright() as playwright_:
            browser = launch(playwright_)
            try:
                for screen, element, user in SCREENS:
                    errors = open_screen(browser.new_page(), addresses[screen], element, user)
                    assert errors == ([(401, "/api/auth/me")] if user else []), screen
            finally:
                browser.close()
    finally:
        hall.stop()


def open_screen(page: Page, address: str, element: str, user: str | None) -> list[tuple[int, str] | str]:
    """Open one screen (logging in as `user` if given) until `element` shows; every 4xx/5xx and script error."""
    errors: list[tuple[int, str] | str] = []
    page.on("response", lambda answer: errors.append((answer.status, urlsplit(answer.url).path))
            if answer.status >= 400 else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(address)
    if user:
        page.locator("#username").fill(user)
        page.locator("#password").fill(PASSWORDS[user])
        page.get_by_role("button", name="登录").click()
    try:
        expect(page.locator(element)).to_be_visible()
        if "#token=" in address:
            expect(page.locator("html")).to_have_attribute("data-socket", "connected")
    except AssertionError as failure:
        raise AssertionError(f"{address} does not show {element}; errors: {errors}") from failure
    page.close()
    return errors
