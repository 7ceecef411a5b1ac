"""Run Alembic migrations from code (CLI, app start-up, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from chronos.settings import PROJECT_ROOT, get_settings


def alembic_config(database_url: str | None = None) -> Config:
    cfg = Config(str(Path(PROJECT_ROOT) / "alembic.ini"))
    cfg.set_main_option("script_location", str(Path(PROJECT_ROOT) / "alembic"))
    cfg.attributes["database_url"] = database_url or get_settings().database_url
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
