"""Accepting an invitation: a plain form POST that creates (or links) the login and signs in.

Like sign-in, it sets the HttpOnly session cookie, so it is a native form POST with the
Origin/Referer check, answered by a 303: to the new member's landing page, or back to the
accept page with ``?token=...&error=<code>`` (the page turns the code into a message).
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from chronos import routes
from chronos.api.security import (
    client_ip,
    page_url,
    request_origin,
    same_origin_ok,
    set_session_cookie,
    token_from_cookie_header,
)
from chronos.db import session_scope
from chronos.services import auth, invitations, rate_limit
from chronos.services.errors import AuthenticationFailed, ChronosError, ValidationFailed
from chronos.services.security_log import Client

log = logging.getLogger(__name__)

# Error codes the accept page understands (anything else shows a generic message).
ERROR_CODES = frozenset(
    {
        "invalid",
        "expired",
        "revoked",
        "accepted",
        "password",
        "role",
        "weak",
        "mismatch",
        "name",
        "limited",
        "conflict",
        "failed",
    }
)


def _back(request: Request, token: str, code: str) -> RedirectResponse:
    query = urlencode({"token": token, "error": code})
    return RedirectResponse(
        page_url(request, f"{routes.ACCEPT_INVITATION}?{query}"), status_code=303
    )


def _validation_code(exc: ValidationFailed) -> str:
    if "confirm" in exc.errors:
        return "mismatch"
    if "password" in exc.errors:
        return "weak"
    if "full_name" in exc.errors:
        return "name"
    return "failed"


async def accept_invitation(request: Request) -> Response:
    if not same_origin_ok(request):
        log.warning("invitation refused: cross-origin POST from %r", request_origin(request))
        return Response("Cross-origin request refused.", status_code=403)
    form = await request.form()
    token = str(form.get("token") or "")[:200]
    full_name = str(form.get("full_name") or "")[:200]
    password = str(form.get("password") or "")[:1024]
    confirm = str(form.get("confirm") or "")[:1024]
    ip = client_ip(request)
    client = Client(ip, request.headers.get("user-agent", ""))
    try:
        rate_limit.hit(rate_limit.INVITATION_ADDRESS, ip or "-")
    except rate_limit.RateLimited:
        log.info("invitation accept rate-limited for %s", ip)
        return _back(request, token, "limited")
    cookie_token = token_from_cookie_header(request.headers.get("cookie"))
    signed_in = None
    try:
        with session_scope() as db:
            signed_in = auth.resolve_session(db, cookie_token)
            result = invitations.accept(
                db,
                token,
                full_name=full_name,
                password=password,
                confirm=confirm,
                signed_in_as=signed_in,
                client=client,
            )
            landing, user_id = result.landing, result.user.id
            needs_sign_in = result.needs_sign_in
            session = None
            if not needs_sign_in and (signed_in is None or signed_in.id != user_id):
                # The password was just set or just checked by accept().
                session = auth.open_session(
                    db, result.user, ip_address=ip, user_agent=client.user_agent
                )
    except invitations.InvitationRefused as exc:
        return _back(request, token, exc.code)
    except ValidationFailed as exc:
        return _back(request, token, _validation_code(exc))
    except AuthenticationFailed:
        return _back(request, token, "password")
    except ChronosError:
        log.exception("invitation accept failed")
        return _back(request, token, "conflict")
    log.info("user %s accepted an invitation from %s", user_id, ip)
    if needs_sign_in:
        # Two-factor accounts: the invitation is linked, but the session opens only through
        # the normal sign-in with its second step.
        query = urlencode({"token": token, "done": "sign_in"})
        return RedirectResponse(
            page_url(request, f"{routes.ACCEPT_INVITATION}?{query}"), status_code=303
        )
    response = RedirectResponse(page_url(request, landing), status_code=303)
    if session is not None:
        set_session_cookie(response, request, session.token, session.max_age_seconds)
    return response


ROUTES = [Route(routes.ACCEPT_INVITATION_API, accept_invitation, methods=["POST"])]
