"""The /files routes by URL, on SQLite and PostgreSQL: the persona matrix for signed links
(allowed → the exact bytes with safe headers, forbidden → 404), links bound to the user they
were made for, forged/altered/expired links, and the upload route's refusals (each bad file
gets its specific message and nothing is saved)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from chronos import db as chronos_db
from chronos import settings
from chronos.models import Document, DocumentVersion, User
from chronos.services import auth, documents
from chronos.services.documents import Share
from chronos.services.files import inspect_upload
from chronos.storage import get_storage
from tests.factories import DEFAULT_PASSWORD, PERSONAS, World, build_world
from tests.support.pdfs import corrupt_pdf, encrypted_pdf, jpeg, make_pdf, truncated_pdf


def _clear_storage() -> None:
    """get_storage keys its backend by configuration; older versions cached one."""
    clear = getattr(get_storage, "cache_clear", None)
    if clear is not None:
        clear()


ORIGIN = "http://testserver"
MAX = 10 * 1024 * 1024
SHARINGS: dict[str, Share] = {
    "internal": Share(),
    "client": Share(client=True),
    "attorney": Share(attorney=True),
    "lender": Share(lender=True),
    "all": Share(client=True, attorney=True, lender=True),
}
EVERY = frozenset(SHARINGS)
NONE: frozenset[str] = frozenset()
EXPECTED: dict[str, dict[str, frozenset[str]]] = {
    "admin": {"deal": EVERY, "other_deal": EVERY},
    "agent": {"deal": EVERY, "other_deal": NONE},
    "coordinator": {"deal": EVERY, "other_deal": NONE},
    "agent2": {"deal": NONE, "other_deal": EVERY},
    "client": {"deal": frozenset({"client", "all"}), "other_deal": NONE},
    "client2": {"deal": NONE, "other_deal": frozenset({"client", "all"})},
    "attorney": {"deal": frozenset({"attorney", "all"}), "other_deal": NONE},
    "lender": {"deal": frozenset({"lender", "all"}), "other_deal": NONE},
    "outsider_agent": {"deal": NONE, "other_deal": NONE},
    "outsider_admin": {"deal": NONE, "other_deal": NONE},
}


@dataclass
class Files:
    client: TestClient
    engine: Engine
    world: World
    storage_dir: Path
    versions: dict[tuple[str, str], tuple[int, bytes]]  # (deal, sharing) -> (version id, bytes)
    tokens: dict[str, str]

    def as_(self, who: str | None) -> TestClient:
        self.client.cookies.clear()
        if who is not None:
            self.client.cookies.set(settings.get_settings().cookie_name, self.token(who))
        return self.client

    def token(self, who: str) -> str:
        if who not in self.tokens:
            with chronos_db.session_scope(self.engine) as db:
                user = self.world.user(who)
                self.tokens[who] = auth.sign_in(
                    db, email=user.email, password=DEFAULT_PASSWORD
                ).token
        return self.tokens[who]

    def uid(self, who: str) -> int:
        return self.world.user(who).id or 0


def _reset_caches() -> None:
    settings.get_settings.cache_clear()
    _clear_storage()


@pytest.fixture
def files(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Files]:
    storage_dir = tmp_path / "documents"
    monkeypatch.setenv("CHRONOS_STORAGE", "local")
    monkeypatch.setenv("CHRONOS_STORAGE_DIR", str(storage_dir))
    _reset_caches()
    monkeypatch.setattr(chronos_db, "get_engine", lambda: engine)
    with Session(engine, expire_on_commit=False) as db:
        world = build_world(db)
        db.commit()
        versions: dict[tuple[str, str], tuple[int, bytes]] = {}
        for deal_name, owner in (("deal", world.agent), ("other_deal", world.agent2)):
            txn = getattr(world, deal_name)
            for sharing, share in SHARINGS.items():
                data = make_pdf([f"{deal_name} {sharing}"])
                doc = documents.add_document(
                    db,
                    owner,
                    txn,
                    inspect_upload(f"{deal_name}-{sharing}.pdf", data, max_bytes=MAX),
                    data,
                    title=f"{deal_name}:{sharing}",
                    share=share,
                )
                versions[(deal_name, sharing)] = (documents.current_version(db, doc).id or 0, data)
        db.commit()
    from chronos.api.app import create_api

    client = TestClient(create_api(), base_url=ORIGIN, follow_redirects=False)
    yield Files(client, engine, world, storage_dir, versions, {})
    _reset_caches()


@pytest.mark.parametrize("who", PERSONAS)
def test_links_by_persona(files: Files, who: str) -> None:
    http = files.as_(who)
    for (deal_name, sharing), (version_id, data) in files.versions.items():
        allowed = sharing in EXPECTED[who][deal_name]
        r = http.get(documents.file_link(files.uid(who), version_id))
        page = http.get(documents.file_link(files.uid(who), version_id, page=1, width=480))
        if allowed:
            assert r.status_code == 200, (deal_name, sharing, r.text)
            assert r.content == data
            assert r.headers["content-type"].startswith("application/pdf")
            assert r.headers["x-content-type-options"] == "nosniff"
            assert "sandbox" in r.headers["content-security-policy"]
            assert r.headers["content-disposition"].startswith("attachment")
            assert page.status_code == 200 and page.content.startswith(b"\x89PNG")
            assert page.headers["x-content-type-options"] == "nosniff"
        else:
            assert r.status_code == 404, (deal_name, sharing)
            assert page.status_code == 404, (deal_name, sharing)
            assert data not in r.content


def test_an_inline_link_says_inline(files: Files) -> None:
    version_id, _ = files.versions[("deal", "client")]
    r = files.as_("client").get(documents.file_link(files.uid("client"), version_id, inline=True))
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("inline")


def test_the_http_sign_in_cookie_opens_a_link(files: Files) -> None:
    http = files.as_(None)
    user = files.world.user("lender")
    r = http.post(
        "/auth/sign-in",
        data={"email": user.email, "password": DEFAULT_PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 303
    version_id, data = files.versions[("deal", "lender")]
    assert http.get(documents.file_link(user.id or 0, version_id)).content == data


def test_a_link_is_bound_to_its_user(files: Files) -> None:
    version_id, data = files.versions[("deal", "all")]
    link = documents.file_link(files.uid("client"), version_id)
    page = documents.file_link(files.uid("client"), version_id, page=1, width=480)
    # The attorney may see this document too, but not through the client's link.
    for who in ("attorney", "agent", "admin"):
        http = files.as_(who)
        assert http.get(link).status_code == 403
        assert http.get(page).status_code == 403
    assert files.as_(None).get(link).status_code == 403
    assert files.as_(None).get(page).status_code == 403
    assert files.as_("client").get(link).content == data


def _with(link: str, **changes: str) -> str:
    parts = urlsplit(link)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts.path + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_forged_altered_and_expired_links_are_refused(files: Files) -> None:
    version_id, data = files.versions[("deal", "client")]
    other_id, _ = files.versions[("deal", "all")]
    uid = files.uid("client")
    http = files.as_("client")
    good = documents.file_link(uid, version_id)
    assert http.get(good).status_code == 200
    sig = parse_qs(urlsplit(good).query)["s"][0]
    bad = [
        _with(good, s=("A" if sig[0] != "A" else "B") + sig[1:]),  # tampered signature
        good.replace(f"/files/{version_id}?", f"/files/{other_id}?"),  # another version
        _with(good, e=str(int(time.time()) + 99999)),  # a longer life
        _with(good, m="i"),  # inline instead of attachment
        documents.file_link(uid, version_id, now=time.time() - 3600),  # expired
        re.sub(r"&s=[^&]+", "", good),  # no signature
    ]
    for link in bad:
        r = http.get(link)
        assert r.status_code == 403, link
        assert data not in r.content
    page = documents.file_link(uid, version_id, page=1, width=480)
    assert http.get(page).status_code == 200
    assert http.get(_with(page, w="1400")).status_code == 403
    assert http.get(page.replace("/page/1?", "/page/2?")).status_code == 403
    expired = documents.file_link(uid, version_id, page=1, width=480, now=time.time() - 3600)
    assert http.get(expired).status_code == 403


def test_access_withdrawn_stops_an_issued_link(files: Files) -> None:
    version_id, _ = files.versions[("deal", "client")]
    link = documents.file_link(files.uid("client"), version_id)
    assert files.as_("client").get(link).status_code == 200
    with chronos_db.session_scope(files.engine) as db:
        doc = db.exec(select(Document).where(Document.title == "deal:client")).one()
        documents.update_document(db, db.get(User, files.uid("agent")), doc.id or 0, share=Share())
    assert files.as_("client").get(link).status_code == 404


# --- uploads ---------------------------------------------------------------------------------


def _heic() -> bytes:
    return b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200


BAD_FILES: list[tuple[str, str, bytes, str]] = [
    ("empty", "empty.pdf", b"", "empty.pdf is empty (0 bytes)."),
    ("truncated", "cut.pdf", truncated_pdf(), "cut.pdf is incomplete"),
    ("encrypted", "locked.pdf", encrypted_pdf(), "locked.pdf is password-protected."),
    ("corrupt", "broken.pdf", corrupt_pdf(), "broken.pdf is damaged and cannot be read"),
    ("renamed", "photo.pdf", jpeg(), "photo.pdf is named like a PDF but its content is"),
    ("exe", "setup.exe", b"MZ\x90\x00" + b"\x00" * 500, "setup.exe is"),
    ("heic", "IMG_0001.HEIC", _heic(), "IMG_0001.HEIC is an HEIC photo"),
]


def _upload(
    files: Files,
    who: str | None,
    parts: list[tuple[str, bytes]],
    *,
    txn: str = "deal",
    origin: str | None = ORIGIN,
    extra: dict[str, str] | None = None,
) -> Any:
    http = files.as_(who)
    txn_id = getattr(files.world, txn).id
    headers = {"Origin": origin} if origin else {}
    return http.post(
        f"/files/upload?next=/portal/{txn_id}",
        data={"transaction_id": str(txn_id), **(extra or {})},
        files=[("file", (name, data, "application/octet-stream")) for name, data in parts],
        headers=headers,
    )


def _notice(r: Any) -> dict[str, Any]:
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert urlsplit(location).path.startswith("/portal/")
    token = parse_qs(urlsplit(location).query)["upload"][0]
    notice = documents.decode_notice(token)
    assert notice is not None
    return notice


def _stored(files: Files) -> list[Path]:
    if not files.storage_dir.exists():
        return []
    return [p for p in files.storage_dir.rglob("*") if p.is_file()]


def _counts(files: Files) -> tuple[int, int]:
    with Session(files.engine) as db:
        docs = db.exec(select(func.count()).select_from(Document)).one()
        versions = db.exec(select(func.count()).select_from(DocumentVersion)).one()
    return int(docs), int(versions)


@pytest.mark.parametrize(
    ("case", "name", "data", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES]
)
def test_each_bad_file_is_refused_with_its_reason_and_nothing_is_saved(
    files: Files, case: str, name: str, data: bytes, message: str
) -> None:
    before, stored = _counts(files), set(_stored(files))
    notice = _notice(_upload(files, "client", [(name, data)]))
    assert notice.get("saved") == []
    assert len(notice["errors"]) == 1 and notice["errors"][0].startswith(message), notice
    assert _counts(files) == before
    assert set(_stored(files)) == stored


def test_an_oversize_file_is_refused(files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHRONOS_MAX_UPLOAD_MB", "1")
    settings.get_settings.cache_clear()
    before, stored = _counts(files), set(_stored(files))
    big = make_pdf(["big"])[:-6] + b"\n" + b"0" * (1024 * 1024 + 10) + b"\n%%EOF\n"
    notice = _notice(_upload(files, "client", [("good.pdf", make_pdf(["ok"])), ("big.pdf", big)]))
    assert notice.get("saved", []) == []
    assert notice["errors"] == [
        "big.pdf is larger than 1.0 MB, the largest file accepted. Nothing from this upload "
        "was saved; try again without it."
    ]
    assert _counts(files) == before and set(_stored(files)) == stored


def test_an_oversize_file_stops_the_read_at_the_cap() -> None:
    """A 120 MB file used to be received whole (spooled), then refused with the wrong size."""
    import asyncio

    from starlette.datastructures import Headers

    from chronos.api.file_routes import CappedMultiPartParser, FileTooLarge

    cap, chunk = 1024 * 1024, 64 * 1024
    sent = 0

    async def body() -> Any:
        nonlocal sent
        head = (
            b'--zzz\r\nContent-Disposition: form-data; name="file"; filename="huge.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n"
        )
        sent += len(head)
        yield head
        for _ in range(120 * 1024 * 1024 // chunk):  # 120 MB, never all sent
            sent += chunk
            yield b"0" * chunk

    parser = CappedMultiPartParser(
        Headers({"content-type": "multipart/form-data; boundary=zzz"}),
        body(),
        max_file_size=cap,
    )
    with pytest.raises(FileTooLarge) as exc:
        asyncio.run(parser.parse())
    assert exc.value.filename == "huge.pdf"
    assert sent <= cap + 2 * chunk  # stopped at the cap, not at 120 MB


def test_too_many_files_are_refused(files: Files) -> None:
    before = _counts(files)
    parts = [(f"f{i}.pdf", make_pdf([f"file {i}"])) for i in range(11)]
    notice = _notice(_upload(files, "client", parts))
    assert notice.get("saved") in (None, []) and "could not be read" in notice["errors"][0]
    assert _counts(files) == before


def test_a_good_pdf_is_saved_and_shared_with_the_uploader_then_a_duplicate_is_refused(
    files: Files,
) -> None:
    data = make_pdf(["Bank statement March"])
    notice = _notice(_upload(files, "client", [("March.pdf", data)], extra={"title": "March"}))
    assert notice["errors"] == [] and [s["title"] for s in notice["saved"]] == ["March"]
    with Session(files.engine) as db:
        doc = db.get(Document, notice["saved"][0]["id"])
        assert doc is not None and doc.share_client and not doc.share_lender
        version = documents.current_version(db, doc)
    assert version.sha256 and len(_stored(files)) >= 1
    r = files.as_("client").get(documents.file_link(files.uid("client"), version.id or 0))
    assert r.content == data
    again = _notice(_upload(files, "client", [("again.pdf", data)]))
    assert again["saved"] == []
    assert again["errors"][0].startswith("This exact file is already on this transaction: “March”")


def test_one_bad_file_does_not_lose_the_good_one(files: Files) -> None:
    notice = _notice(_upload(files, "lender", [("good.pdf", make_pdf(["good"])), ("bad.pdf", b"")]))
    assert [s["title"] for s in notice["saved"]] == ["good"]
    assert notice["errors"][0].startswith("bad.pdf is empty")


@pytest.mark.parametrize("who", ["client2", "agent2", "outsider_admin"])
def test_an_upload_to_someone_elses_file_is_refused(files: Files, who: str) -> None:
    before, stored = _counts(files), set(_stored(files))
    notice = _notice(_upload(files, who, [("x.pdf", make_pdf(["x"]))]))
    assert notice["saved"] == [] and notice["errors"] == ["Transaction not found."]
    assert _counts(files) == before and set(_stored(files)) == stored


@pytest.mark.parametrize("origin", [None, "https://evil.example"])
def test_a_cross_origin_upload_is_refused(files: Files, origin: str | None) -> None:
    before = _counts(files)
    r = _upload(files, "client", [("x.pdf", make_pdf(["x"]))], origin=origin)
    assert r.status_code == 403
    assert _counts(files) == before


def test_a_declared_body_over_the_cap_is_refused_before_reading(files: Files) -> None:
    http = files.as_("client")
    limit = settings.get_settings().max_upload_bytes * 10 + 1024 * 1024
    r = http.post(
        "/files/upload",
        content=b"x" * 10,
        headers={
            "Origin": ORIGIN,
            "Content-Type": "multipart/form-data; boundary=zzz",
            "Content-Length": str(limit + 1),
        },
    )
    assert r.status_code == 413


def test_an_upload_without_a_session_goes_to_sign_in(files: Files) -> None:
    before = _counts(files)
    r = _upload(files, None, [("x.pdf", make_pdf(["x"]))])
    assert r.status_code == 303 and "/sign-in" in r.headers["location"]
    assert _counts(files) == before


# --- a batch is per-file: a crash on one file never half-saves it nor undoes another -------


def _events(files: Files, kind: str) -> list[str]:
    from chronos.models import Event

    with Session(files.engine) as db:
        return list(db.exec(select(Event.summary).where(Event.kind == kind)).all())


def test_a_crash_on_file_two_leaves_file_one_saved_and_nothing_of_file_two(
    files: Files, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from chronos.services import timeline

    real_record = timeline.record
    calls = {"n": 0}

    def record(*args: Any, **kwargs: Any) -> Any:
        # The second file's document_added event: by then its object is stored and its
        # document and version rows are flushed. A bug (not a ChronosError) strikes there.
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("unexpected failure while saving file 2")
        return real_record(*args, **kwargs)

    monkeypatch.setattr(timeline, "record", record)
    docs_before, versions_before = _counts(files)
    stored_before = set(_stored(files))
    one, two = make_pdf(["File one"]), make_pdf(["File two"])
    with caplog.at_level("ERROR", logger="chronos.api.file_routes"):
        r = _upload(files, "agent", [("one.pdf", one), ("two.pdf", two), ("three.pdf", b"")])
    notice = _notice(r)  # a redirect with the outcome, never a 500

    assert [s["title"] for s in notice["saved"]] == ["one"]
    assert notice["errors"][0] == (
        "two.pdf could not be saved. Try it again; if it fails again, tell us."
    )
    assert notice["errors"][1].startswith("three.pdf is empty")  # the batch went on
    # File one: its rows, its object (the exact bytes) and its event.
    assert _counts(files) == (docs_before + 1, versions_before + 1)
    new_objects = set(_stored(files)) - stored_before
    assert [p.read_bytes() for p in new_objects] == [one]
    with Session(files.engine) as db:
        titles = set(db.exec(select(Document.title)).all())
        names = set(db.exec(select(DocumentVersion.filename)).all())
    assert "one" in titles and "two" not in titles
    assert "one.pdf" in names and "two.pdf" not in names
    added = _events(files, "document_added")
    assert any("one.pdf" in s for s in added) and not any("two.pdf" in s for s in added)
    # Logged server-side with its traceback; no traceback reached the user.
    failed = [rec for rec in caplog.records if "upload of two.pdf failed" in rec.getMessage()]
    assert failed and failed[0].exc_info is not None
    assert "RuntimeError" not in str(notice)


# --- PDF active content: cleaned at upload, and only checked PDFs open inline --------------


def test_a_pdf_with_a_script_is_stored_without_it_and_the_notice_says_so(files: Files) -> None:
    from tests.support.pdfs import hostile_pdf

    notice = _notice(_upload(files, "agent", [("Disclosure.pdf", hostile_pdf("open_action"))]))
    assert notice["errors"] == []
    assert notice["saved"][0]["note"] == (
        "active content (JavaScript) was removed; its pages and form fields are unchanged"
    )
    assert documents.saved_lines(notice) == [
        "“Disclosure”: active content (JavaScript) was removed; its pages and form fields "
        "are unchanged."
    ]
    with Session(files.engine) as db:
        doc = db.get(Document, notice["saved"][0]["id"])
        assert doc is not None
        version = documents.current_version(db, doc)
    assert version.active_content_removed == "JavaScript" and version.active_content_checked
    r = files.as_("agent").get(
        documents.file_link(files.uid("agent"), version.id or 0, inline=True)
    )
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("inline")
    assert "content-security-policy" not in r.headers  # the browser's PDF viewer needs that
    assert b"/JavaScript" not in r.content and b"/OpenAction" not in r.content
    assert any(
        "active content (JavaScript) was removed" in s for s in _events(files, "document_added")
    )


def test_a_pdf_never_checked_for_active_content_is_never_served_inline(files: Files) -> None:
    version_id, data = files.versions[("deal", "client")]
    with Session(files.engine) as db:
        version = db.get(DocumentVersion, version_id)
        assert version is not None
        version.active_content_checked = False  # as every version stored before the check
        db.add(version)
        db.commit()
    r = files.as_("client").get(documents.file_link(files.uid("client"), version_id, inline=True))
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in r.headers["content-security-policy"]
