"""Fixtures for the unit tier's Reflex state tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from chronos import db as chronos_db
from tests.factories import World


@pytest.fixture
def ui(engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Point the app's own session_scope() at the test database that holds the personas."""
    monkeypatch.setattr(chronos_db, "get_engine", lambda: engine)
    yield world
