"""Document bytes in and out. The only routes that touch stored files.

- ``POST /files/upload``: a native multipart form POST (works the same on a phone, camera
  photos included), cookie-authenticated with the Origin/Referer check. The body is capped
  while it streams: each file at ``max_upload_bytes`` (the read stops there and nothing of the
  upload is saved), the whole at ``MAX_FILES`` files. Once it has all arrived, each file is
  validated and saved in its own unit of work, so one bad file loses nothing of the others. The browser
  is sent back (303) to the page it came from with a signed ``upload`` token describing the
  outcome.
- ``GET /files/{version}`` and ``GET /files/{version}/page/{n}``: open a stored file or a PNG
  of one PDF page through a short-lived signed link (``services.documents.file_link``) that is
  bound to the user; the session cookie must belong to that same user, and access is checked
  again on every request, so a link stops working when access is withdrawn. On S3 the file
  itself is a redirect to a presigned URL that lives one minute.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive

from chronos import routes
from chronos.api.security import (
    foreign_request,
    page_url,
    same_origin_ok,
    token_from_cookie_header,
)
from chronos.db import session_scope
from chronos.services import auth, documents, idempotency
from chronos.services.errors import ChronosError, PermissionDenied
from chronos.services.files import human_size
from chronos.storage import StorageError, get_storage
from chronos.storage.s3 import content_disposition

log = logging.getLogger(__name__)

UPLOAD_PATH = "/files/upload"
MAX_FILES = 10
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # A stored file never runs script in our origin, even if a browser were to sniff it.
    "Content-Security-Policy": "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox",
    "Cache-Control": "private, max-age=300",
    "Referrer-Policy": "no-referrer",
}


class BodyTooLarge(Exception):
    pass


class FileTooLarge(Exception):
    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self.filename = filename


class CappedMultiPartParser(MultiPartParser):
    """Starlette's multipart parser with a cap per file, counted as the bytes arrive: a 120 MB
    file stops the read at 25 MB + 1 byte instead of being spooled whole first."""

    def __init__(self, *args: Any, max_file_size: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_file_size = max_file_size
        self._file_bytes = 0

    def on_part_begin(self) -> None:
        super().on_part_begin()
        self._file_bytes = 0

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._current_part
        if part.file is not None:
            self._file_bytes += end - start
            if self._file_bytes > self.max_file_size:
                raise FileTooLarge(part.file.filename or "A file")
        super().on_part_data(data, start, end)


def _capped(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return wrapped


def _return_path(raw: str | None) -> str:
    path = routes.safe_next(raw) or routes.PIPELINE
    return urlsplit(path).path  # drop any query: the outcome token is ours to add


def _back(request: Request, path: str, payload: dict[str, Any]) -> RedirectResponse:
    query = urlencode({"upload": documents.encode_notice(payload)})
    return RedirectResponse(page_url(request, f"{path}?{query}"), status_code=303)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "", "0") else None
    except (TypeError, ValueError):
        return None


async def upload(request: Request) -> Response:
    from chronos.settings import get_settings

    settings = get_settings()
    if not same_origin_ok(request):
        return PlainTextResponse("Cross-origin request refused.", status_code=403)
    back_to = _return_path(request.query_params.get("next"))
    per_file = settings.max_upload_bytes
    limit = per_file * MAX_FILES + 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        # Refused before reading: the browser shows this page instead of the app.
        return PlainTextResponse(
            f"Upload refused: {human_size(int(declared))} is more than the "
            f"{human_size(limit)} one upload may carry.",
            status_code=413,
        )
    token = token_from_cookie_header(request.headers.get("cookie"))
    with session_scope() as db:
        actor = auth.resolve_session(db, token)
        if actor is None:
            return RedirectResponse(
                page_url(request, f"{routes.SIGN_IN}?{urlencode({'next': back_to})}"),
                status_code=303,
            )
        actor_id = actor.id
    capped = Request(request.scope, _capped(request.receive, limit))
    parser = CappedMultiPartParser(
        capped.headers,
        capped.stream(),
        max_files=MAX_FILES,
        max_fields=50,
        max_part_size=64 * 1024,
        max_file_size=per_file,
    )
    try:
        form = await parser.parse()
    except FileTooLarge as exc:
        # Nothing of this upload was saved: the files are saved only after the whole form
        # has arrived, and this one stopped the read.
        return _back(
            request,
            back_to,
            {
                "errors": [
                    f"{exc.filename} is larger than {human_size(per_file)}, the largest file "
                    "accepted. Nothing from this upload was saved; try again without it."
                ]
            },
        )
    except BodyTooLarge:
        return _back(
            request, back_to, {"errors": [f"The upload is larger than {human_size(limit)}."]}
        )
    except Exception as exc:  # malformed multipart, too many files or fields
        log.info("upload refused: %s", exc)
        return _back(request, back_to, {"errors": [f"The upload could not be read: {exc}"]})
    try:
        files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        files = [f for f in files if f.filename or (f.size or 0) > 0]
        if not files:
            return _back(request, back_to, {"errors": ["Choose a file to upload."]})
        txn_id = _int_or_none(form.get("transaction_id"))
        if txn_id is None:
            return _back(
                request,
                back_to,
                {"errors": ["The upload did not say which transaction it is for."]},
            )
        share = documents.Share(
            client=form.get("share_client") == "on",
            attorney=form.get("share_attorney") == "on",
            lender=form.get("share_lender") == "on",
        )
        title = str(form.get("title") or "") if len(files) == 1 else ""
        category = str(form.get("category") or "other")
        slot_id = _int_or_none(form.get("slot_id"))
        document_id = _int_or_none(form.get("document_id"))
        # The form's key (set by the browser at its first submit): a repeated POST of the same
        # files saves nothing twice and reports the first upload's outcome.
        key = form.get(idempotency.FORM_FIELD)
        once_key = key if isinstance(key, str) and len(key) <= idempotency.MAX_KEY else ""
        saved: list[dict[str, Any]] = []
        errors: list[str] = []
        for index, f in enumerate(files):
            data = await f.read(per_file + 1)
            name = f.filename or "document"
            request_facts = {
                "txn": txn_id,
                "name": name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "title": title,
                "category": category,
                "slot": slot_id,
                "document": document_id,
                "share": dataclasses.asdict(share),
            }
            try:
                with session_scope() as db:
                    user = auth.resolve_session(db, token)
                    if user is None or user.id != actor_id:
                        raise PermissionDenied("Your session ended. Sign in again.")

                    def save(user: Any = user, data: bytes = data, name: str = name) -> Any:
                        doc = documents.upload(
                            db,
                            user,
                            txn_id,
                            name,
                            data,
                            title=title,
                            category=category,
                            slot_id=slot_id,
                            document_id=document_id,
                            share=share,
                        )
                        return {"id": doc.id, "title": doc.title, "v": doc.current_version}

                    saved.append(
                        idempotency.once(db, user, f"upload {index}", once_key, request_facts, save)
                    )
            except ChronosError as exc:
                errors.append(exc.message)
            except StorageError as exc:
                log.error("storage failed during upload: %s", exc)
                errors.append(f"{name} could not be stored right now. Try again in a minute.")
    finally:
        await form.close()
    origin = str(form.get("origin") or "documents")[:20]
    return _back(request, back_to, {"saved": saved, "errors": errors, "origin": origin})


def _claims(request: Request, page: int = 0) -> tuple[documents.LinkClaims, Any] | Response:
    if foreign_request(request):
        return PlainTextResponse("Cross-origin request refused.", status_code=403)
    version_id = int(request.path_params["version_id"])
    try:
        claims = documents.verify_link(version_id, dict(request.query_params), page=page)
    except PermissionDenied as exc:
        return PlainTextResponse(exc.message, status_code=403)
    token = token_from_cookie_header(request.headers.get("cookie"))
    return claims, token


def _user_for(db: Any, token: str | None, claims: documents.LinkClaims) -> Any:
    user = auth.resolve_session(db, token)
    if user is None or user.id != claims.user_id:
        # The link is bound to the person it was made for, signed in in this browser.
        raise PermissionDenied("This link belongs to another session. Open the document again.")
    return user


async def download(request: Request) -> Response:
    got = _claims(request)
    if isinstance(got, Response):
        return got
    claims, token = got
    storage = get_storage()
    try:
        with session_scope() as db:
            user = _user_for(db, token, claims)
            _, version = documents.get_version(db, user, claims.version_id)
            filename, ctype, key = version.filename, version.content_type, version.storage_key
        url = storage.presigned_url(
            key, filename=filename, content_type=ctype, inline=claims.inline, seconds=60
        )
        if url:
            return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
        data = storage.get(key)
    except ChronosError as exc:
        return PlainTextResponse(exc.message, status_code=exc.status_code)
    except StorageError as exc:
        log.error("could not read %s: %s", claims.version_id, exc)
        return PlainTextResponse("The file cannot be read right now.", status_code=503)
    headers = dict(SAFE_HEADERS)
    if claims.inline and ctype == "application/pdf":
        # Browsers refuse to run their PDF viewer in a sandboxed document; a PDF shown by
        # that viewer cannot script our origin anyway.
        headers.pop("Content-Security-Policy")
    headers["Content-Disposition"] = content_disposition(filename, inline=claims.inline)
    return Response(data, media_type=ctype, headers=headers)


async def page_image(request: Request) -> Response:
    page = int(request.path_params["page"])
    got = _claims(request, page=page)
    if isinstance(got, Response):
        return got
    claims, token = got
    try:
        with session_scope() as db:
            user = _user_for(db, token, claims)
            png = documents.page_preview(db, user, claims.version_id, page, claims.width)
    except ChronosError as exc:
        return PlainTextResponse(exc.message, status_code=exc.status_code)
    except StorageError as exc:
        log.error("could not render %s p%s: %s", claims.version_id, page, exc)
        return PlainTextResponse("The preview cannot be made right now.", status_code=503)
    return Response(png, media_type="image/png", headers=dict(SAFE_HEADERS))


ROUTES = [
    Route(UPLOAD_PATH, upload, methods=["POST"]),
    Route("/files/{version_id:int}", download, methods=["GET"]),
    Route("/files/{version_id:int}/page/{page:int}", page_image, methods=["GET"]),
]
