"""Signing in the portal: the deal page's "To sign" section and the signing page.

``PortalSignState`` (on the portal deal page's on_load) lists the requests the viewer signs on
this transaction: theirs to sign now, waiting for someone else, completed or voided. The
signing page ``/portal/[txn_id]/sign/[request_id]`` shows exactly the pinned version as page
images, asks for consent, and takes a typed name or a drawing (a canvas read back with
``rx.call_script``). Staff who are signers use the same page. Everything comes from the
signatures service with the acting user; nothing about a request the viewer is not on ever
reaches this state.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, app_shell
from chronos.components.timeline import local_time
from chronos.components.ui import empty_state, error_callout, loading_block
from chronos.db import session_scope
from chronos.pages.registry import page
from chronos.services import signatures
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.services.signatures import CONSENT_TEXT, RequestRow, SignerRow
from chronos.state.session import EXTERNAL, STAFF, SessionState

EVERYONE = STAFF | EXTERNAL
PAD_ID = "sigpad"
# Attach pointer drawing to the pad once (mouse, pen and finger alike).
PAD_SCRIPT = f"""(() => {{
  const c = document.getElementById('{PAD_ID}');
  if (!c || c.dataset.ready) return;
  c.dataset.ready = '1';
  const ctx = c.getContext('2d');
  ctx.lineWidth = 3; ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.strokeStyle = '#111827';
  let drawing = false;
  const pos = (e) => {{
    const r = c.getBoundingClientRect();
    return [(e.clientX - r.left) * c.width / r.width, (e.clientY - r.top) * c.height / r.height];
  }};
  c.addEventListener('pointerdown', (e) => {{
    drawing = true;
    try {{ c.setPointerCapture(e.pointerId); }} catch (_) {{}}
    const [x, y] = pos(e);
    ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + 0.5, y + 0.5); ctx.stroke();
    e.preventDefault();
  }});
  c.addEventListener('pointermove', (e) => {{
    if (!drawing) return;
    const [x, y] = pos(e);
    ctx.lineTo(x, y); ctx.stroke();
    e.preventDefault();
  }});
  const end = () => {{ drawing = false; }};
  c.addEventListener('pointerup', end);
  c.addEventListener('pointercancel', end);
}})()"""
CLEAR_SCRIPT = (
    f"(() => {{ const c = document.getElementById('{PAD_ID}'); "
    "if (c) c.getContext('2d').clearRect(0, 0, c.width, c.height); })()"
)
READ_SCRIPT = (
    f"(() => {{ const c = document.getElementById('{PAD_ID}'); "
    "return c ? c.toDataURL('image/png') : ''; })()"
)
MAX_DATA_URL = 400_000


def _go(url: str) -> Any:
    """Open a file link in this tab (a download leaves the page where it is)."""
    return rx.call_script(f"window.location.assign({json.dumps(api_url(url))})")


class PortalSignState(SessionState):
    """The portal deal page's list of what the viewer signs on this transaction."""

    sign_rows: list[RequestRow] = []
    sign_error: str = ""

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        self.sign_rows, self.sign_error = [], ""
        if user is None or user.role_enum not in EXTERNAL:
            return None  # the page's own loader redirects
        try:
            with session_scope() as db:
                self.sign_rows = signatures.requests_for_transaction(
                    db, user, self._int_param("txn_id")
                )
        except NotFound:
            self.sign_rows = []
        except ChronosError as exc:
            self.sign_error = exc.message
        return None

    @rx.event
    def download(self, request_id: int):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(EXTERNAL)
        if user is None:
            self.sign_rows = []
            return redirect
        try:
            with session_scope() as db:
                link = signatures.signed_link(db, user, int(request_id))
        except ChronosError as exc:
            self.sign_error = exc.message
            return None
        return _go(link)


def _status_line(r: RequestRow) -> rx.Component:
    return rx.cond(
        r.status == "pending",
        rx.cond(
            r.my_turn,
            rx.text("Waiting for your signature", size="2", color_scheme="amber", weight="medium"),
            rx.text(
                rx.cond(r.waiting_for != "", "Waiting for " + r.waiting_for, "Waiting"),
                size="2",
                color_scheme="gray",
            ),
        ),
        rx.cond(
            r.status == "completed",
            rx.text("Signed by everyone", size="2", color_scheme="grass", weight="medium"),
            rx.text("Voided: " + r.void_reason, size="2", color_scheme="red"),
        ),
    )


