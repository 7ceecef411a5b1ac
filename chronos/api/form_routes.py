"""Form template files: the admin's upload of a fillable PDF and the preview of its first page.

- ``POST /files/form-template``: a native multipart form POST from ``/admin/forms``
  (fields ``name``, ``category``, ``file``), cookie-authenticated with the Origin/Referer
  check and a body capped while it streams. Admins only. The browser goes back (303) to
  ``/admin/forms`` with a signed ``upload`` token describing the outcome.
- ``GET /files/form-template/{id}/preview``: a PNG of page 1 through a short-lived signed
  link bound to the admin it was made for (``services.forms.preview_link``); the session
  cookie must be that admin's, and access is checked again on every request.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from chronos import routes
from chronos.api.file_routes import SAFE_HEADERS, BodyTooLarge, _capped
from chronos.api.security import page_url, same_origin_ok, token_from_cookie_header
from chronos.db import session_scope
from chronos.services import auth, documents, forms
from chronos.services.errors import ChronosError, PermissionDenied
from chronos.services.files import human_size
from chronos.storage import StorageError

log = logging.getLogger(__name__)

UPLOAD_PATH = "/files/form-template"


def _back(request: Request, payload: dict[str, Any]) -> RedirectResponse:
    query = urlencode({"upload": documents.encode_notice(payload)})
    return RedirectResponse(page_url(request, f"{routes.ADMIN_FORMS}?{query}"), status_code=303)


async def upload_template(request: Request) -> Response:
    from chronos.settings import get_settings

    if not same_origin_ok(request):
        return PlainTextResponse("Cross-origin request refused.", status_code=403)
    per_file = get_settings().max_upload_bytes
    limit = per_file + 256 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return PlainTextResponse(
            f"Upload refused: {human_size(int(declared))} is more than the "
            f"{human_size(limit)} a form template may be.",
            status_code=413,
        )
    token = token_from_cookie_header(request.headers.get("cookie"))
    with session_scope() as db:
        actor = auth.resolve_session(db, token)
        if actor is None:
            query = urlencode({"next": routes.ADMIN_FORMS})
            return RedirectResponse(page_url(request, f"{routes.SIGN_IN}?{query}"), status_code=303)
        actor_id, is_admin = actor.id, actor.role == "admin"
    if not is_admin:
        # Refused before the body is read.
        return _back(request, {"errors": [forms.ADMINS_ONLY]})
    capped = Request(request.scope, _capped(request.receive, limit))
    try:
        form = await capped.form(max_files=1, max_fields=10, max_part_size=64 * 1024)
    except BodyTooLarge:
        return _back(request, {"errors": [f"The upload is larger than {human_size(limit)}."]})
    except Exception as exc:  # malformed multipart, too many files or fields
        log.info("form template upload refused: %s", exc)
        return _back(request, {"errors": ["The upload could not be read. Try again."]})
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not (upload.filename or (upload.size or 0)):
            return _back(request, {"errors": ["Choose the fillable PDF to upload."]})
        data = await upload.read(per_file + 1)
        filename = upload.filename or "form.pdf"
        try:
            with session_scope() as db:
                user = auth.resolve_session(db, token)
                if user is None or user.id != actor_id:
                    raise PermissionDenied("Your session ended. Sign in again.")
                tpl = forms.create_form_template(
                    db,
                    user,
                    str(form.get("name") or "") or filename.rsplit(".", 1)[0],
                    str(form.get("category") or "contract"),
                    filename,
                    data,
                    max_bytes=per_file,
                )
                saved = {"id": tpl.id, "title": tpl.name, "fields": len(tpl.fields)}
        except ChronosError as exc:
            return _back(request, {"errors": [exc.message]})
        except StorageError as exc:
            log.error("storage failed during form template upload: %s", exc)
            return _back(
                request, {"errors": [f"{filename} could not be stored right now. Try again."]}
            )
    finally:
        await form.close()
    return _back(request, {"saved": [saved], "errors": []})


async def preview(request: Request) -> Response:
    template_id = int(request.path_params["template_id"])
    try:
        user_id = forms.verify_preview_link(template_id, dict(request.query_params))
    except PermissionDenied as exc:
        return PlainTextResponse(exc.message, status_code=403)
    token = token_from_cookie_header(request.headers.get("cookie"))
    try:
        with session_scope() as db:
            user = auth.resolve_session(db, token)
            if user is None or user.id != user_id:
                raise PermissionDenied("This link belongs to another session. Reload the page.")
            png = forms.template_preview(db, user, template_id)
    except ChronosError as exc:
        return PlainTextResponse(exc.message, status_code=exc.status_code)
    except StorageError as exc:
        log.error("could not render form template %s: %s", template_id, exc)
        return PlainTextResponse("The preview cannot be made right now.", status_code=503)
    return Response(png, media_type="image/png", headers=dict(SAFE_HEADERS))


ROUTES = [
    Route(UPLOAD_PATH, upload_template, methods=["POST"]),
    Route("/files/form-template/{template_id:int}/preview", preview, methods=["GET"]),
]
