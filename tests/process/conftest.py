"""Fixtures the process tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LiveHall


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[LiveHall]:
    """A real `hallq run` on SQLite or on the run's PostgreSQL database."""
    hall = LiveHall(tmp_path / "instance", database_url=None if database_url.startswith("sqlite") else database_url)
    hall.prepare().start()
    yield hall
    hall.stop()
