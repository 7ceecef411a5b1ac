"""Calendar files: the subscription feed and the per-file / per-date .ics downloads.

- ``GET /feeds/calendar.ics?token=...``: the user's private feed for calendar apps. The token
  is the only credential (calendar apps send no cookie; this route never reads one). Unknown,
  reset, turned-off tokens and deactivated users all get the same 404. A foreign Origin is
  refused as on every route (``security.foreign_request``); calendar apps send none. ETag and
  Last-Modified answer a poll that changes nothing with a 304; each token has a rate limit.
  The token rides in the query string, which logs, metrics and error reports never record.
- ``GET /feeds/transactions/{id}.ics`` and ``/feeds/transactions/{id}/{key}.ics``: one file's
  dates, or one date ("add to calendar"), for the signed-in user (session cookie), with the
  same access rules as the pages: a file they may not see, or a date hidden from them, is 404.
"""

from __future__ import annotations

import logging
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from chronos.api.security import foreign_request, token_from_cookie_header
from chronos.db import session_scope
from chronos.observability import metrics
from chronos.services import auth, calendar_feeds, rate_limit, security_log
from chronos.services.errors import ChronosError
from chronos.services.validation import in_id_range

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/calendar; charset=utf-8"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
NOT_FOUND = "Not found."


def _not_found() -> Response:
    return PlainTextResponse(NOT_FOUND, status_code=404, headers={"Cache-Control": "no-store"})


def _http_date(value: str | None):  # type: ignore[no-untyped-def]
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


async def feed(request: Request) -> Response:
    if foreign_request(request):
        return PlainTextResponse("Cross-origin request refused.", status_code=403)
    token = request.query_params.get("token", "")
    with session_scope() as db:
        found = calendar_feeds.resolve(db, token)
        if found is None:
            return _not_found()
        feed_row, user = found
        try:
            rate_limit.hit(rate_limit.CALENDAR_FEED, calendar_feeds.limit_key(token))
        except rate_limit.RateLimited as exc:
            metrics.count_security_event(security_log.Kind.RATE_LIMITED)
            return PlainTextResponse(
                str(exc),
                status_code=429,
                headers={"Retry-After": str(exc.retry_after_seconds), "Cache-Control": "no-store"},
            )
        got = calendar_feeds.answer(
            db,
            feed_row,
            user,
            if_none_match=request.headers.get("if-none-match"),
            if_modified_since=_http_date(request.headers.get("if-modified-since")),
        )
    headers = {
        **HEADERS,
        "ETag": got.etag,
        "Last-Modified": format_datetime(got.last_modified, usegmt=True),
        # The URL is a secret: no shared cache keeps it; every poll revalidates (a 304 is cheap).
        "Cache-Control": "private, no-cache",
    }
    if got.body is None:
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = 'inline; filename="chronos.ics"'
    return Response(got.body, media_type=CONTENT_TYPE, headers=headers)


async def _download(request: Request, key: str | None) -> Response:
    if foreign_request(request):
        return PlainTextResponse("Cross-origin request refused.", status_code=403)
    txn_id = int(request.path_params["transaction_id"])
    if not in_id_range(txn_id) or (key is not None and not 0 < len(key) <= 60):
        return _not_found()
    token = token_from_cookie_header(request.headers.get("cookie"))
    try:
        with session_scope() as db:
            user = auth.resolve_session(db, token)
            if user is None:
                return PlainTextResponse("Sign in first.", status_code=401)
            body, filename = calendar_feeds.file_calendar(db, user, txn_id, key)
    except ChronosError as exc:
        return PlainTextResponse(exc.message, status_code=exc.status_code)
    return Response(
        body,
        media_type=CONTENT_TYPE,
        headers={
            **HEADERS,
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


async def file_ics(request: Request) -> Response:
    return await _download(request, None)


async def date_ics(request: Request) -> Response:
    return await _download(request, str(request.path_params["key"]))


ROUTES = [
    Route(calendar_feeds.FEED_PATH, feed, methods=["GET"]),
    Route("/feeds/transactions/{transaction_id:int}.ics", file_ics, methods=["GET"]),
    Route("/feeds/transactions/{transaction_id:int}/{key}.ics", date_ics, methods=["GET"]),
]
