"""Sign-in and sign-out: plain form POSTs that set or clear the HttpOnly session cookie.

Reflex's ``rx.Cookie`` is written by page JavaScript and can never be HttpOnly, so the session
cookie is only ever set here. Both routes answer with a 303 to a page of the app.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from chronos import routes
from chronos.api.security import (
    clear_session_cookie,
    client_ip,
    request_origin,
    same_origin_ok,
    set_session_cookie,
    token_from_cookie_header,
    trusted_origin,
)
from chronos.db import session_scope
from chronos.services import auth
from chronos.services.errors import AuthenticationFailed

log = logging.getLogger(__name__)


def _page_url(request: Request, path: str) -> str:
    """Absolute URL of an app page on the origin the form came from (checked beforehand)."""
    origin = trusted_origin(request)
    if origin is None:
        from reflex.config import get_config

        origin = (get_config().deploy_url or "").rstrip("/")
    return f"{origin}{path}"


def _redirect(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(_page_url(request, path), status_code=303)


async def sign_in(request: Request) -> Response:
    if not same_origin_ok(request):
        log.warning("sign-in refused: cross-origin POST from %r", request_origin(request))
        return Response("Cross-origin sign-in refused.", status_code=403)
    form = await request.form()
    email = str(form.get("email") or "")[:254]
    password = str(form.get("password") or "")[:1024]
    next_path = routes.safe_next(str(form.get("next") or ""))
    try:
        with session_scope() as db:
            result = auth.sign_in(
                db,
                email=email,
                password=password,
                ip_address=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
            home = routes.home_for(result.user.role)
            user_id = result.user.id
    except AuthenticationFailed:
        log.info("sign-in failed for %r from %s", email, client_ip(request))
        query = urlencode(
            {"error": "invalid", "email": email, **({"next": next_path} if next_path else {})}
        )
        return _redirect(request, f"{routes.SIGN_IN}?{query}")
    log.info("user %s signed in from %s", user_id, client_ip(request))
    response = _redirect(request, next_path or home)
    set_session_cookie(response, request, result.token, result.max_age_seconds)
    return response


async def sign_out(request: Request) -> Response:
    if not same_origin_ok(request):
        return Response("Cross-origin sign-out refused.", status_code=403)
    with session_scope() as db:
        auth.sign_out(db, token_from_cookie_header(request.headers.get("cookie")))
    response = _redirect(request, f"{routes.SIGN_IN}?signed_out=1")
    clear_session_cookie(response, request)
    return response


ROUTES = [
    Route(routes.SIGN_IN_API, sign_in, methods=["POST"]),
    Route(routes.SIGN_OUT_API, sign_out, methods=["POST"]),
]
