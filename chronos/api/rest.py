"""REST API v1 over the same services as the UI (so the two cannot disagree on access).

Authentication: the session cookie (unsafe methods also need a same-origin Origin/Referer), or
a personal API token (``Authorization: Bearer chr_…``, ``services/api_tokens.py``): no cookie,
no origin check, read-only tokens refused on writes, a rate limit per token (429 + Retry-After).
Errors: ``{"error": message, "fields": {...}}`` with the domain error's status code.
Writes take an optional ``Idempotency-Key`` header (same key + same body within a day: the
first response again, marked ``Idempotent-Replayed: true``; same key + another body: 422).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chronos.api.security import foreign_request, same_origin_ok, token_from_cookie_header
from chronos.db import session_scope
from chronos.models import User
from chronos.services import (
    api_tokens,
    auth,
    documents,
    idempotency,
    people,
    rate_limit,
    timeline,
    transactions,
    webhooks,
)
from chronos.services.errors import ChronosError, ValidationFailed
from chronos.services.validation import MAX_ID, in_id_range

log = logging.getLogger(__name__)
Handler = Callable[[Request, Session, User], Any]
MAX_BODY = 64 * 1024
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _error(status: int, message: str, fields: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = fields
    return JSONResponse(body, status_code=status)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, check origin for unsafe methods, run one service call, map errors."""

    async def run(request: Request) -> Response:
        header = request.headers.get("authorization")
        secret = api_tokens.bearer_secret(header)
        if header is not None and secret is None:
            return _error(401, "Send the API token as: Authorization: Bearer <token>.")
        # A token request carries its credential in a header no other site can set: it is
        # exempt from the cookie's cross-origin checks and never looks at cookies.
        if secret is None and (
            foreign_request(request)
            or (request.method not in ("GET", "HEAD") and not same_origin_ok(request))
        ):
            return _error(403, "Cross-origin request refused.")
        if any(isinstance(v, int) and not in_id_range(v) for v in request.path_params.values()):
            return _error(404, "There is no such item.")
        try:
            with session_scope() as db:
                if secret is not None:
                    try:
                        rate_limit.hit(rate_limit.API_TOKEN, auth.hash_token(secret))
                    except rate_limit.RateLimited as exc:
                        answer = _error(429, str(exc))
                        answer.headers["Retry-After"] = str(exc.retry_after_seconds)
                        return answer
                    bearer = api_tokens.resolve(db, secret)
                    if bearer is None:
                        return _error(
                            401, "This API token is not valid: unknown, revoked or expired."
                        )
                    if request.method not in ("GET", "HEAD") and not bearer.can_write:
                        return _error(403, "This API token is read only.")
                    actor: User | None = bearer.user
                else:
                    actor = auth.resolve_session(
                        db, token_from_cookie_header(request.headers.get("cookie"))
                    )
                if actor is None:
                    return _error(401, "Sign in first.")
                got = await _claim(request, db, actor)
                if got.repeat:
                    return _replay(got.stored)
                try:
                    result = handler(request, db, actor)
                    if isinstance(result, Awaitable):
                        result = await result
                except BaseException:
                    idempotency.release(db, got)
                    raise
                payload = _jsonable(result)
                status = 204 if payload is None else 201 if request.method == "POST" else 200
                idempotency.remember(db, got, {"status": status, "body": payload})
        except ChronosError as exc:
            fields = exc.errors if isinstance(exc, ValidationFailed) else None
            return _error(exc.status_code, exc.message, fields)
        if payload is None:
            return Response(status_code=204)
        return JSONResponse(payload, status_code=status)

    return run


