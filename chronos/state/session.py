"""Who is acting: resolved from the HttpOnly session cookie on every event that needs it.

The user id and role live in backend-only vars; the browser only receives a display name and
a coarse ``is_staff`` flag for navigation. Every page loader and action calls ``_actor()`` again,
so a revoked session or a deactivated user is refused even on a page left open.

The websocket's trust rules (ARCHITECTURE.md): a socket whose Origin is not the app's never has
an actor; before any event is processed (the hydrate that sends the whole state included),
``TabOwnerGuard`` resets the tab's state tree when the person behind the cookie is not the one
who filled it.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import reflex as rx
from reflex.middleware import Middleware

from chronos import routes
from chronos.api.security import foreign_origin, token_from_cookie_header
from chronos.db import session_scope
from chronos.models import Role, User
from chronos.observability.events import event_txid
from chronos.services import accounts, auth, compliance, notifications, rate_limit
from chronos.services.errors import ChronosError, NotFound
from chronos.services.security_log import Client
from chronos.services.validation import in_id_range
from chronos.state.arguments import guard_handlers

if TYPE_CHECKING:
    from reflex.app import App
    from reflex.state import BaseState, StateUpdate
    from reflex_base.event import Event

log = logging.getLogger(__name__)

# One event (one websocket message) resolves its session once. A page loader fans out to every
# panel's loader, and each one asks for the actor and the nav badges again; before this cache
# that was up to ten session lookups and twenty badge counts per page open (bench/FINDINGS.md).
# Keyed by the event's txid and the cookie's token, so the next event always checks again: a
# revoked session is still refused on the very next click.
_EVENT_ACTOR: ContextVar[tuple[str, str | None, User | None] | None] = ContextVar(
    "chronos_event_actor", default=None
)
_EVENT_BADGES: ContextVar[tuple[str, int | None] | None] = ContextVar(
    "chronos_event_badges", default=None
)


def event_user(headers: Any) -> User | None:
    """The user behind a websocket event's headers (its connection's handshake), or None.

    None when the socket was opened by a page of another origin, whatever cookie it carries:
    Reflex's own origin check (``cors_allowed_origins``) refuses such sockets first, and this
    stays true if that check is ever switched off. One lookup per event (``_EVENT_ACTOR``)."""
    if foreign_origin(headers.origin, headers.host):
        return None
    token = token_from_cookie_header(headers.cookie)
    txid = event_txid()
    cached = _EVENT_ACTOR.get()
    if txid is not None and cached is not None and cached[:2] == (txid, token):
        return cached[2]
    with session_scope() as db:
        user = auth.resolve_session(db, token)
    if txid is not None:
        _EVENT_ACTOR.set((txid, token, user))
    return user


STAFF = frozenset({Role.ADMIN, Role.AGENT, Role.COORDINATOR})
EXTERNAL = frozenset({Role.CLIENT, Role.ATTORNEY, Role.LENDER})


class SessionState(rx.State):
    """Base of every page state."""

    _user_id: int | None = None
    _role: str = ""
    # Who filled this tab's state: set by TabOwnerGuard before every event, never by a handler.
    _tab_owner: int | None = None
    user_name: str = ""
    role_label: str = ""
    is_staff: bool = False
    is_admin: bool = False
    email_verified: bool = True
    signed_in: bool = False
    unread_count: int = 0  # the navbar's bell; refreshed by every page load (``_gate``)
    review_count: int = 0  # admins: documents awaiting review (the "Review" link's badge)
    # The "verify your email" banner's resend action.
    resend_busy: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Before Reflex turns the methods into event handlers: every public handler of a page
        # state, its mixins' included, checks its arguments first (state/arguments.py).
        guard_handlers(cls)
        super().__init_subclass__(**kwargs)

    def _actor(self) -> User | None:
        user = event_user(self.router.headers)
        if user is None:
            self._forget_user()
            return None
        if self._user_id not in (None, user.id):
            # A different person in the same browser tab: drop whatever the last one loaded.
            self._forget_user()
        self._user_id, self._role = user.id, user.role
        self.user_name = user.full_name
        self.role_label = user.role_enum.label
        self.is_staff = user.is_staff
        self.is_admin = user.role_enum is Role.ADMIN
        self.email_verified = user.is_verified
        self.signed_in = True
        return user

    def _forget_user(self) -> None:
        self._user_id, self._role = None, ""
        self.user_name = self.role_label = ""
        self.is_staff = self.is_admin = self.signed_in = False
        self.email_verified = True
        self.unread_count = self.review_count = 0

    def _gate(self, roles: frozenset[Role]) -> tuple[User | None, Any]:
        """(actor, None) when allowed; else (None, the redirect to return)."""
        user = self._actor()
        if user is None:
            path = self.router.url.path or "/"
            query = f"?next={path}" if routes.safe_next(path) else ""
            return None, rx.redirect(f"{routes.SIGN_IN}{query}", replace=True)
        if user.role_enum not in roles:
            return None, rx.redirect(routes.home_for(user.role), replace=True)
        self._refresh_badges(user)
        return user, None

    def _refresh_badges(self, user: User, *, force: bool = False) -> None:
        """The nav badges (unread notifications, documents awaiting review): counted once per
        event unless ``force`` (after an action of this event changed what they count)."""
        txid = event_txid()
        if not force and txid is not None and _EVENT_BADGES.get() == (txid, user.id):
            return  # counted already in this event (another panel's loader)
        if txid is not None:
            _EVENT_BADGES.set((txid, user.id))
        with session_scope() as db:
            self.unread_count = notifications.unread_count(db, user)
            self.review_count = compliance.pending_review_count(db, user)

    def _cookie_token(self) -> str | None:
        return token_from_cookie_header(self.router.headers.cookie)

    def _client(self) -> Client:
        return Client(
            str(self.router.session.client_ip or "")[:64],
            str(self.router.headers.user_agent or "")[:300],
        )

    @rx.event
    def resend_verification(self):  # type: ignore[no-untyped-def]
        """The banner's "Resend email": a new verification link to the signed-in user."""
        if self.resend_busy:
            return None
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN, replace=True)
        self.resend_busy = True
        try:
            with session_scope() as db:
                accounts.resend_verification(db, user, self._client())
                email = user.email
        except rate_limit.RateLimited as exc:
            self.resend_busy = False
            return rx.toast.error(str(exc))
        except ChronosError as exc:
            self.resend_busy = False
            self.email_verified = user.is_verified
            return rx.toast.info(exc.message)
        self.resend_busy = False
        return rx.toast.success(f"We sent a new link to {email}. It works for 48 hours.")

    def _param(self, name: str) -> str:
        # Dynamic route args live in the page data Reflex itself reads them from
        # (``router.page`` is a deprecated alias of the same object).
        return str(self.rx_router_page.params.get(name, "") or "")

    def _int_param(self, name: str) -> int:
        try:
            value = int(self._param(name))
        except ValueError:
            raise NotFound("That page does not exist.") from None
        if not in_id_range(value):
            raise NotFound("That page does not exist.")
        return value


