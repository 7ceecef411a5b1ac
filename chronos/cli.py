"""The ``chronos`` command: migrate, create users, seed the demo, generate benchmark data,
back up and restore, export a brokerage.

Domain errors become a one-line ``Error: ...`` (exit code 1), never a traceback.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from chronos.backup import BackupError
from chronos.models import Organization, Role
from chronos.services.errors import ChronosError
from chronos.services.validation import parse_choice, parse_email, required_text
from chronos.settings import get_settings

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

F = TypeVar("F", bound=Callable[..., Any])


class _ClickHandler(logging.Handler):
    """Log records to stderr through click (resolves the stream when writing, test-friendly)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(self.format(record), err=True)
        except Exception:  # pragma: no cover - logging must never break the command
            self.handleError(record)


def _configure_logging(verbose: bool) -> None:
    root = logging.getLogger()
    if any(isinstance(h, _ClickHandler) for h in root.handlers):
        return
    if root.handlers:  # the host (pytest, an app) already configured logging
        return
    handler = _ClickHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)


def _friendly_errors(fn: F) -> F:
    """Turn domain and database errors into ClickException (message, exit code 1)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ChronosError as exc:
            raise click.ClickException(exc.message) from exc
        except BackupError as exc:
            raise click.ClickException(exc.message[:1].upper() + exc.message[1:] + ".") from exc
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            missing = "no such table" in detail or "does not exist" in detail
            hint = " Has the database been migrated? Run `chronos migrate`." if missing else ""
            raise click.ClickException(f"Database error: {detail}.{hint}") from exc

    return wrapper  # type: ignore[return-value]


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: show nothing secret
        return url.split("@")[-1]


def _migrate() -> None:
    from chronos.migrate import upgrade

    upgrade(get_settings().database_url)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(s.rstrip() for s in out)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log progress (INFO) to stderr.")
def cli(verbose: bool) -> None:
    """Chronos: real-estate transaction coordination."""
    _configure_logging(verbose)


@cli.command()
@_friendly_errors
def migrate() -> None:
    """Upgrade the database schema to the latest version (head)."""
    url = get_settings().database_url
    _migrate()
    click.echo(f"Database is up to date: {_safe_url(url)}")


@cli.command("create-user")
@click.option("--email", required=True, help="Sign-in email (unique).")
@click.option("--name", "full_name", required=True, help="Full name.")
@click.option(
    "--role",
    required=True,
    help=f"One of: {', '.join(r.value for r in Role)}.",
)
@click.option("--org-slug", required=True, help="The brokerage's slug, e.g. harbor-main.")
@click.option("--org-name", default=None, help="Create the brokerage with this name if needed.")
@click.option("--password", default=None, help="Omit to be prompted (hidden, confirmed).")
@_friendly_errors
def create_user(
    email: str,
    full_name: str,
    role: str,
    org_slug: str,
    org_name: str | None,
    password: str | None,
) -> None:
    """Create a login in a brokerage (and the brokerage itself with --org-name)."""
    from chronos.db import get_engine, session_scope
    from chronos.services import auth

    # Check what we can before asking for a password.
    try:
        role_enum = parse_choice(role.lower(), Role, "role")
        clean_email = parse_email(email)
        name = required_text(full_name, 200, "Name")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if not clean_email:
        raise click.ClickException("Email is required.")
    slug = org_slug.strip().lower()
    if not _SLUG.match(slug) or len(slug) > 80:
        raise click.ClickException(
            "The organization slug may use lower-case letters, digits and single hyphens."
        )
    with session_scope(get_engine()) as db:
        org = db.exec(select(Organization).where(Organization.slug == slug)).first()
        if org is None and not org_name:
            raise click.ClickException(
                f"No organization with the slug {slug!r}; pass --org-name to create it."
            )
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < auth.MIN_PASSWORD_LENGTH:
        raise click.ClickException(
            f"Password must be at least {auth.MIN_PASSWORD_LENGTH} characters."
        )
    with session_scope(get_engine()) as db:
        org = db.exec(select(Organization).where(Organization.slug == slug)).first()
        created_org = org is None
        if org is None:
            org = auth.create_organization(db, name=org_name or "", slug=slug)
        assert org.id is not None
        user = auth.create_user(
            db,
            org_id=org.id,
            email=clean_email,
            full_name=name,
            role=role_enum,
            password=password,
        )
        org_label = f"{org.name} ({org.slug})"
    if created_org:
        click.echo(f"Created organization {org_label}.")
    click.echo(f"Created {user.role} {user.full_name} <{user.email}> in {org_label}.")


@cli.command("seed-demo")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Seed only when the database holds no organization at all (safe at start-up).",
)
@_friendly_errors
def seed_demo_command(if_empty: bool) -> None:
    """Migrate, seed the demo brokerages once, and print the demo logins."""
    from chronos import demo
    from chronos.db import get_engine, session_scope

    _migrate()
    if if_empty and not get_settings().seed_demo:
        click.echo("Demo seeding is off (CHRONOS_SEED_DEMO=0); the schema is up to date.")
        return
    with session_scope(get_engine()) as db:
        if demo.is_seeded(db):
            click.echo("The demo data is already there; nothing to do.")
            logins = demo.seed_demo(db)
        elif if_empty and db.exec(select(func.count()).select_from(Organization)).one() > 0:
            click.echo("The database already holds data; not seeding the demo (--if-empty).")
            return
        else:
            started = time.perf_counter()
            logins = demo.seed_demo(db)
            click.echo(f"Seeded the demo data in {time.perf_counter() - started:.1f}s.")
    with session_scope(get_engine()) as db:
        # Once per database (a brokerage that has documents is left alone).
        from chronos.demo_documents import seed_demo_documents

        if seed_demo_documents(db, demo.DEMO_ORG_SLUG):
            click.echo("Added the demo documents.")
    click.echo("")
    click.echo(
        _table(
            ("Role", "Email", "Password", "Brokerage"),
            [(d.role, d.email, d.password, d.org_name) for d in logins],
        )
    )
    click.echo("")
    from chronos import routes

    # The app's own address (REFLEX_DEPLOY_URL / CHRONOS_PUBLIC_URL), not a fixed :3000.
    click.echo(f"Sign in at {routes.public_url(routes.SIGN_IN)}")


@cli.command()
@click.option("--transactions", "-n", type=click.IntRange(1, 100_000), required=True)
@click.option("--seed", "-s", type=int, default=1, show_default=True)
@click.option("--slug", default=None, help="Organization slug (default: derived from the name).")
@click.option("--name", default=None, help="Brokerage name (default: generated).")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Pretend today is this date (YYYY-MM-DD) for reproducible output.",
)
@click.option("--with-logins", is_flag=True, help="Staff sign in with the demo password.")
@_friendly_errors
def generate(
    transactions: int,
    seed: int,
    slug: str | None,
    name: str | None,
    today: Any,
    with_logins: bool,
) -> None:
    """Generate a synthetic brokerage (bulk inserts; for benchmarks)."""
    from chronos import demo
    from chronos.db import get_engine, session_scope

    if slug is not None and (not _SLUG.match(slug) or len(slug) > 80):
        raise click.ClickException(
            "The organization slug may use lower-case letters, digits and single hyphens."
        )
    _migrate()
    day: date | None = today.date() if today is not None else None
    started = time.perf_counter()
    with session_scope(get_engine()) as db:
        result = demo.generate_brokerage(
            db,
            seed=seed,
            transactions=transactions,
            name=name,
            slug=slug or (None if name else f"generated-{seed}-{transactions}"),
            today=day,
            with_logins=with_logins,
        )
    seconds = time.perf_counter() - started
    click.echo(f"Generated {result.name} ({result.slug}), org id {result.org_id}, {result.mode}:")
    for label, count in (
        ("users", result.users),
        ("people", result.people),
        ("transactions", result.transactions),
        ("participants", result.participants),
        ("events", result.events),
    ):
        click.echo(f"  {label:<13}{count:>8,}")
    click.echo(f"  {'seconds':<13}{seconds:>8.2f}  (generation {result.seconds:.2f}s + commit)")


@cli.command()
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Worker threads (each makes one delivery attempt at a time).",
)
@click.option(
    "--no-periodic",
    is_flag=True,
    help="Do not run the every-minute sweeper here (another worker runs it).",
)
def worker(workers: int, no_periodic: bool) -> None:
    """Run background jobs (email delivery) until stopped; SIGTERM finishes attempts first.

    With CHRONOS_JOBS_URL=redis://... start as many as needed and set
    CHRONOS_JOBS_IN_PROCESS=0 for the app.
    """
    from chronos.jobs import run_worker
    from chronos.observability.setup import configure_process

    configure_process()  # logging, error reports, pool metrics
    settings = get_settings()
    where = _safe_url(settings.jobs_url) if settings.jobs_url else str(settings.var_dir / "jobs.db")
    click.echo(f"Consuming jobs from {where} with {workers} worker threads. Stop with SIGTERM.")
    run_worker(workers=workers, periodic=not no_periodic)


@cli.command()
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write (a .tar; replaced atomically when it exists).",
)
@click.option(
    "--include-s3-bytes",
    is_flag=True,
    help="With S3 storage, copy the objects' bytes too (default: keys and checksums only).",
)
@click.option(
    "--include-secret-key",
    is_flag=True,
    help="Put the secret key in the archive, in clear (keep such an archive like the key).",
)
@_friendly_errors
def backup(out: Path, include_s3_bytes: bool, include_secret_key: bool) -> None:
    """Write one consistent archive: database, documents, secret key reference, manifest."""
    from chronos.backup import create_backup

    settings = get_settings()
    report = create_backup(
        out,
        settings,
        include_s3_bytes=include_s3_bytes,
        include_secret_key=include_secret_key,
        progress=click.echo,
    )
    docs = "bytes included" if report.bytes_included else "keys and checksums only"
    click.echo(
        f"Backup written to {report.path} ({report.archive_bytes:,} bytes) in "
        f"{report.seconds:.1f}s: {report.dialect} database at migration "
        f"{report.migration_head}, {sum(report.tables.values()):,} rows in "
        f"{len(report.tables)} tables; {report.documents:,} documents "
        f"({report.document_bytes:,} bytes, {docs})."
    )
    if report.missing:
        click.echo(
            f"WARNING: {len(report.missing)} stored objects named by the database were not in "
            f"storage (listed in the manifest under storage.missing), e.g. {report.missing[0]}",
            err=True,
        )
    if report.secret_included:
        click.echo("The archive holds the secret key in clear: keep it as safe as the key.")
    else:
        where = (
            "CHRONOS_SECRET_KEY" if report.secret_source == "env" else str(settings.secret_key_path)
        )
        click.echo(
            f"The secret key is not in the archive: keep {where} too; a restore needs the "
            "same key (sessions, signed links and two-factor secrets derive from it)."
        )


@cli.command()
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Replace a target database (and add to a storage) that already holds data.",
)
@_friendly_errors
def restore(archive: Path, force: bool) -> None:
    """Restore an archive made by `chronos backup` into an empty database and storage.

    Every checksum is checked before anything is written; an older archive is migrated
    forward. Stop the app (and workers) first.
    """
    from chronos.backup import restore_backup

    report = restore_backup(archive, get_settings(), force=force, progress=click.echo)
    migrated = (
        f", migrated from {report.archive_head} to {report.head}"
        if report.migrated
        else f" at migration {report.head}"
    )
    click.echo(
        f"Restored a {report.dialect} database{migrated} and {report.documents_written:,} "
        f"documents in {report.seconds:.1f}s."
    )
    click.echo(_table(("Table", "Rows"), [(t, f"{n:,}") for t, n in sorted(report.tables.items())]))
    if report.missing:
        click.echo(
            f"WARNING: {len(report.missing)} objects were already missing when the backup "
            "was taken (storage.missing in its manifest).",
            err=True,
        )
    for note in report.secret_messages:
        click.echo(note, err=note.startswith("WARNING"))


@cli.command("export")
@click.option("--org", "org_slug", required=True, help="The brokerage's slug, e.g. harbor-main.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The ZIP to write (a CSV per table, every document version, a README).",
)
@_friendly_errors
def export_command(org_slug: str, out: Path) -> None:
    """Export one brokerage's records and documents as a ZIP of CSV files."""
    from chronos.db import session_scope
    from chronos.services import org_export

    started = time.monotonic()
    with session_scope() as db:
        org = db.exec(select(Organization).where(Organization.slug == org_slug)).first()
        if org is None:
            raise click.ClickException(f"No brokerage has the slug {org_slug!r}.")
        summary = org_export.export_to_path(db, org.id or 0, out)
    rows = sum(summary.tables.values())
    click.echo(
        f"Exported {org_slug} to {out} in {time.monotonic() - started:.1f}s: {rows:,} rows in "
        f"{len(summary.tables)} CSV files, {summary.documents:,} document versions "
        f"({summary.bytes_of_documents:,} bytes). README.md inside explains each file."
    )


