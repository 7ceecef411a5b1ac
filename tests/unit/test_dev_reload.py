"""Dev mode's hot reload leaves the app's runtime folders alone (issue 14), and the committed
``reflex.lock/package.json`` is byte for byte what Reflex writes, so `make run` leaves it as is.

The real thing (``make run`` in a clean clone) is tests/devmode; these pin the pieces down.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from reflex.environment import environment
from reflex.utils import exec as reflex_exec
from reflex.utils import frontend_skeleton

from chronos import dev_reload
from chronos.settings import PROJECT_ROOT, runtime_write_dirs

EXCLUDE = "REFLEX_HOT_RELOAD_EXCLUDE_PATHS"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder laid out like Chronos's, with the runtime settings cleared."""
    root = tmp_path / "project"
    (root / "chronos").mkdir(parents=True)
    (root / "chronos" / "__init__.py").write_text("")
    (root / "alembic").mkdir()
    (root / "rxconfig.py").write_text("")
    for name in ("CHRONOS_VAR_DIR", "CHRONOS_STORAGE_DIR", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    # setenv records the original (even "unset") for restoring: the code under test writes
    # os.environ itself. Reflex reads an empty value as unset.
    monkeypatch.setenv(EXCLUDE, "")
    monkeypatch.chdir(root)
    return root


def test_the_default_var_dir_is_excluded_and_created(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHRONOS_VAR_DIR", str(project / "var"))
    added = dev_reload.exclude_runtime_dirs_from_hot_reload(project)
    assert added == [project / "var"]
    assert (project / "var").is_dir()
    assert environment.REFLEX_HOT_RELOAD_EXCLUDE_PATHS.get() == [project / "var"]


def test_reflex_then_watches_the_code_but_not_var(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through Reflex's own computation of what `reflex run` watches."""
    monkeypatch.setenv("CHRONOS_VAR_DIR", str(project / "var" / "nested"))
    (project / "var").mkdir()
    (project / "var" / "jobs.db-wal").write_text("")
    dev_reload.exclude_runtime_dirs_from_hot_reload(project)
    monkeypatch.setattr(reflex_exec, "get_config", lambda: SimpleNamespace(module="chronos"))
    monkeypatch.setattr(reflex_exec, "get_module_path", lambda module: None)
    watched = {p.name for p in reflex_exec.get_reload_paths()}
    assert "var" not in watched
    assert {"chronos", "alembic", "rxconfig.py"} <= watched


def test_paths_already_excluded_are_kept_and_not_repeated(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "bench").mkdir()
    monkeypatch.setenv(EXCLUDE, str(project / "bench"))
    monkeypatch.setenv("CHRONOS_VAR_DIR", str(project / "var"))
    dev_reload.exclude_runtime_dirs_from_hot_reload(project)
    assert dev_reload.exclude_runtime_dirs_from_hot_reload(project) == []  # rxconfig re-read
    assert environment.REFLEX_HOT_RELOAD_EXCLUDE_PATHS.get() == [
        project / "bench",
        project / "var",
    ]


def test_storage_and_sqlite_folders_under_the_project_are_excluded_too(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHRONOS_VAR_DIR", "/elsewhere/var")
    monkeypatch.setenv("CHRONOS_STORAGE_DIR", str(project / "files" / "documents"))
    monkeypatch.setenv("DATABASE_URL", "sqlite+pysqlite:///data/app.db?timeout=5")
    added = dev_reload.exclude_runtime_dirs_from_hot_reload(project)
    assert added == [project / "files", project / "data"]


def test_folders_outside_the_project_or_on_postgres_change_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHRONOS_VAR_DIR", str(tmp_path / "outside"))
    monkeypatch.setenv("DATABASE_URL", "postgresql://chronos@db/chronos")
    assert dev_reload.exclude_runtime_dirs_from_hot_reload(project) == []
    assert not environment.REFLEX_HOT_RELOAD_EXCLUDE_PATHS.is_set()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("sqlite:///chronos.db", "is the project folder"),
        ("sqlite:///chronos/app.db", "is inside the code package chronos"),
    ],
)
def test_runtime_files_among_the_code_are_refused_loudly_not_excluded(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    url: str,
    why: str,
) -> None:
    monkeypatch.setenv("CHRONOS_VAR_DIR", "/elsewhere/var")
    monkeypatch.setenv("CHRONOS_STORAGE_DIR", "/elsewhere/documents")
    monkeypatch.setenv("DATABASE_URL", url)
    with caplog.at_level(logging.WARNING, logger="chronos.dev_reload"):
        assert dev_reload.exclude_runtime_dirs_from_hot_reload(project) == []
    assert why in caplog.text
    assert not environment.REFLEX_HOT_RELOAD_EXCLUDE_PATHS.is_set()


def test_runtime_write_dirs_follow_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHRONOS_VAR_DIR", raising=False)
    monkeypatch.delenv("CHRONOS_STORAGE_DIR", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert runtime_write_dirs() == (PROJECT_ROOT / "var", PROJECT_ROOT / "var" / "documents")


def test_rxconfig_applies_the_exclusion(monkeypatch: pytest.MonkeyPatch) -> None:
    """rxconfig.py is what every `reflex run` reads: it must call the exclusion itself."""
    calls: list[Path] = []
    monkeypatch.setattr(
        dev_reload, "exclude_runtime_dirs_from_hot_reload", lambda: calls.append(PROJECT_ROOT)
    )
    source = (PROJECT_ROOT / "rxconfig.py").read_text()
    exec(compile(source, "rxconfig.py", "exec"), {"__name__": "rxconfig_under_test"})
    assert calls == [PROJECT_ROOT]


def test_the_committed_package_json_is_in_the_format_reflex_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`reflex run` renders .web/package.json from reflex.lock/package.json and copies it back
    (frontend_skeleton.sync_web_lockfiles_to_root); any other formatting of the committed file
    is rewritten on the first run and leaves `git status` dirty."""
    monkeypatch.chdir(PROJECT_ROOT)
    committed = (PROJECT_ROOT / "reflex.lock" / "package.json").read_text()
    assert committed == frontend_skeleton._compile_package_json()
