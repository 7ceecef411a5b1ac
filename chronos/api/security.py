"""Cookie and request-origin helpers shared by the auth routes and the REST API."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from chronos.settings import get_settings


def origin_of(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


def app_origins() -> set[str]:
    """Origins allowed to POST with the session cookie: the app itself plus configured extras."""
    from reflex.config import get_config  # the API layer may read Reflex's URLs

    config = get_config()
    origins = {origin_of(config.api_url), origin_of(config.deploy_url)}
    origins.update(origin_of(o) for o in get_settings().allowed_origins)
    origins.discard("")
    return origins


def request_origin(request: Request) -> str:
    return origin_of(request.headers.get("origin")) or origin_of(request.headers.get("referer"))


def trusted_origin(request: Request) -> str | None:
    """The request's Origin (or Referer origin) when it is this app's own, else None."""
    origin = request_origin(request)
    if origin and (origin == origin_of(str(request.base_url)) or origin in app_origins()):
        return origin
    return None


def same_origin_ok(request: Request) -> bool:
    """CSRF defence for cookie-authenticated unsafe requests (with SameSite=Lax cookies)."""
    return trusted_origin(request) is not None


def _cookie_value(header: str | None, name: str) -> str | None:
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed header from a client means: no session
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def token_from_cookie_header(header: str | None) -> str | None:
    return _cookie_value(header, get_settings().cookie_name)


def pending_cookie_name() -> str:
    """The short-lived cookie between a correct password and the two-factor code."""
    return f"{get_settings().cookie_name}_2fa"


# Only the two-factor POST needs the pending cookie.
PENDING_COOKIE_PATH = "/auth/"


def pending_token_from_cookie_header(header: str | None) -> str | None:
    return _cookie_value(header, pending_cookie_name())


def set_pending_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        pending_cookie_name(),
        token,
        max_age=max_age,
        path=PENDING_COOKIE_PATH,
        httponly=True,
        secure=cookie_is_secure(request),
        samesite="strict",
    )


def clear_pending_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        pending_cookie_name(),
        path=PENDING_COOKIE_PATH,
        httponly=True,
        secure=cookie_is_secure(request),
        samesite="strict",
    )


def cookie_is_secure(request: Request) -> bool:
    mode = get_settings().cookie_secure
    if mode in {"true", "1", "yes"}:
        return True
    if mode in {"false", "0", "no"}:
        return False
    # auto: Secure whenever the browser reached us over HTTPS (directly or through a proxy
    # that sets X-Forwarded-Proto). Plain-HTTP development keeps working in every browser.
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto.split(",")[0].strip() == "https"


def set_session_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        get_settings().cookie_name,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=cookie_is_secure(request),
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        get_settings().cookie_name,
        path="/",
        httponly=True,
        secure=cookie_is_secure(request),
        samesite="lax",
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def page_url(request: Request, path: str) -> str:
    """Absolute URL of an app page on the origin the form came from (checked beforehand), for
    the 303s of the form routes."""
    origin = trusted_origin(request)
    if origin is None:
        from reflex.config import get_config

        origin = (get_config().deploy_url or "").rstrip("/")
    return f"{origin}{path}"
