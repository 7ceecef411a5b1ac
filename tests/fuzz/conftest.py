"""The fuzz tier's fixtures: one persona world per module (the fuzzers only read it or are
refused), sessions opened directly (no password hashing per example), and an ERROR-log trap."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from chronos import db as chronos_db
from chronos.db import make_engine
from chronos.services import auth
from tests.factories import World, build_world


@pytest.fixture(scope="module")
def fuzz_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}")
    SQLModel.metadata.create_all(eng)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(chronos_db, "get_engine", lambda: eng)
        yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def fuzz_world(fuzz_engine: Engine) -> World:
    with Session(fuzz_engine, expire_on_commit=False) as db:
        world = build_world(db)
        db.commit()
        return world


def open_token(engine: Engine, world: World, persona: str) -> str:
    """A fresh session cookie value for a persona (a fuzzed handler may have signed out)."""
    with chronos_db.session_scope(engine) as db:
        user = db.get(type(world.agent), world.user(persona).id)
        assert user is not None
        return auth.open_session(db, user).token


class ErrorTrap(logging.Handler):
    """Collects every ERROR-or-worse record: an unhandled exception the server would log."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def error_log() -> Iterator[ErrorTrap]:
    trap = ErrorTrap()
    root = logging.getLogger()
    root.addHandler(trap)
    yield trap
    root.removeHandler(trap)