@cli.command("import-archive")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="The new brokerage's name.")
@click.option("--slug", required=True, help="Its slug (lowercase words and dashes).")
@_friendly_errors
def import_archive_command(archive: Path, name: str, slug: str) -> None:
    """Create a brokerage from a `chronos export` ZIP (every row gets a new id)."""
    from chronos.db import session_scope
    from chronos.services import org_import

    if not _SLUG.match(slug):
        raise click.BadParameter("use lowercase letters, digits and dashes", param_hint="--slug")
    started = time.monotonic()
    with session_scope() as db:
        summary = org_import.import_archive(db, archive, name=name, slug=slug)
    rows = sum(summary.tables.values())
    click.echo(
        f"Imported {rows:,} rows and {summary.documents:,} files into {slug} in "
        f"{time.monotonic() - started:.1f}s. Logins have no password: each person sets one "
        'with "Forgot password".'
    )
    for table, count in sorted(summary.skipped.items()):
        click.echo(f"WARNING: {count:,} {table} rows pointed at rows not in the archive.", err=True)


@cli.command("import")
@click.argument("kind", type=click.Choice(["people", "transactions"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_slug", required=True, help="The brokerage's slug.")
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A saved mapping manifest (JSON); without it the suggested mapping is used.",
)
@click.option("--dry-run", is_flag=True, help="Show what each row would do; change nothing.")
@click.option("--as-admin", "admin_email", help="The admin it runs as (default: the first one).")
@click.option(
    "--rejected",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the skipped rows and their reasons to this CSV.",
)
@_friendly_errors
def import_command(
    kind: str,
    file: Path,
    org_slug: str,
    mapping: Path | None,
    dry_run: bool,
    admin_email: str | None,
    rejected: Path | None,
) -> None:
    """Import people or transactions from a CSV or .xlsx file (re-running it changes nothing)."""
    from chronos.db import session_scope
    from chronos.models import User
    from chronos.services.imports import runner
    from chronos.services.imports.mapping import Manifest, suggest_mapping

    data = file.read_bytes()
    with session_scope() as db:
        org = db.exec(select(Organization).where(Organization.slug == org_slug)).first()
        if org is None:
            raise click.ClickException(f"No brokerage has the slug {org_slug!r}.")
        admins = select(User).where(
            User.org_id == org.id,
            User.role == Role.ADMIN.value,
            User.is_active == True,  # noqa: E712
        )
        if admin_email:
            admins = admins.where(func.lower(User.email) == admin_email.strip().lower())
        admin = db.exec(admins.order_by(User.id)).first()  # type: ignore[arg-type]
        if admin is None:
            raise click.ClickException(f"{org_slug} has no active admin to import as.")
        if mapping is not None:
            manifest = Manifest.from_json(mapping.read_text(encoding="utf-8"))
            if manifest.kind != kind:
                raise click.ClickException(f"The mapping is for {manifest.kind}, not {kind}.")
            manifest.source = runner.source_profile(data, file.name, manifest.source)
        else:
            profile = runner.read_profile(data, file.name)
            manifest = Manifest(
                kind=kind,  # type: ignore[arg-type]
                source=profile,
                columns=suggest_mapping(profile.headers, kind),  # type: ignore[arg-type]
            )
            for column, field_name in sorted(manifest.columns.items()):
                click.echo(f"  {column} -> {field_name}")
        started = time.monotonic()
        if dry_run:
            result = runner.preview(db, admin, data, manifest, limit=20)
            click.echo(
                f"Dry run of {file.name}: {result.counts['create']:,} to create, "
                f"{result.counts['update']:,} to update, {result.counts['skip']:,} to skip. "
                "Nothing was changed."
            )
            for plan in result.rows:
                if plan.action != "create":
                    click.echo(f"  row {plan.line}: {plan.action} {plan.reason or plan.match_on}")
            db.rollback()
            return
        batch = runner.create_batch(db, admin, file_name=file.name, data=data, manifest=manifest)
        db.commit()
        assert batch.id is not None
        runner.run_batch(db, admin, batch.id, commit=db.commit)
        if rejected is not None:
            rejected.write_text(runner.rejected_rows_csv(db, admin, batch.id), encoding="utf-8")
    click.echo(
        f"Imported {file.name} into {org_slug} as batch {batch.id} in "
        f"{time.monotonic() - started:.1f}s: {batch.created_count:,} created, "
        f"{batch.updated_count:,} updated, {batch.skipped_count:,} skipped."
    )


def main() -> None:
    cli(prog_name="chronos")


if __name__ == "__main__":
    main()
