"""Who is acting: resolved from the HttpOnly session cookie on every event that needs it.

The user id and role live in backend-only vars; the browser only receives a display name and
a coarse ``is_staff`` flag for navigation. Every page loader and action calls ``_actor()`` again,
so a revoked session or a deactivated user is refused even on a page left open.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

import reflex as rx

from chronos import routes
from chronos.api.security import token_from_cookie_header
from chronos.db import session_scope
from chronos.models import Role, User
from chronos.services import accounts, auth, compliance, notifications, rate_limit
from chronos.services.errors import ChronosError, NotFound
from chronos.services.security_log import Client

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


def _event_txid() -> str | None:
    """The txid of the event being processed, or None outside Reflex's event processor."""
    from reflex_base.event.context import EventContext

    try:
        return EventContext.get().txid or None  # "" is a processor's root context, no event
    except LookupError:
        return None


STAFF = frozenset({Role.ADMIN, Role.AGENT, Role.COORDINATOR})
EXTERNAL = frozenset({Role.CLIENT, Role.ATTORNEY, Role.LENDER})


class SessionState(rx.State):
    """Base of every page state."""

    _user_id: int | None = None
    _role: str = ""
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

    def _actor(self) -> User | None:
        token = token_from_cookie_header(self.router.headers.cookie)
        txid = _event_txid()
        cached = _EVENT_ACTOR.get()
        if txid is not None and cached is not None and cached[:2] == (txid, token):
            user = cached[2]
        else:
            with session_scope() as db:
                user = auth.resolve_session(db, token)
            if txid is not None:
                _EVENT_ACTOR.set((txid, token, user))
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
        self.refresh_unread(user)
        return user, None

    def refresh_unread(self, user: User, *, force: bool = False) -> None:
        """The nav badges (unread notifications, documents awaiting review): counted once per
        event unless ``force`` (after an action of this event changed what they count)."""
        txid = _event_txid()
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
            return int(self._param(name))
        except ValueError:
            raise NotFound("That page does not exist.") from None