async def _reset_tab(root: BaseState) -> None:
    """Every page state of the tab back to its defaults, loaded first where the state manager
    keeps substates apart (Redis): nothing another person loaded may be sent or used."""
    pending: list[type[BaseState]] = [type(root)]
    while pending:
        cls = pending.pop()
        for sub in cls.get_substates():
            await root.get_state(sub)
            pending.append(sub)
    root.reset()


class TabOwnerGuard(Middleware):
    """Before any event of a tab is handled, hydrate included (which sends the whole state
    tree), the person behind the cookie is resolved; when it is not the one who filled the
    tab's state (signed out, session revoked or expired, another account's cookie, a foreign
    Origin) the whole tree is reset first. The client token alone (it travels in the socket's
    URL and outlives sessions in sessionStorage) never gives access to what was loaded."""

    async def preprocess(self, app: App, state: BaseState, event: Event) -> StateUpdate | None:
        root = state._get_root_state()
        session = await root.get_state(SessionState)
        assert isinstance(session, SessionState)
        user = event_user(root.router.headers)
        owner = user.id if user is not None else None
        if session._tab_owner is not None and session._tab_owner != owner:
            log.info("tab state reset: its owner %s is not the caller", session._tab_owner)
            await _reset_tab(root)
            session = await root.get_state(SessionState)
            assert isinstance(session, SessionState)
        session._tab_owner = owner
        return None