def _section_row(r: RequestRow) -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.text(r.title, weight="medium", size="3"),
            rx.text(r.document_title, size="1", color_scheme="gray"),
            _status_line(r),
            direction="column",
            spacing="1",
            flex="1",
            min_width="0",
        ),
        rx.cond(
            r.my_turn,
            rx.link(
                rx.button(rx.icon("pen_line", size=16), "Review and sign", size="3"),
                href="/portal/" + r.transaction_id.to_string() + "/sign/" + r.id.to_string(),
            ),
            rx.cond(
                r.status == "completed",
                rx.button(
                    rx.icon("download", size=16),
                    "Signed PDF",
                    variant="soft",
                    size="2",
                    on_click=PortalSignState.download(r.id),
                ),
                rx.link(
                    rx.button("Details", variant="soft", color_scheme="gray", size="2"),
                    href="/portal/" + r.transaction_id.to_string() + "/sign/" + r.id.to_string(),
                ),
            ),
        ),
        align="center",
        spacing="3",
        wrap="wrap",
        padding_y="10px",
        border_top=f"1px solid {rx.color('gray', 4)}",
    )


def portal_sign_section() -> rx.Component:
    s = PortalSignState
    return rx.cond(
        (s.sign_rows.length() > 0) | (s.sign_error != ""),
        rx.card(
            rx.flex(
                rx.heading("Documents to sign", size="4", as_="h2"),
                rx.cond(s.sign_error, error_callout(s.sign_error)),
                rx.box(rx.foreach(s.sign_rows, _section_row), width="100%"),
                direction="column",
                spacing="2",
            ),
            width="100%",
            id="to-sign",
        ),
    )


# --- the signing page ---------------------------------------------------------------------


class SignPageState(SessionState):
    """One request on the signing page, for one of its signers."""

    found: bool = False
    not_found: bool = False
    error: str = ""
    req: RequestRow | None = None
    page_urls: list[str] = []
    consent: bool = False
    mode: str = "typed"
    typed_name: str = ""
    errors: dict[str, str] = {}
    busy: bool = False
    done: str = ""

    def _forget(self) -> None:
        self.found, self.req, self.page_urls = False, None, []
        self.errors, self.done, self.busy = {}, "", False

    def _fetch(self, user: Any) -> None:
        txn_id, request_id = self._int_param("txn_id"), self._int_param("request_id")
        with session_scope() as db:
            row = signatures.request_detail(db, user, request_id)
            if row.transaction_id != txn_id:
                raise NotFound("Signature request not found.")
            urls = (
                signatures.signing_pages(db, user, request_id)
                if row.status == "pending" and row.my_turn
                else []
            )
        self.req, self.page_urls = row, [api_url(u) for u in urls]
        self.found, self.not_found = True, False

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self._forget()
        self.not_found, self.error = False, ""
        self.consent, self.mode, self.typed_name = False, "typed", ""
        user, redirect = self._gate(EVERYONE)
        if user is None:
            return redirect
        try:
            self._fetch(user)
            self.typed_name = user.full_name
        except NotFound:
            self._forget()
            self.not_found = True
        except ChronosError as exc:
            self._forget()
            self.error = exc.message
        return None

    @rx.event
    def set_consent(self, value: bool) -> None:
        self.consent = bool(value)
        self.errors = {k: v for k, v in self.errors.items() if k != "consent"}

    @rx.event
    def set_mode(self, value: str | list[str]) -> None:
        self.mode = "drawn" if value == "drawn" else "typed"
        self.errors = {k: v for k, v in self.errors.items() if k != "signature"}

    @rx.event
    def set_typed_name(self, value: str) -> None:
        self.typed_name = value[:200]

    def _sign(self, kind: str, typed: str, drawn: bytes | None):  # type: ignore[no-untyped-def]
        if self.busy:
            return None
        user, redirect = self._gate(EVERYONE)
        if user is None:
            self._forget()
            return redirect
        self.busy = True
        client = self._client()
        request_id = self._int_param("request_id")
        try:
            with session_scope() as db:
                signatures.sign(
                    db,
                    user,
                    request_id,
                    consent=self.consent,
                    kind=kind,
                    typed_name=typed,
                    drawn_png=drawn,
                    client_address=client.ip_address,
                    user_agent=client.user_agent,
                )
            self.errors = {}
            self._fetch(user)
            row = self.req
            if row is not None and row.status == "completed":
                self.done = "Completed. Everyone has signed; the signed PDF is ready."
            else:
                who = row.waiting_for if row is not None else ""
                self.done = f"Signed. Now waiting for {who} to sign." if who else "Signed."
        except ValidationFailed as exc:
            self.errors = dict(exc.errors)
        except NotFound:
            self._forget()
            self.not_found = True
        except ChronosError as exc:
            self.errors = {"signature": exc.message}
        finally:
            self.busy = False
        return None

    @rx.event
    def submit_typed(self):  # type: ignore[no-untyped-def]
        return self._sign("typed", self.typed_name, None)

    @rx.event
    def submit_drawn(self, data_url: str):  # type: ignore[no-untyped-def]
        raw = str(data_url or "")
        prefix = "data:image/png;base64,"
        png: bytes | None = None
        if raw.startswith(prefix) and len(raw) <= MAX_DATA_URL:
            try:
                png = base64.b64decode(raw[len(prefix) :], validate=True)
            except (binascii.Error, ValueError):
                png = None
        elif len(raw) > MAX_DATA_URL:
            self.errors = {"signature": "That drawing is too large; clear it and draw again."}
            return None
        return self._sign("drawn", "", png)

    @rx.event
    def download(self):  # type: ignore[no-untyped-def]
        user, redirect = self._gate(EVERYONE)
        if user is None:
            self._forget()
            return redirect
        try:
            with session_scope() as db:
                link = signatures.signed_link(db, user, self._int_param("request_id"))
        except ChronosError as exc:
            self.error = exc.message
            return None
        return _go(link)

    @rx.var
    def back_href(self) -> str:
        txn = self.req.transaction_id if self.req is not None else 0
        return routes.transaction(txn) if self.is_staff else routes.portal_transaction(txn)


