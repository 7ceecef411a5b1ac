"""The form POSTs that set or clear the HttpOnly session cookie.

Reflex's ``rx.Cookie`` is written by page JavaScript and can never be HttpOnly, so the session
cookie is only ever set here: sign-in (and its two-factor step), sign-up, password reset and
sign-out; forgot-password lives here too so every unauthenticated form is in one place. Each
route refuses a cross-site POST (Origin/Referer check on top of the SameSite=Lax cookie) and
answers with a 303 to a page of the app, carrying ``?error=<code>`` when something was wrong
(pages turn codes into messages; no free text travels in the URL).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from chronos import routes
from chronos.api.security import (
    clear_pending_cookie,
    clear_session_cookie,
    client_ip,
    page_url,
    pending_token_from_cookie_header,
    request_origin,
    same_origin_ok,
    set_pending_cookie,
    set_session_cookie,
    token_from_cookie_header,
)
from chronos.db import session_scope
from chronos.services import accounts, auth, rate_limit
from chronos.services.errors import Conflict, ValidationFailed
from chronos.services.security_log import Client

log = logging.getLogger(__name__)


def _redirect(request: Request, path: str, **query: Any) -> RedirectResponse:
    params = {k: v for k, v in query.items() if v not in (None, "")}
    url = f"{path}?{urlencode(params)}" if params else path
    return RedirectResponse(page_url(request, url), status_code=303)


def _cross_origin(request: Request, what: str) -> Response:
    log.warning("%s refused: cross-origin POST from %r", what, request_origin(request))
    return Response(f"Cross-origin {what} refused.", status_code=403)


def _client(request: Request) -> Client:
    return Client(client_ip(request), request.headers.get("user-agent", "")[:300])


def _field(form: Any, name: str, limit: int) -> str:
    return str(form.get(name) or "")[:limit]


def _limited(exc: rate_limit.RateLimited) -> dict[str, Any]:
    return {"error": "limited", "limit": exc.policy.name, "retry": exc.minutes}


def _signed_in_response(
    request: Request, signed: auth.SignedIn, path: str, **query: Any
) -> Response:
    response = _redirect(request, path, **query)
    set_session_cookie(response, request, signed.token, signed.max_age_seconds)
    return response


async def sign_in(request: Request) -> Response:
    if not same_origin_ok(request):
        return _cross_origin(request, "sign-in")
    form = await request.form()
    email = _field(form, "email", 254)
    password = _field(form, "password", 1024)
    next_path = routes.safe_next(_field(form, "next", 500)) or ""
    client = _client(request)
    with session_scope() as db:
        outcome = accounts.attempt_sign_in(
            db,
            email=email,
            password=password,
            client=client,
            previous_token=token_from_cookie_header(request.headers.get("cookie")),
        )
        home = routes.home_for(outcome.signed_in.user.role) if outcome.signed_in else ""
    if outcome.limited is not None:
        log.info("sign-in refused for %r from %s: %s", email, client.ip_address, outcome.error)
        return _redirect(
            request, routes.SIGN_IN, email=email, next=next_path, **_limited(outcome.limited)
        )
    if outcome.error:
        log.info("sign-in failed for %r from %s", email, client.ip_address)
        return _redirect(request, routes.SIGN_IN, error=outcome.error, email=email, next=next_path)
    if outcome.two_factor_token:
        response = _redirect(request, routes.TWO_FACTOR, next=next_path)
        set_pending_cookie(
            response,
            request,
            outcome.two_factor_token,
            int(accounts.TTL[accounts.TWO_FACTOR].total_seconds()),
        )
        return response
    assert outcome.signed_in is not None
    log.info("user %s signed in from %s", outcome.signed_in.user.id, client.ip_address)
    return _signed_in_response(request, outcome.signed_in, next_path or home)


async def two_factor(request: Request) -> Response:
    if not same_origin_ok(request):
        return _cross_origin(request, "sign-in")
    form = await request.form()
    code = _field(form, "code", 20)
    next_path = routes.safe_next(_field(form, "next", 500)) or ""
    pending = pending_token_from_cookie_header(request.headers.get("cookie"))
    with session_scope() as db:
        outcome = accounts.complete_two_factor(
            db,
            pending,
            code,
            client=_client(request),
            previous_token=token_from_cookie_header(request.headers.get("cookie")),
        )
        home = routes.home_for(outcome.signed_in.user.role) if outcome.signed_in else ""
    if outcome.error == "code":
        return _redirect(request, routes.TWO_FACTOR, error="code", next=next_path)
    if outcome.error:
        query = _limited(outcome.limited) if outcome.limited else {"error": "two_factor_expired"}
        response = _redirect(request, routes.SIGN_IN, next=next_path, **query)
        clear_pending_cookie(response, request)
        return response
    assert outcome.signed_in is not None
    done = _signed_in_response(request, outcome.signed_in, next_path or home)
    clear_pending_cookie(done, request)
    return done


async def sign_up(request: Request) -> Response:
    if not same_origin_ok(request):
        return _cross_origin(request, "sign-up")
    form = await request.form()
    org_name = _field(form, "org_name", 300)
    full_name = _field(form, "full_name", 300)
    email = _field(form, "email", 254)
    keep = {"org_name": org_name[:200], "full_name": full_name[:200], "email": email}
    client = _client(request)
    old = token_from_cookie_header(request.headers.get("cookie"))
    try:
        with session_scope() as db:
            if old:  # session rotation: whoever was signed in here is signed out
                auth.sign_out(db, old)
            user = accounts.sign_up(
                db,
                org_name=org_name,
                full_name=full_name,
                email=email,
                password=_field(form, "password", 2048),
                password2=_field(form, "password2", 2048),
                client=client,
            )
            signed = auth.open_session(
                db, user, ip_address=client.ip_address, user_agent=client.user_agent
            )
    except ValidationFailed as exc:
        return _redirect(request, routes.SIGN_UP, error=accounts.error_code(exc), **keep)
    except Conflict:
        return _redirect(request, routes.SIGN_UP, error="email_taken", **keep)
    except rate_limit.RateLimited as exc:
        return _redirect(request, routes.SIGN_UP, **_limited(exc), **keep)
    log.info("brokerage signed up: user %s from %s", signed.user.id, client.ip_address)
    return _signed_in_response(request, signed, routes.PIPELINE, welcome=1)


async def forgot_password(request: Request) -> Response:
    if not same_origin_ok(request):
        return _cross_origin(request, "password reset")
    form = await request.form()
    email = _field(form, "email", 254)
    try:
        with session_scope() as db:
            accounts.request_password_reset(db, email, client=_client(request))
    except rate_limit.RateLimited as exc:
        return _redirect(request, routes.FORGOT_PASSWORD, email=email, **_limited(exc))
    # The same answer whether or not the address has an account.
    return _redirect(request, routes.FORGOT_PASSWORD, sent=1)


async def reset_password(request: Request) -> Response:
    if not same_origin_ok(request):
        return _cross_origin(request, "password reset")
    form = await request.form()
    token = _field(form, "token", 200)
    client = _client(request)
    try:
        with session_scope() as db:
            done = accounts.complete_password_reset(
                db,
                token,
                _field(form, "password", 2048),
                _field(form, "password2", 2048),
                client=client,
            )
            home = routes.home_for(done.user.role)
    except accounts.TokenRefused as exc:
        return _redirect(request, routes.RESET_PASSWORD, error=f"token_{exc.status}")
    except ValidationFailed as exc:
        return _redirect(
            request, routes.RESET_PASSWORD, token=token, error=accounts.error_code(exc)
        )
    if done.signed_in is None:  # two-factor sign-in is on: sign in with the new password
        response = _redirect(request, routes.SIGN_IN, reset=1, email=done.user.email)
        clear_session_cookie(response, request)
        return response
    return _signed_in_response(request, done.signed_in, home, reset=1)


async def sign_out(request: Request) -> Response:
    if not same_origin_ok(request):
        return _cross_origin(request, "sign-out")
    with session_scope() as db:
        accounts.record_sign_out(
            db, token_from_cookie_header(request.headers.get("cookie")), client=_client(request)
        )
    response = _redirect(request, routes.SIGN_IN, signed_out=1)
    clear_session_cookie(response, request)
    return response


ROUTES = [
    Route(routes.SIGN_IN_API, sign_in, methods=["POST"]),
    Route(routes.TWO_FACTOR_API, two_factor, methods=["POST"]),
    Route(routes.SIGN_UP_API, sign_up, methods=["POST"]),
    Route(routes.FORGOT_PASSWORD_API, forgot_password, methods=["POST"]),
    Route(routes.RESET_PASSWORD_API, reset_password, methods=["POST"]),
    Route(routes.SIGN_OUT_API, sign_out, methods=["POST"]),
]
