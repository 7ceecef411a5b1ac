"""``POST /files/agreement``: the signed purchase agreement (+ up to 4 addenda) for "Start from
the purchase agreement" on /transactions/new.

A native multipart form POST (fields ``file`` for the agreement, ``addenda`` for the addenda),
cookie-authenticated with the Origin/Referer check, capped per file while it streams. Staff
only (refused before the body is read). Nothing is put on a transaction here:
``agreement_intake.stage`` reads the files through the upload checks and keeps them under a
staging key; the browser goes back (303) to /transactions/new with ``?agreement=<signed token>``
(bound to this user, two hours), or with ``?upload=<signed notice>`` saying why not.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from chronos import routes
from chronos.api.file_routes import (
    BodyTooLarge,
    CappedMultiPartParser,
    FileTooLarge,
    _capped,
)
from chronos.api.security import page_url, same_origin_ok, token_from_cookie_header
from chronos.db import session_scope
from chronos.models import Role
from chronos.services import agreement_intake, auth, documents
from chronos.services.agreement_reader import MAX_ADDENDA
from chronos.services.errors import ChronosError, PermissionDenied
from chronos.services.files import human_size
from chronos.storage import StorageError

log = logging.getLogger(__name__)

UPLOAD_PATH = "/files/agreement"
STAFF_ONLY = "Only brokerage staff start a transaction from an agreement."
UNREADABLE = (
    "The upload could not be read: send the agreement as a PDF file, with at most 4 addenda."
)


def _back(request: Request, **query: str) -> RedirectResponse:
    return RedirectResponse(
        page_url(request, f"{routes.NEW_TRANSACTION}?{urlencode(query)}"), status_code=303
    )


def _refused(request: Request, message: str) -> RedirectResponse:
    return _back(request, upload=documents.encode_notice({"errors": [message]}))


async def upload_agreement(request: Request) -> Response:
    from chronos.settings import get_settings

    if not same_origin_ok(request):
        return PlainTextResponse("Cross-origin request refused.", status_code=403)
    per_file = get_settings().max_upload_bytes
    limit = per_file * (1 + MAX_ADDENDA) + 256 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return PlainTextResponse(
            f"Upload refused: {human_size(int(declared))} is more than the "
            f"{human_size(limit)} an agreement and its addenda may be.",
            status_code=413,
        )
    token = token_from_cookie_header(request.headers.get("cookie"))
    with session_scope() as db:
        actor = auth.resolve_session(db, token)
        if actor is None:
            query = urlencode({"next": routes.NEW_TRANSACTION})
            return RedirectResponse(page_url(request, f"{routes.SIGN_IN}?{query}"), status_code=303)
        actor_id = actor.id
        staff = actor.role_enum in (Role.ADMIN, Role.AGENT, Role.COORDINATOR)
    if not staff:
        return _refused(request, STAFF_ONLY)  # before the body is read
    capped = Request(request.scope, _capped(request.receive, limit))
    parser = CappedMultiPartParser(
        capped.headers,
        capped.stream(),
        max_files=1 + MAX_ADDENDA + 1,  # one more than allowed, so "too many" is said in words
        max_fields=10,
        max_part_size=64 * 1024,
        max_file_size=per_file,
    )
    try:
        form = await parser.parse()
    except FileTooLarge as exc:
        return _refused(
            request, f"{exc.filename} is larger than {human_size(per_file)}, the largest file."
        )
    except BodyTooLarge:
        return _refused(request, f"The upload is larger than {human_size(limit)}.")
    except Exception as exc:  # malformed multipart, too many files or fields
        log.info("agreement upload refused: %s", exc)
        return _refused(request, UNREADABLE)
    try:
        agreement = form.get("file")
        if not isinstance(agreement, UploadFile) or not (
            agreement.filename or (agreement.size or 0)
        ):
            return _refused(request, "Choose the signed purchase agreement (a PDF).")
        addenda = [
            f
            for f in form.getlist("addenda")
            if isinstance(f, UploadFile) and (f.filename or (f.size or 0))
        ]
        if len(addenda) > MAX_ADDENDA:
            return _refused(request, f"Attach at most {MAX_ADDENDA} addenda.")
        main = (agreement.filename or "agreement.pdf", await agreement.read(per_file + 1))
        extra = [(f.filename or "addendum.pdf", await f.read(per_file + 1)) for f in addenda]
        try:
            with session_scope() as db:
                user = auth.resolve_session(db, token)
                if user is None or user.id != actor_id:
                    raise PermissionDenied("Your session ended. Sign in again.")
                staged = agreement_intake.stage(db, user, main, extra, max_bytes=per_file)
        except ChronosError as exc:
            return _refused(request, exc.message)
        except StorageError as exc:
            log.error("storage failed staging an agreement: %s", exc)
            return _refused(request, "The agreement could not be kept right now. Try again.")
    finally:
        await form.close()
    return _back(request, agreement=staged.token)


ROUTES = [Route(UPLOAD_PATH, upload_agreement, methods=["POST"])]