def _signer_line(s: SignerRow) -> rx.Component:
    return rx.flex(
        rx.text((s.position + 1).to_string() + ". " + s.name, size="2", flex="1"),
        rx.cond(
            s.status == "signed",
            rx.flex(
                rx.badge("Signed", color_scheme="grass", variant="soft"),
                rx.text(local_time(s.signed_at), size="1", color_scheme="gray"),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.badge(
                rx.cond(s.is_current, "Signing now", s.status_label),
                color_scheme=rx.cond(s.is_current, "amber", "gray"),
                variant="soft",
            ),
        ),
        align="center",
        spacing="2",
        wrap="wrap",
    )


def _pages() -> rx.Component:
    s = SignPageState
    return rx.flex(
        rx.foreach(
            s.page_urls,
            lambda url, i: rx.el.img(
                src=url,
                alt="Page " + (i + 1).to_string(),
                loading="lazy",
                width="100%",
                style={
                    "display": "block",
                    "width": "100%",
                    "height": "auto",
                    "minHeight": "120px",
                    "border": f"1px solid {rx.color('gray', 6)}",
                    "borderRadius": "4px",
                    "background": "white",
                },
            ),
        ),
        direction="column",
        spacing="3",
        width="100%",
        id="sign-pages",
    )


def _typed() -> rx.Component:
    s = SignPageState
    return rx.flex(
        rx.el.label(
            rx.text("Type your full name", size="2", weight="medium"),
            rx.input(
                value=s.typed_name,
                on_change=s.set_typed_name,
                size="3",
                id="typed-name",
                auto_complete="name",
                max_length=100,
            ),
            style={"display": "flex", "flexDirection": "column", "gap": "4px"},
        ),
        rx.box(
            rx.text(
                rx.cond(s.typed_name != "", s.typed_name, " "),
                style={
                    "fontFamily": "Georgia, 'Times New Roman', serif",
                    "fontStyle": "italic",
                    "fontSize": "28px",
                    "overflowWrap": "anywhere",
                },
                color=rx.color("indigo", 11),
            ),
            border_bottom=f"1px solid {rx.color('gray', 8)}",
            padding_x="8px",
            padding_top="8px",
            aria_label="Signature preview",
        ),
        direction="column",
        spacing="2",
    )


def _drawn() -> rx.Component:
    return rx.flex(
        rx.text("Draw your signature with your finger, pen or mouse", size="2", weight="medium"),
        rx.el.canvas(
            id=PAD_ID,
            width="600",
            height="200",
            on_mount=rx.call_script(PAD_SCRIPT),
            aria_label="Signature pad",
            style={
                "width": "100%",
                "height": "auto",
                "aspectRatio": "3 / 1",
                "touchAction": "none",
                "background": "white",
                "border": f"1px dashed {rx.color('gray', 8)}",
                "borderRadius": "6px",
                "cursor": "crosshair",
            },
        ),
        rx.flex(
            rx.button(
                rx.icon("eraser", size=14),
                "Clear",
                variant="soft",
                color_scheme="gray",
                size="2",
                type="button",
                on_click=rx.call_script(CLEAR_SCRIPT),
            ),
            justify="end",
        ),
        direction="column",
        spacing="2",
    )


def _sign_form() -> rx.Component:
    s = SignPageState
    return rx.card(
        rx.flex(
            rx.heading("Sign", size="4", as_="h2"),
            rx.el.label(
                rx.flex(
                    rx.checkbox(
                        checked=s.consent,
                        on_change=s.set_consent,
                        size="3",
                        id="consent",
                        margin_top="2px",
                    ),
                    rx.text(CONSENT_TEXT, size="2"),
                    spacing="3",
                    align="start",
                ),
            ),
            rx.cond(
                s.errors.contains("consent"),
                rx.text(s.errors.get("consent", ""), color_scheme="red", size="1", role="alert"),
            ),
            rx.segmented_control.root(
                rx.segmented_control.item("Type", value="typed"),
                rx.segmented_control.item("Draw", value="drawn"),
                value=s.mode,
                on_change=s.set_mode,
                size="2",
                width="100%",
            ),
            rx.cond(s.mode == "drawn", _drawn(), _typed()),
            rx.cond(
                s.errors.contains("signature"),
                rx.text(s.errors.get("signature", ""), color_scheme="red", size="1", role="alert"),
            ),
            rx.button(
                rx.cond(s.busy, rx.spinner(size="2"), rx.icon("pen_line", size=16)),
                "Sign the document",
                size="3",
                width="100%",
                disabled=s.busy,
                on_click=rx.cond(
                    s.mode == "drawn",
                    rx.call_script(READ_SCRIPT, callback=SignPageState.submit_drawn),
                    SignPageState.submit_typed,
                ),
            ),
            rx.text(
                "Chronos records the time, your network address and browser with your "
                "signature, and adds them to a certificate page at the end of the document.",
                size="1",
                color_scheme="gray",
            ),
            direction="column",
            spacing="3",
        ),
        width="100%",
    )


def _outcome() -> rx.Component:
    s = SignPageState
    req = s.req.to(RequestRow)
    return rx.flex(
        rx.cond(
            s.done,
            rx.callout(s.done, icon="circle_check", color_scheme="grass", role="status"),
        ),
        rx.cond(
            req.status == "completed",
            rx.flex(
                rx.cond(
                    s.done == "",
                    rx.callout(
                        "Completed: everyone has signed.",
                        icon="circle_check",
                        color_scheme="grass",
                    ),
                ),
                rx.button(
                    rx.icon("download", size=16),
                    "Download signed PDF",
                    size="3",
                    on_click=s.download,
                ),
                rx.text("SHA-256 of the signed PDF", size="1", color_scheme="gray"),
                rx.code(req.signed_sha256, size="1", style={"overflowWrap": "anywhere"}),
                direction="column",
                spacing="2",
            ),
            rx.cond(
                req.status == "voided",
                rx.callout(
                    "This request was voided: " + req.void_reason,
                    icon="ban",
                    color_scheme="red",
                ),
                rx.cond(
                    (s.done == "") & ~req.my_turn,
                    rx.callout(
                        rx.cond(
                            req.waiting_for != "",
                            "Nothing to sign right now. Waiting for " + req.waiting_for + ".",
                            "Nothing to sign right now.",
                        ),
                        icon="clock",
                        color_scheme="gray",
                    ),
                ),
            ),
        ),
        direction="column",
        spacing="3",
        width="100%",
    )


def _sign_view() -> rx.Component:
    s = SignPageState
    req = s.req.to(RequestRow)
    return rx.flex(
        rx.link(
            rx.flex(rx.icon("arrow_left", size=16), rx.text("Back", size="2"), spacing="1"),
            href=s.back_href,
            color_scheme="gray",
            underline="none",
        ),
        rx.heading(req.title, size="6", as_="h1"),
        rx.text(req.document_title, size="2", color_scheme="gray"),
        rx.cond(
            req.message != "",
            rx.blockquote(req.message, size="2", style={"whiteSpace": "pre-line"}),
        ),
        rx.card(
            rx.flex(
                rx.text("Signers, in order", size="2", weight="medium"),
                rx.foreach(req.signers.to(list[SignerRow]), _signer_line),
                direction="column",
                spacing="2",
            ),
            width="100%",
        ),
        _outcome(),
        rx.cond(
            (req.status == "pending") & req.my_turn,
            rx.flex(
                rx.text(
                    "Read the document below, then sign at the end.",
                    size="2",
                    color_scheme="gray",
                ),
                _pages(),
                _sign_form(),
                direction="column",
                spacing="3",
                width="100%",
            ),
        ),
        direction="column",
        spacing="3",
        width="100%",
    )


@page(
    "/portal/[txn_id]/sign/[request_id]",
    "Sign",
    on_load=SignPageState.load,
)
def portal_sign_page() -> rx.Component:
    s = SignPageState
    return app_shell(
        rx.box(
            rx.cond(
                s.found,
                _sign_view(),
                rx.cond(
                    s.not_found,
                    empty_state(
                        "search_x",
                        "Nothing to sign here",
                        "This signature request does not exist, or you are not one of its signers.",
                        rx.link(rx.button("My transactions", variant="soft"), href=routes.PORTAL),
                    ),
                    rx.cond(s.error, error_callout(s.error), loading_block("Loading…")),
                ),
            ),
            max_width="720px",
            margin_x="auto",
        ),
        active="portal",
        user_name=s.user_name,
        role_label=s.role_label,
        is_staff=s.is_staff,
        signed_in=s.signed_in,
    )
