"""Every setting Chronos reads, from the environment, with embedded defaults.

Nothing else in the code reads ``os.environ`` for Chronos settings; the README lists them all.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _read_or_create_secret(path: Path, nbytes: int = 48) -> str:
    """Return the secret stored at ``path``, generating it once (mode 0600) if absent."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(nbytes)
    # O_EXCL: when two processes start at once, exactly one writes and both read the same key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database_url: str
    secret_key: str
    # Where the secret key came from ("env": CHRONOS_SECRET_KEY, "file": secret_key_path),
    # recorded in backups (never the key itself unless asked).
    secret_key_source: str
    secret_key_path: Path
    session_ttl_hours: int
    cookie_name: str
    cookie_secure: str  # "auto" | "true" | "false"
    allowed_origins: tuple[str, ...]
    seed_demo: bool
    demo_password: str
    log_level: str
    # Links in emails: the browser-facing origin (e.g. https://crm.example.com). Empty means
    # Reflex's deploy_url (http://localhost:3000 in development).
    public_url: str
    # Email: "outbox" (store only; read them at /dev/mailbox) or "resend".
    mail_backend: str
    mail_from: str
    resend_api_key: str
    resend_api_url: str
    mail_timeout_seconds: float
    # Resend's webhook signing secret (whsec_<base64>, Svix style). Empty: /webhooks/resend
    # answers 404 (delivery status is then never updated after "sent").
    resend_webhook_secret: str
    # Outgoing webhooks may go to these hosts ("host" or "host:port", comma-separated) even when
    # they resolve to a loopback or private address; every other such URL is refused (SSRF).
    webhook_allowed_hosts: tuple[str, ...]
    # `reflex run` without --env prod (REFLEX_ENV_MODE=dev, which Reflex sets for the server it
    # starts). Unset counts as production: the developer conveniences stay off by default.
    dev_mode: bool
    dev_mailbox: bool  # served only in dev mode, and only while CHRONOS_DEV_MAILBOX is on
    # Jobs: empty = SQLite file under var/ with a consumer inside the app process;
    # redis://host:port/db = Redis, consumed by `chronos worker` processes.
    jobs_url: str
    jobs_in_process: bool
    # Rate-limit counters (limits storage URI): memory:// for one process, redis:// for many.
    rate_limit_storage: str
    # Documents: "local" (files under var/documents) or "s3" (any S3-compatible endpoint).
    storage_backend: str
    storage_dir: Path
    s3_bucket: str
    s3_endpoint_url: str  # empty = AWS itself
    s3_region: str
    s3_access_key_id: str
    s3_secret_access_key: str
    # Largest accepted upload, in bytes, and how long a signed download link lives.
    max_upload_bytes: int
    signed_link_seconds: int
    # Backups of PostgreSQL: the folder holding pg_dump/pg_restore (empty = the PATH).
    pg_bin_dir: str
    # Logs: "text" (human-readable, the default) or "json" (one object per line).
    log_format: str
    # /metrics: served only with "Authorization: Bearer <token>"; empty = the route answers 404.
    metrics_token: str
    # prometheus-client's multiprocess folder (several workers); empty = one process's own
    # metrics. prometheus-client reads the variable itself; it is here to be documented/checked.
    prometheus_multiproc_dir: str
    # Error reports: empty = off. Only exceptions, scrubbed (chronos/observability/errors.py).
    sentry_dsn: str
    sentry_environment: str


def allowed_origins(env: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """``CHRONOS_ALLOWED_ORIGINS``: extra origins trusted besides the app's own (rxconfig.py
    reads it too, before the app exists, for the websocket's and CORS's list)."""
    return tuple(
        o.strip().rstrip("/")
        for o in env.get("CHRONOS_ALLOWED_ORIGINS", "").split(",")
        if o.strip()
    )


def _var_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("CHRONOS_VAR_DIR", str(PROJECT_ROOT / "var"))).resolve()


def _storage_dir(env: Mapping[str, str], var_dir: Path) -> Path:
    return Path(env.get("CHRONOS_STORAGE_DIR", str(var_dir / "documents"))).resolve()


def runtime_write_dirs() -> tuple[Path, ...]:
    """The folders the running app writes to on its own (no side effects, unlike settings).

    The var dir (SQLite database, job queue, secret key), local document storage and the folder
    of a SQLite ``DATABASE_URL``. Dev mode keeps them out of its hot reload
    (``chronos/dev_reload.py``): every write there would otherwise restart the backend.
    """
    env = os.environ
    var_dir = _var_dir(env)
    dirs = [var_dir, _storage_dir(env, var_dir)]
    scheme, sep, rest = env.get("DATABASE_URL", "").partition(":///")
    db_path = rest.split("?", 1)[0]
    if sep and scheme.split("+", 1)[0] == "sqlite" and db_path and db_path != ":memory:":
        dirs.append(Path(db_path).resolve().parent)
    return tuple(dict.fromkeys(dirs))


