"""search: chronos_fold(text), the accent-, case- and form-insensitive key search compares

SQLite registers chronos_fold per connection from Python (chronos/db.py, fold_text). On
PostgreSQL it is an SQL function: NFKC-normalised, zero-width and bidi characters removed,
accents removed by the unaccent extension (trusted since PostgreSQL 13: a database owner may
create it) and lower-cased. Where unaccent cannot be created the function still folds case,
forms and invisible characters, and says so in the server log.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INVISIBLE = r"[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        DO $$ BEGIN
            CREATE EXTENSION IF NOT EXISTS unaccent;
        EXCEPTION WHEN insufficient_privilege OR undefined_file THEN
            RAISE WARNING 'unaccent is not available: search will not ignore accents';
        END $$;
        """
    )
    cleaned = f"regexp_replace(normalize($1, NFKC), '{_INVISIBLE}', '', 'g')"
    has_unaccent = op.get_bind().exec_driver_sql(
        "SELECT 1 FROM pg_extension WHERE extname = 'unaccent'"
    ).scalar()
    folded = f"unaccent('unaccent'::regdictionary, {cleaned})" if has_unaccent else cleaned
    op.execute(
        "CREATE OR REPLACE FUNCTION chronos_fold(text) RETURNS text"
        " LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE"
        f" AS $$ SELECT lower({folded}) $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS chronos_fold(text)")
