"""Shared fixtures for the service-layer tests: settings, engine, session and named personas.

Personas (one brokerage, "Harbor Realty", plus a second one, "Summit Homes"):

- ``admin``          Harbor admin: sees every Harbor transaction.
- ``agent``          owns ``deal`` (buyer side, 12 Harbor View Rd).
- ``coordinator``    on ``deal`` as participant role coordinator.
- ``agent2``         Harbor agent, owns ``other_deal``, NOT on ``deal``.
- ``client``         buyer on ``deal``, with a login.
- ``client2``        seller on ``other_deal``, with a login.
- ``attorney``       attorney on ``deal``, with a login.
- ``lender``         lender on ``deal``, with a login.
- ``outsider_agent`` Summit agent, owns ``outside_deal`` (same street as ``deal``!).
- ``outsider_admin`` Summit admin.

``deal`` also has two contacts without logins (``seller_contact`` and ``inspector_contact``)
whose email/phone outside parties must not see; ``loose_contact`` is a Harbor contact on no
transaction (free to edit or delete).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from passlib.context import CryptContext
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import chronos.models  # noqa: F401  (registers every table)
from chronos.db import make_engine
from chronos.services import auth, rate_limit
from chronos.settings import get_settings
from tests.factories import World, build_world

TEST_SECRET_KEY = "chronos-test-secret-key-not-for-production"
_saved_env: dict[str, str | None] = {}
_var_dir: str | None = None

# Production argon2 parameters cost ~0.15 s per hash; the persona world hashes ten passwords
# per test. Tests use the same scheme (argon2id) with the cheapest parameters instead; the
# auth tests check the production context separately (``production_password_context``).
PRODUCTION_PWD_CONTEXT = auth.pwd_context
FAST_PWD_CONTEXT = CryptContext(
    schemes=["argon2"],
    deprecated="auto",
    argon2__memory_cost=8,
    argon2__time_cost=1,
    argon2__parallelism=1,
)


def pytest_configure(config: pytest.Config) -> None:
    """Point settings at a throw-away var dir and a fixed secret before anything reads them."""
    global _var_dir
    _var_dir = tempfile.mkdtemp(prefix="chronos-tests-")
    wanted = {
        "CHRONOS_VAR_DIR": _var_dir,
        "CHRONOS_SECRET_KEY": TEST_SECRET_KEY,
        "CHRONOS_SESSION_TTL_HOURS": "336",
        "DATABASE_URL": None,
        # What `reflex run` (dev) sets: the developer mailbox and the documented demo password
        # are on, as in `make run`; tests of the production defaults set their own.
        "REFLEX_ENV_MODE": "dev",
        "CHRONOS_DEMO_PASSWORD": "chronos-demo-2026",
    }
    for key, value in wanted.items():
        _saved_env[key] = os.environ.get(key)
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    for key, value in _saved_env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()
    if _var_dir:
        shutil.rmtree(_var_dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "pwd_context", FAST_PWD_CONTEXT)


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """Rate-limit counters are process-wide (memory storage): every test starts with none."""
    rate_limit.reset_all()
    yield
    rate_limit.reset_all()


@pytest.fixture
def production_password_context(monkeypatch: pytest.MonkeyPatch) -> CryptContext:
    """Undo ``fast_password_hashing`` for a test that checks the real hashing parameters."""
    monkeypatch.setattr(auth, "pwd_context", PRODUCTION_PWD_CONTEXT)
    return PRODUCTION_PWD_CONTEXT


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    """A SQLite file with the app's own pragmas (foreign keys on, WAL) and every table."""
    eng = make_engine(f"sqlite:///{tmp_path / 'chronos.db'}")
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def world(db: Session) -> World:
    """Every persona, built through the real services and committed."""
    w = build_world(db)
    db.commit()
    return w


# One fixture per persona, so a test can ask for just the people it talks about.


@pytest.fixture
def admin(world: World):
    return world.admin


@pytest.fixture
def agent(world: World):
    return world.agent


@pytest.fixture
def coordinator(world: World):
    return world.coordinator


@pytest.fixture
def agent2(world: World):
    return world.agent2


@pytest.fixture
def client(world: World):
    return world.client


@pytest.fixture
def client2(world: World):
    return world.client2


@pytest.fixture
def attorney(world: World):
    return world.attorney


@pytest.fixture
def lender(world: World):
    return world.lender


@pytest.fixture
def outsider_agent(world: World):
    return world.outsider_agent


@pytest.fixture
def outsider_admin(world: World):
    return world.outsider_admin


@pytest.fixture
def deal(world: World):
    return world.deal