def load_settings() -> Settings:
    env = os.environ
    var_dir = _var_dir(env)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'chronos.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url.removeprefix("postgres://")
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship.
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    secret_key = env.get("CHRONOS_SECRET_KEY") or _read_or_create_secret(var_dir / "secret_key")
    origins = allowed_origins(env)
    mail_backend = env.get("CHRONOS_MAIL_BACKEND", "outbox").strip().lower()
    if mail_backend not in {"outbox", "resend"}:
        raise ValueError(f"CHRONOS_MAIL_BACKEND must be outbox or resend, not {mail_backend!r}")
    storage_backend = env.get("CHRONOS_STORAGE", "local").strip().lower()
    if storage_backend not in {"local", "s3"}:
        raise ValueError(f"CHRONOS_STORAGE must be local or s3, not {storage_backend!r}")
    dev_mode = env.get("REFLEX_ENV_MODE", "").strip().lower() == "dev"
    log_format = env.get("CHRONOS_LOG_FORMAT", "text").strip().lower()
    if log_format not in {"text", "json"}:
        raise ValueError(f"CHRONOS_LOG_FORMAT must be text or json, not {log_format!r}")
    return Settings(
        var_dir=var_dir,
        database_url=database_url,
        secret_key=secret_key,
        secret_key_source="env" if env.get("CHRONOS_SECRET_KEY") else "file",
        secret_key_path=var_dir / "secret_key",
        session_ttl_hours=int(env.get("CHRONOS_SESSION_TTL_HOURS", "336")),
        cookie_name=env.get("CHRONOS_COOKIE_NAME", "chronos_session"),
        cookie_secure=env.get("CHRONOS_COOKIE_SECURE", "auto").strip().lower(),
        allowed_origins=origins,
        seed_demo=_bool(env.get("CHRONOS_SEED_DEMO", "1")),
        # The demo logins' password: the README's documented one only where `make run` sets it
        # (development); anywhere else a random one kept in var/demo_password, so a demo seeded
        # on a reachable server is not open to anyone who read the README.
        demo_password=env.get("CHRONOS_DEMO_PASSWORD")
        or _read_or_create_secret(var_dir / "demo_password", 12),
        log_level=env.get("CHRONOS_LOG_LEVEL", "INFO").upper(),
        public_url=env.get("CHRONOS_PUBLIC_URL", "").strip().rstrip("/"),
        mail_backend=mail_backend,
        mail_from=env.get("CHRONOS_MAIL_FROM", "Chronos <no-reply@chronos.localhost>"),
        resend_api_key=env.get("RESEND_API_KEY", ""),
        resend_api_url=env.get("RESEND_API_URL", "https://api.resend.com").rstrip("/"),
        mail_timeout_seconds=float(env.get("CHRONOS_MAIL_TIMEOUT_SECONDS", "10")),
        resend_webhook_secret=env.get("RESEND_WEBHOOK_SECRET", "").strip(),
        webhook_allowed_hosts=tuple(
            h.strip().lower()
            for h in env.get("CHRONOS_WEBHOOK_ALLOWED_HOSTS", "").split(",")
            if h.strip()
        ),
        dev_mode=dev_mode,
        dev_mailbox=dev_mode
        and _bool(env.get("CHRONOS_DEV_MAILBOX", "1" if mail_backend == "outbox" else "0")),
        jobs_url=env.get("CHRONOS_JOBS_URL", "").strip(),
        jobs_in_process=_bool(env.get("CHRONOS_JOBS_IN_PROCESS", "1")),
        rate_limit_storage=env.get("CHRONOS_RATE_LIMIT_STORAGE", "memory://").strip(),
        storage_backend=storage_backend,
        storage_dir=_storage_dir(env, var_dir),
        s3_bucket=env.get("CHRONOS_S3_BUCKET", "").strip(),
        s3_endpoint_url=env.get("CHRONOS_S3_ENDPOINT_URL", "").strip(),
        s3_region=env.get("CHRONOS_S3_REGION", "us-east-1").strip(),
        s3_access_key_id=env.get("AWS_ACCESS_KEY_ID", ""),
        s3_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", ""),
        max_upload_bytes=int(env.get("CHRONOS_MAX_UPLOAD_MB", "25")) * 1024 * 1024,
        signed_link_seconds=int(env.get("CHRONOS_SIGNED_LINK_SECONDS", "300")),
        pg_bin_dir=env.get("CHRONOS_PG_BIN_DIR", "").strip(),
        log_format=log_format,
        metrics_token=env.get("CHRONOS_METRICS_TOKEN", "").strip(),
        prometheus_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR", "").strip(),
        sentry_dsn=env.get("SENTRY_DSN", "").strip(),
        sentry_environment=env.get("SENTRY_ENVIRONMENT", "").strip(),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
