"""The ``chronos`` command line, end to end against a throw-away SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlmodel import Session, select

from chronos.cli import cli
from chronos.models import Organization, Person, Transaction, User


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    from chronos.db import get_engine
    from chronos.settings import get_settings

    db_path = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db_path}")
    monkeypatch.setenv("CHRONOS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CHRONOS_SECRET_KEY", "test-secret-key-for-cli-tests")
    monkeypatch.delenv("CHRONOS_DEMO_PASSWORD", raising=False)
    monkeypatch.delenv("CHRONOS_SEED_DEMO", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield db_path
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def _session() -> Session:
    from chronos.db import get_engine

    return Session(get_engine())


def _migrated() -> None:
    result = run("migrate")
    assert result.exit_code == 0, result.output


def test_migrate_creates_the_schema_and_is_repeatable(env: Path) -> None:
    result = run("migrate")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert env.exists()
    again = run("migrate")
    assert again.exit_code == 0, again.output
    with _session() as db:
        assert db.exec(select(Organization)).all() == []


def test_create_user_with_new_org(env: Path) -> None:
    _migrated()
    result = run(
        "create-user",
        "--email", "Owner@Acme.example",
        "--name", "Olivia Owner",
        "--role", "admin",
        "--org-slug", "acme",
        "--org-name", "Acme Realty",
        "--password", "a-long-password",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Created organization Acme Realty (acme)" in result.output
    assert "owner@acme.example" in result.output
    with _session() as db:
        user = db.exec(select(User).where(User.email == "owner@acme.example")).one()
        org = db.exec(select(Organization).where(Organization.slug == "acme")).one()
        assert user.org_id == org.id and user.role == "admin"
    from chronos.db import session_scope
    from chronos.services.auth import sign_in

    with session_scope() as db:
        assert sign_in(db, email="owner@acme.example", password="a-long-password").user


def test_create_user_prompts_for_the_password_with_confirmation(env: Path) -> None:
    _migrated()
    args = ["create-user", "--email", "c@acme.example", "--name", "Cleo Client"]
    args += ["--role", "client", "--org-slug", "acme", "--org-name", "Acme Realty"]
    mismatch = run(*args, input="first-password\nother-password\nfirst-password\nfirst-password\n")
    assert mismatch.exit_code == 0, mismatch.output
    assert "do not match" in mismatch.output.lower()
    with _session() as db:
        user = db.exec(select(User).where(User.email == "c@acme.example")).one()
        person = db.exec(select(Person).where(Person.user_id == user.id)).one()
        assert person.org_id == user.org_id  # outside parties get their contact too


def _create(*extra: str) -> Result:
    base = {
        "--email": "agent@acme.example",
        "--name": "Ann Agent",
        "--role": "agent",
        "--org-slug": "acme",
        "--org-name": "Acme Realty",
        "--password": "a-long-password",
    }
    overrides = dict(zip(extra[::2], extra[1::2], strict=True))
    args: list[str] = ["create-user"]
    for key, value in {**base, **overrides}.items():
        args += [key, value]
    return run(*args)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--role", "boss"), "Unknown role; choose one of: admin, agent"),
        (("--email", "not-an-email"), "Not a valid email address"),
        (("--password", "short"), "at least 10 characters"),
        (("--org-slug", "Bad Slug!"), "slug may use lower-case letters"),
    ],
)
def test_create_user_rejects_bad_input_without_a_traceback(
    env: Path, extra: tuple[str, ...], message: str
) -> None:
    _migrated()
    result = _create(*extra)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert message in result.output
    assert "Traceback" not in result.output
    with _session() as db:
        assert db.exec(select(User)).all() == []


def test_create_user_refuses_a_duplicate_email(env: Path) -> None:
    _migrated()
    assert _create().exit_code == 0
    result = _create("--name", "Someone Else")
    assert result.exit_code == 1
    assert "Error: A user with the email agent@acme.example already exists." in result.output
    with _session() as db:
        assert len(db.exec(select(User)).all()) == 1


def test_create_user_needs_an_existing_org_or_a_name(env: Path) -> None:
    _migrated()
    args = ["create-user", "--email", "x@nowhere.example", "--name", "X Y", "--role", "agent"]
    result = run(*args, "--org-slug", "nowhere", "--password", "a-long-password")
    assert result.exit_code == 1
    assert "No organization with the slug 'nowhere'" in result.output


def test_create_user_before_migrating_explains_what_to_do(env: Path) -> None:
    result = _create()
    assert result.exit_code == 1
    assert "chronos migrate" in result.output
    assert "Traceback" not in result.output


def test_seed_demo_if_empty_twice(env: Path) -> None:
    first = run("seed-demo", "--if-empty")
    assert first.exit_code == 0, first.output
    assert "Seeded the demo data" in first.output
    for role in ("admin", "agent", "coordinator", "client", "attorney", "lender"):
        assert f"{role}@harbormain.example" in first.output
    assert "agent@summitridge.example" in first.output
    # Outside `make run` the demo password is random, kept in the var dir and printed.
    kept = (env.parent / "var" / "demo_password").read_text().strip()
    assert kept in first.output and "chronos-demo-2026" not in first.output
    assert "http://localhost:3000/sign-in" in first.output
    with _session() as db:
        counts = (len(db.exec(select(Transaction)).all()), len(db.exec(select(User)).all()))

    second = run("seed-demo", "--if-empty")
    assert second.exit_code == 0, second.output
    assert "already there" in second.output
    assert "admin@harbormain.example" in second.output
    with _session() as db:
        again = (len(db.exec(select(Transaction)).all()), len(db.exec(select(User)).all()))
    assert again == counts


def test_seed_demo_if_empty_leaves_a_database_with_data_alone(env: Path) -> None:
    _migrated()
    assert _create().exit_code == 0
    result = run("seed-demo", "--if-empty")
    assert result.exit_code == 0, result.output
    assert "not seeding" in result.output
    with _session() as db:
        assert len(db.exec(select(Organization)).all()) == 1


def test_seed_demo_if_empty_only_migrates_when_demo_seeding_is_off(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chronos.settings import get_settings

    monkeypatch.setenv("CHRONOS_SEED_DEMO", "0")
    get_settings.cache_clear()
    result = run("seed-demo", "--if-empty")
    assert result.exit_code == 0, result.output
    assert "Demo seeding is off" in result.output
    with _session() as db:
        assert db.exec(select(Organization)).all() == []


def test_generate_a_small_brokerage(env: Path) -> None:
    result = run("generate", "--transactions", "25", "--seed", "9", "--slug", "bench-9")
    assert result.exit_code == 0, result.output
    assert "(bench-9)" in result.output
    assert "transactions" in result.output and "seconds" in result.output
    with _session() as db:
        org = db.exec(select(Organization).where(Organization.slug == "bench-9")).one()
        txns = db.exec(select(Transaction).where(Transaction.org_id == org.id)).all()
        assert len(txns) == 25
    duplicate = run("generate", "--transactions", "5", "--seed", "9", "--slug", "bench-9")
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output


def test_generate_is_reproducible_with_today(env: Path) -> None:
    args = ["generate", "-n", "30", "-s", "4", "--today", "2026-01-15"]
    assert run(*args, "--slug", "one").exit_code == 0
    assert run(*args, "--slug", "two").exit_code == 0
    with _session() as db:
        rows = {}
        for slug in ("one", "two"):
            org = db.exec(select(Organization).where(Organization.slug == slug)).one()
            rows[slug] = [
                (t.street, t.stage, t.price_cents, t.closing_date)
                for t in db.exec(
                    select(Transaction).where(Transaction.org_id == org.id).order_by(Transaction.id)
                ).all()
            ]
    assert rows["one"] == rows["two"]


def test_help_lists_the_commands(env: Path) -> None:
    result = run("--help")
    assert result.exit_code == 0
    for name in ("migrate", "create-user", "seed-demo", "generate"):
        assert name in result.output


def test_export_writes_one_brokerage_as_a_zip(env: Path, tmp_path: Path) -> None:
    import zipfile

    _migrated()
    assert run("generate", "-n", "5", "--slug", "north-shore").exit_code == 0
    assert run("generate", "-n", "3", "--slug", "south-shore").exit_code == 0
    out = tmp_path / "north.zip"
    result = run("export", "--org", "north-shore", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Exported north-shore" in result.output and "README.md inside" in result.output
    with zipfile.ZipFile(out) as zf:
        rows = zf.read("transactions.csv").decode().strip().splitlines()
    assert len(rows) == 1 + 5
    missing = run("export", "--org", "nowhere", "--out", str(tmp_path / "n.zip"))
    assert missing.exit_code != 0 and "No brokerage has the slug 'nowhere'" in missing.output


def test_import_archive_brings_an_export_into_another_chronos(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chronos.db import get_engine
    from chronos.settings import get_settings

    _migrated()
    assert run("generate", "-n", "4", "--slug", "cape-ann").exit_code == 0
    out = tmp_path / "cape.zip"
    assert run("export", "--org", "cape-ann", "--out", str(out)).exit_code == 0
    again = run("import-archive", str(out), "--name", "Cape Ann", "--slug", "cape-ann-2")
    assert again.exit_code != 0 and "already exists in this Chronos" in again.output

    get_engine().dispose()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'second.db'}")
    get_settings.cache_clear()
    get_engine.cache_clear()
    _migrated()
    result = run("import-archive", str(out), "--name", "Cape Ann", "--slug", "cape-ann")
    assert result.exit_code == 0, result.output
    assert "Imported" in result.output and "Forgot password" in result.output
    with _session() as db:
        assert len(db.exec(select(Transaction)).all()) == 4


def test_import_people_dry_run_changes_nothing_then_imports_and_re_runs_idempotently(
    env: Path, tmp_path: Path
) -> None:
    _migrated()
    assert run("generate", "-n", "2", "--slug", "north-shore").exit_code == 0
    csv_path = tmp_path / "contacts.csv"
    csv_path.write_text(
        "First Name,Last Name,Email\r\nNed,North,ned@example.com\r\nBad,Row,nope\r\n",
        encoding="utf-8",
    )
    with _session() as db:
        before = len(db.exec(select(Person)).all())
    dry = run("import", "people", str(csv_path), "--org", "north-shore", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "1 to create, 0 to update, 1 to skip. Nothing was changed." in dry.output
    assert "Email -> email" in dry.output
    with _session() as db:
        assert len(db.exec(select(Person)).all()) == before
    rejected = tmp_path / "rejected.csv"
    first = run(
        "import", "people", str(csv_path), "--org", "north-shore", "--rejected", str(rejected)
    )
    assert first.exit_code == 0, first.output
    assert "1 created, 0 updated, 1 skipped." in first.output
    import csv

    with rejected.open(encoding="utf-8", newline="") as fh:
        assert list(csv.reader(fh))[1][:2] == ["3", '"nope" is not an email address.']
    again = run("import", "people", str(csv_path), "--org", "north-shore")
    assert "0 created, 0 updated, 2 skipped." in again.output
    with _session() as db:
        assert len(db.exec(select(Person)).all()) == before + 1


def test_import_refuses_a_mapping_for_the_other_kind_and_an_unknown_brokerage(
    env: Path, tmp_path: Path
) -> None:
    _migrated()
    assert run("generate", "-n", "1", "--slug", "north-shore").exit_code == 0
    csv_path = tmp_path / "deals.csv"
    csv_path.write_text("Property Address,Side\r\n1 Main St,Buyer\r\n", encoding="utf-8")
    mapping = tmp_path / "m.json"
    mapping.write_text(
        '{"version": 1, "kind": "people", "columns": {"Property Address": "first_name"}}',
        encoding="utf-8",
    )
    wrong = run(
        "import", "transactions", str(csv_path), "--org", "north-shore", "--mapping", str(mapping)
    )
    assert wrong.exit_code != 0 and "The mapping is for people, not transactions." in wrong.output
    nowhere = run("import", "transactions", str(csv_path), "--org", "nowhere")
    assert nowhere.exit_code != 0 and "No brokerage has the slug 'nowhere'" in nowhere.output
    ok = run("import", "transactions", str(csv_path), "--org", "north-shore")
    assert ok.exit_code == 0, ok.output
    assert "1 created, 0 updated, 0 skipped." in ok.output
