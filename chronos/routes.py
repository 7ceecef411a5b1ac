"""Route paths in one place, and where each role lands after signing in."""

from __future__ import annotations

from chronos.models import Role

SIGN_IN = "/sign-in"
PIPELINE = "/pipeline"
TODAY = "/today"
REPORTS = "/reports"
CALENDAR = "/calendar"
NOTIFICATIONS = "/notifications"
EMAIL_TEMPLATES = "/templates"
NEW_TRANSACTION = "/transactions/new"
PEOPLE = "/people"
PORTAL = "/portal"
SIGN_UP = "/sign-up"
TWO_FACTOR = "/two-factor"
VERIFY_EMAIL = "/verify-email"
FORGOT_PASSWORD = "/forgot-password"
RESET_PASSWORD = "/reset-password"
ACCEPT_INVITATION = "/invitation"
ACCOUNT = "/account"
ACCOUNT_WEBHOOKS = "/account/webhooks"
ADMIN_USERS = "/admin/users"
ADMIN_SECURITY = "/admin/security"
ADMIN_EMAIL = "/admin/email"
ADMIN_CHECKLISTS = "/admin/checklists"
ADMIN_DEADLINES = "/admin/deadlines"
ADMIN_AUTOMATIONS = "/admin/automations"
ADMIN_COMPLIANCE = "/admin/compliance"
ADMIN_FORMS = "/admin/forms"
ADMIN_EXPORT = "/admin/export"
ADMIN_SUMMARY = "/admin/summary-pdf"
REVIEW = "/review"
DEV_MAILBOX = "/dev/mailbox"

SIGN_IN_API = "/auth/sign-in"
SIGN_OUT_API = "/auth/sign-out"
SIGN_UP_API = "/auth/sign-up"
TWO_FACTOR_API = "/auth/two-factor"
FORGOT_PASSWORD_API = "/auth/forgot-password"
RESET_PASSWORD_API = "/auth/reset-password"
ACCEPT_INVITATION_API = "/auth/accept-invitation"
RESEND_WEBHOOK = "/webhooks/resend"


def transaction(txn_id: int | str) -> str:
    return f"/transactions/{txn_id}"


def portal_transaction(txn_id: int | str) -> str:
    return f"/portal/{txn_id}"


def portal_sign(txn_id: int | str, request_id: int | str) -> str:
    return f"/portal/{txn_id}/sign/{request_id}"


def person(person_id: int | str) -> str:
    return f"/people/{person_id}"


def public_url(path: str) -> str:
    """Absolute URL of an app page for links that leave the app (emails)."""
    from chronos.settings import get_settings

    base = get_settings().public_url
    if not base:
        from reflex.config import get_config

        base = (get_config().deploy_url or "http://localhost:3000").rstrip("/")
    return f"{base}{path}"


def backend_url(path: str) -> str:
    """Absolute URL of one of the backend's own routes, for clients outside the browser
    (calendar apps): ``CHRONOS_PUBLIC_URL`` when set (production, https), else Reflex's
    api_url (the backend port in development)."""
    from chronos.settings import get_settings

    base = get_settings().public_url
    if not base:
        from reflex.config import get_config

        base = (get_config().api_url or "http://localhost:8000").rstrip("/")
    return f"{base}{path}"


def home_for(role: str | Role) -> str:
    return PIPELINE if Role(role).is_staff else PORTAL


def safe_next(path: str | None) -> str | None:
    """A same-site relative path to return to after sign-in, or None (no open redirects)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    if path.startswith((SIGN_IN, SIGN_UP, TWO_FACTOR)) or any(c in path for c in "\r\n"):
        return None
    return path[:500]
