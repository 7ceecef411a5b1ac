"""Keep the folders the app writes to out of Reflex's dev hot reload. Called from rxconfig.py.

``reflex run`` (dev mode) watches every non-hidden top-level entry of the project and ignores
``*.db`` but not SQLite's ``-wal``/``-shm`` files, so with the default ``var/`` under the project
every write of the database or of the in-process job queue restarted the backend, every ~13 s,
forever (issue 14). rxconfig.py is read by every way of starting Reflex (``make run``,
``reflex run`` with any flags, ``--backend-only``), before Reflex computes its reload paths
(``reflex.utils.exec.get_reload_paths`` calls ``get_config()`` first, then reads
``REFLEX_HOT_RELOAD_EXCLUDE_PATHS``), so adding the runtime folders to that variable there
covers them all. Paths already in the variable are kept.
"""

from __future__ import annotations

import logging
from pathlib import Path

from reflex.environment import environment

from chronos.settings import PROJECT_ROOT, runtime_write_dirs

log = logging.getLogger(__name__)


def _top_level_entry(path: Path, root: Path) -> Path | None:
    """The entry directly under ``root`` that contains ``path``; None outside (or at) root."""
    try:
        relative = path.relative_to(root)
    except ValueError:
        return None
    if not relative.parts:
        return None
    return root / relative.parts[0]


def exclude_runtime_dirs_from_hot_reload(root: Path = PROJECT_ROOT) -> list[Path]:
    """Add the app's runtime folders under ``root`` to Reflex's hot-reload exclusions.

    Returns the folders added. Reflex compares each exclusion with ``Path.samefile``, which
    needs it to exist, so the folders are created here (the app would create them anyway).
    Only top-level entries are watched one by one, so a folder nested deeper is excluded by
    its top-level ancestor. A runtime folder that *is* the project root (a SQLite file beside
    rxconfig.py, or a folder inside a code package) cannot be excluded without excluding the
    code: that is logged instead.
    """
    root = root.resolve()
    var = environment.REFLEX_HOT_RELOAD_EXCLUDE_PATHS
    excluded = [p.absolute() for p in var.get()]
    added: list[Path] = []
    for folder in runtime_write_dirs():
        if folder == root:
            log.warning(
                "%s is the project folder: its database files will restart `reflex run` on "
                "every write. Point DATABASE_URL / CHRONOS_VAR_DIR at a folder such as var/.",
                folder,
            )
            continue
        entry = _top_level_entry(folder, root)
        if entry is None or entry in excluded:
            continue
        if (entry / "__init__.py").exists():
            log.warning(
                "%s is inside the code package %s: its writes will restart `reflex run`. "
                "Keep runtime folders (CHRONOS_VAR_DIR, CHRONOS_STORAGE_DIR) out of the code.",
                folder,
                entry.name,
            )
            continue
        entry.mkdir(parents=True, exist_ok=True)
        excluded.append(entry)
        added.append(entry)
    if added:
        var.set(excluded)
    return added