async def _claim(request: Request, db: Session, actor: User) -> idempotency.Claim:
    """Writes with an ``Idempotency-Key`` header: the same key and body within a day get the
    first response again; the same key with another body is refused (422)."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if request.method in ("GET", "HEAD") or key is None:
        return idempotency.Claim(None)
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ValidationFailed({"body": "Request body is too large."})
    scope = f"api {request.method} {request.url.path}"
    try:
        return idempotency.claim(db, actor, scope, key, raw)
    except ValidationFailed as exc:
        raise ValidationFailed({IDEMPOTENCY_HEADER: exc.message}) from None


def _replay(stored: dict[str, Any]) -> Response:
    headers = {"Idempotent-Replayed": "true"}
    if stored.get("status") == 204:
        return Response(status_code=204, headers=headers)
    return JSONResponse(stored.get("body"), status_code=int(stored["status"]), headers=headers)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ValidationFailed({"body": "Request body is too large."})
    try:
        data = json.loads(raw or b"{}")
    except json.JSONDecodeError as exc:
        raise ValidationFailed({"body": f"Body is not valid JSON: {exc.msg}."}) from None
    if not isinstance(data, dict):
        raise ValidationFailed({"body": "Body must be a JSON object."})
    return data


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed({name: f"{name} must be a whole number."}) from None
    if not -MAX_ID <= value <= MAX_ID:
        raise ValidationFailed({name: f"{name} must be a whole number under {MAX_ID:,}."})
    return value


def _page(page: Any) -> dict[str, Any]:
    return {
        "items": [_jsonable(i) for i in page.items],
        "total": page.total,
        "page": page.page,
        "page_size": page.page_size,
        "pages": page.pages,
    }


def me(request: Request, db: Session, actor: User) -> dict[str, Any]:
    return {"id": actor.id, "email": actor.email, "name": actor.full_name, "role": actor.role}


def list_txns(request: Request, db: Session, actor: User) -> dict[str, Any]:
    q = request.query_params
    return _page(
        transactions.list_transactions(
            db,
            actor,
            stage=q.get("stage", ""),
            side=q.get("side", ""),
            q=q.get("q", ""),
            open_only=q.get("open") == "1",
            sort=q.get("sort", "closing"),
            descending=q.get("desc") == "1",
            page=_int(request, "page", 1),
            page_size=_int(request, "page_size", 25),
        )
    )


async def create_txn(request: Request, db: Session, actor: User) -> Any:
    txn = transactions.create_transaction(db, actor, await _body(request))
    return transactions.get_transaction(db, actor, txn.id or 0)


def get_txn(request: Request, db: Session, actor: User) -> Any:
    return transactions.get_transaction(db, actor, request.path_params["txn_id"])


async def patch_txn(request: Request, db: Session, actor: User) -> Any:
    txn_id = request.path_params["txn_id"]
    transactions.update_transaction(db, actor, txn_id, await _body(request))
    return transactions.get_transaction(db, actor, txn_id)


async def post_stage(request: Request, db: Session, actor: User) -> Any:
    txn_id = request.path_params["txn_id"]
    body = await _body(request)
    transactions.change_stage(
        db,
        actor,
        txn_id,
        str(body.get("stage", "")),
        reason=str(body.get("reason", "")),
        expected_stage=body.get("expected_stage"),
    )
    return transactions.get_transaction(db, actor, txn_id)


def list_txn_events(request: Request, db: Session, actor: User) -> Any:
    return _page(
        timeline.list_events(
            db,
            actor,
            request.path_params["txn_id"],
            page=_int(request, "page", 1),
            page_size=_int(request, "page_size", 20),
        )
    )


def list_webhook_events(request: Request, db: Session, actor: User) -> Any:
    """Webhook events of the last 30 days (files the caller may see), after a cursor."""
    return webhooks.events_since(
        db, actor, after=_int(request, "after", 0), limit=_int(request, "limit", 100)
    )


def list_people(request: Request, db: Session, actor: User) -> Any:
    return _page(
        people.list_people(
            db,
            actor,
            q=request.query_params.get("q", ""),
            page=_int(request, "page", 1),
            page_size=_int(request, "page_size", 25),
        )
    )


async def create_person(request: Request, db: Session, actor: User) -> Any:
    person = people.create_person(db, actor, await _body(request))
    return people.get_person(db, actor, person.id or 0)


def get_person(request: Request, db: Session, actor: User) -> Any:
    return people.get_person(db, actor, request.path_params["person_id"])


async def patch_person(request: Request, db: Session, actor: User) -> Any:
    person_id = request.path_params["person_id"]
    people.update_person(db, actor, person_id, await _body(request))
    return people.get_person(db, actor, person_id)


def delete_person(request: Request, db: Session, actor: User) -> None:
    people.delete_person(db, actor, request.path_params["person_id"])


def list_txn_documents(request: Request, db: Session, actor: User) -> Any:
    return _page(
        documents.list_documents(
            db,
            actor,
            request.path_params["txn_id"],
            q=request.query_params.get("q", ""),
            category=request.query_params.get("category", ""),
            page=_int(request, "page", 1),
            page_size=_int(request, "page_size", 50),
        )
    )


def get_document(request: Request, db: Session, actor: User) -> Any:
    """One document with its versions and a short-lived download link for this user."""
    doc_id = request.path_params["document_id"]
    row = documents.document_row(db, actor, doc_id)
    return {
        **dataclasses.asdict(row),
        "versions": [dataclasses.asdict(v) for v in documents.list_versions(db, actor, doc_id)],
        "download_url": documents.file_link(actor.id or 0, row.version_id),
    }


async def patch_document(request: Request, db: Session, actor: User) -> Any:
    body = await _body(request)
    share = body.get("share")
    if share is not None and not isinstance(share, dict):
        raise ValidationFailed({"share": 'share is an object like {"client": true}.'})
    documents.update_document(
        db,
        actor,
        request.path_params["document_id"],
        title=body.get("title"),
        category=body.get("category"),
        share=documents.Share(
            client=bool(share.get("client")),
            attorney=bool(share.get("attorney")),
            lender=bool(share.get("lender")),
        )
        if share is not None
        else None,
    )
    return documents.document_row(db, actor, request.path_params["document_id"])


def delete_document(request: Request, db: Session, actor: User) -> None:
    documents.delete_document(db, actor, request.path_params["document_id"])


def _methods(**by_method: Handler) -> Callable[[Request], Awaitable[Response]]:
    wrapped = {m.upper(): endpoint(h) for m, h in by_method.items()}
    if "GET" in wrapped:
        # Starlette answers HEAD on every GET route; it is the GET without a body.
        wrapped["HEAD"] = wrapped["GET"]

    async def dispatch(request: Request) -> Response:
        return await wrapped[request.method](request)

    return dispatch


PREFIX = "/api/v1"
ROUTES = [
    Route(f"{PREFIX}/me", _methods(get=me), methods=["GET"]),
    Route(f"{PREFIX}/events", _methods(get=list_webhook_events), methods=["GET"]),
    Route(
        f"{PREFIX}/transactions",
        _methods(get=list_txns, post=create_txn),
        methods=["GET", "POST"],
    ),
    Route(
        f"{PREFIX}/transactions/{{txn_id:int}}",
        _methods(get=get_txn, patch=patch_txn),
        methods=["GET", "PATCH"],
    ),
    Route(
        f"{PREFIX}/transactions/{{txn_id:int}}/stage",
        _methods(post=post_stage),
        methods=["POST"],
    ),
    Route(
        f"{PREFIX}/transactions/{{txn_id:int}}/events",
        _methods(get=list_txn_events),
        methods=["GET"],
    ),
    Route(
        f"{PREFIX}/transactions/{{txn_id:int}}/documents",
        _methods(get=list_txn_documents),
        methods=["GET"],
    ),
    Route(
        f"{PREFIX}/documents/{{document_id:int}}",
        _methods(get=get_document, patch=patch_document, delete=delete_document),
        methods=["GET", "PATCH", "DELETE"],
    ),
    Route(
        f"{PREFIX}/people",
        _methods(get=list_people, post=create_person),
        methods=["GET", "POST"],
    ),
    Route(
        f"{PREFIX}/people/{{person_id:int}}",
        _methods(get=get_person, patch=patch_person, delete=delete_person),
        methods=["GET", "PATCH", "DELETE"],
    ),
]
