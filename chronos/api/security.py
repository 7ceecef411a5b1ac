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


_LOOPBACK_NAMES = {"localhost": "localhost", "127.0.0.1": "127.0.0.1", "::1": "[::1]"}


def own_origins(api_url: str | None, deploy_url: str | None, extra: tuple[str, ...]) -> set[str]:
    """The app's own origins: its backend and frontend URLs plus ``CHRONOS_ALLOWED_ORIGINS``.

    One list for everything that trusts an Origin: the cookie routes' CSRF check, the CORS
    headers and the websocket (rxconfig.py hands it to Reflex as ``cors_allowed_origins``).
    A loopback origin also stands for its other loopback names on the same port
    (``localhost:3000`` and ``127.0.0.1:3000`` are one server); another port never is one.
    """
    origins = {origin_of(url) for url in (api_url, deploy_url, *extra)}
    origins.discard("")
    for origin in list(origins):
        parts = urlsplit(origin)
        if parts.hostname in _LOOPBACK_NAMES:
            suffix = f":{parts.port}" if parts.port else ""
            origins.update(f"{parts.scheme}://{n}{suffix}" for n in _LOOPBACK_NAMES.values())
    return origins


def app_origins() -> set[str]:
    """Origins allowed to use the session cookie: the app itself plus configured extras."""
    from reflex.config import get_config  # the API layer may read Reflex's URLs

    config = get_config()
    return own_origins(config.api_url, config.deploy_url, get_settings().allowed_origins)


def foreign_origin(origin_header: str | None, host_header: str | None) -> bool:
    """True when a request names an Origin that is not this app's: a page of another site (or
    of another port of this host) is acting with the user's cookie. No Origin at all is a
    navigation or a non-browser client, which holds its own cookie or none."""
    if not origin_header:
        return False
    origin = origin_of(origin_header)
    if not origin:
        return True  # "null" (sandboxed frames, file://) or garbage: never trusted
    if host_header and urlsplit(origin).netloc == host_header.strip().lower():
        return False  # the page came from the very host:port it talks to
    return origin not in app_origins()


def foreign_request(request: Request) -> bool:
    """A request sent by a page of another origin (any method: reads too, since the browser
    attaches the Lax cookie to same-site requests from a sibling port or subdomain)."""
    return foreign_origin(request.headers.get("origin"), request.headers.get("host"))


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
