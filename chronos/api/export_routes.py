"""Downloads by URL: CSVs of the pipeline, contacts and tasks (``services/exports.py``), and an
admin's whole-brokerage export (``services/org_export.py``), a file's summary PDF.

The session cookie authenticates (a plain link from the page, so the browser downloads the file
itself); a foreign Origin is refused. Refusals are decided before the first byte is sent, so
they are a proper 4xx, never a truncated file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from chronos import routes
from chronos.api.security import foreign_request, token_from_cookie_header
from chronos.db import session_scope
from chronos.models import User
from chronos.services import auth, cover_sheet, exports, org_export, reports
from chronos.services.errors import AuthenticationFailed, ChronosError, ValidationFailed
from chronos.services.validation import in_id_range

PREFIX = "/api/v1"
Maker = Callable[[Session, User, Any], Iterator[str]]


def _pipeline(db: Session, actor: User, q: Any) -> Iterator[str]:
    stage = q.get("stage", "")
    return exports.pipeline_csv(
        db,
        actor,
        stage="" if stage in ("", "open", "all") else stage,
        side="" if q.get("side", "") in ("", "all") else q.get("side", ""),
        q=q.get("q", ""),
        open_only=q.get("open") == "1" or stage == "open",
    )


def _people(db: Session, actor: User, q: Any) -> Iterator[str]:
    return exports.people_csv(db, actor, q=q.get("q", ""))


def _tasks(db: Session, actor: User, q: Any) -> Iterator[str]:
    return exports.tasks_csv(db, actor, open_only=q.get("all") != "1")


def _report(db: Session, actor: User, q: Any, name: str) -> Iterator[str]:
    filters = reports.parse_filters(
        period=q.get("period", ""),
        agent=q.get("agent", ""),
        side=q.get("side", ""),
        property_type=q.get("property_type", ""),
        stage=q.get("stage", ""),
    )
    header, rows = reports.csv_rows(db, actor, name, filters)
    return exports.to_csv(header, rows)


async def report_csv(request: Request) -> Response:
    """/api/v1/reports/{name}.csv: one report's table with the page's filters."""
    name = request.path_params["name"]
    if name not in reports.REPORTS:
        return JSONResponse({"error": "Unknown report."}, status_code=404)
    handler = _download(f"report-{name}", lambda db, actor, q: _report(db, actor, q, name))
    return await handler(request)


def _download(name: str, make: Maker) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        if foreign_request(request):
            return JSONResponse({"error": "Cross-origin request refused."}, status_code=403)
        token = token_from_cookie_header(request.headers.get("cookie"))
        params = request.query_params

        def produce() -> Iterator[str]:
            with session_scope() as db:
                actor = auth.resolve_session(db, token)
                if actor is None:
                    raise AuthenticationFailed("Sign in first.")
                chunks = make(db, actor, params)
                yield ""  # the checks above (and the service's own) have passed
                yield from chunks

        stream = produce()
        try:
            await run_in_threadpool(next, stream)
        except ChronosError as exc:
            fields = exc.errors if isinstance(exc, ValidationFailed) else None
            body: dict[str, Any] = {"error": exc.message}
            if fields:
                body["fields"] = fields
            return JSONResponse(body, status_code=exc.status_code)
        filename = f"chronos-{name}-{date.today().isoformat()}.csv"
        return StreamingResponse(
            stream,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return handler


async def export_archive(request: Request) -> Response:
    """An admin's brokerage export, through the signed link of its email (``org_export``)."""
    if foreign_request(request):
        return PlainTextResponse("Cross-origin request refused.", status_code=403)
    token = token_from_cookie_header(request.headers.get("cookie"))
    name = request.path_params["name"]
    try:
        with session_scope() as db:
            actor = auth.resolve_session(db, token)
            if actor is None:
                return RedirectResponse(
                    f"{routes.SIGN_IN}?{urlencode({'next': routes.ADMIN_EXPORT})}",
                    status_code=303,
                )
            path = org_export.open_export(db, actor, name, dict(request.query_params))
    except ChronosError as exc:
        return PlainTextResponse(exc.message, status_code=exc.status_code)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"chronos-export-{name.split('-')[2]}.zip",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


async def summary_pdf(request: Request) -> Response:
    """A file's cover sheet (``services/cover_sheet.py``) for the signed-in viewer."""
    if foreign_request(request):
        return PlainTextResponse("Cross-origin request refused.", status_code=403)
    token = token_from_cookie_header(request.headers.get("cookie"))
    txn_id = request.path_params["txn_id"]
    audience = request.query_params.get("audience", "staff")

    def build() -> Any:
        with session_scope() as db:
            actor = auth.resolve_session(db, token)
            if actor is None:
                raise AuthenticationFailed("Sign in first.")
            return cover_sheet.cover_sheet(db, actor, txn_id, audience=audience)

    if not in_id_range(txn_id):
        return PlainTextResponse("There is no such item.", status_code=404)
    try:
        sheet = await run_in_threadpool(build)
    except ChronosError as exc:
        return PlainTextResponse(exc.message, status_code=exc.status_code)
    return Response(
        sheet.data,
        media_type="application/pdf",
        headers={
            # Made by Chronos from what this viewer may see: safe to open in the browser's
            # viewer (which a sandboxing CSP would block), to print or to share.
            "Content-Disposition": f'inline; filename="{sheet.filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


ROUTES = [
    Route(f"{PREFIX}/transactions/{{txn_id:int}}/summary.pdf", summary_pdf, methods=["GET"]),
    Route(f"{org_export.EXPORT_PATH}/{{name}}.zip", export_archive, methods=["GET"]),
    Route(f"{PREFIX}/transactions.csv", _download("pipeline", _pipeline), methods=["GET"]),
    Route(f"{PREFIX}/people.csv", _download("contacts", _people), methods=["GET"]),
    Route(f"{PREFIX}/tasks.csv", _download("tasks", _tasks), methods=["GET"]),
    Route(f"{PREFIX}/reports/{{name}}.csv", report_csv, methods=["GET"]),
]
