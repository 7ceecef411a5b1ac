"""Invitations: emailed, expiring, single-use links that bring a person into the brokerage
(staff) or onto one transaction (client, attorney, lender).

Only an HMAC of the link's token is stored (``auth.hash_token``). Re-sending issues a new token,
so the previous link stops working. Status is derived from the row (pending, accepted,
revoked, expired), never stored.

Accepting creates the login (email verified: the link proved the address) or, for an existing
login of the same brokerage, links the invitation to it once the owner has proved who they are
(their password, or being signed in as them already). A different brokerage's existing login
is refused at invite time: users are unique by email across the whole system.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from chronos import routes
from chronos.mail import queue_email
from chronos.models import (
    EXTERNAL_PARTICIPANT_ROLES,
    EXTERNAL_ROLES,
    STAFF_ROLES,
    Invitation,
    Organization,
    Participant,
    ParticipantRole,
    Person,
    Role,
    Side,
    Transaction,
    User,
    utcnow,
)
from chronos.services import (
    access,
    accounts,
    auth,
    people,
    rate_limit,
    security_log,
    timeline,
    transactions,
)
from chronos.services.errors import (
    ChronosError,
    Conflict,
    NotFound,
    PasswordRefused,
    PermissionDenied,
    ValidationFailed,
    keep_log,
)
from chronos.services.pagination import Page, clamp_page
from chronos.services.security_log import Client, Kind
from chronos.services.validation import Collector, parse_email, required_text

INVITATION_TTL = timedelta(days=14)
TRANSACTION_ROLES = (Role.CLIENT, Role.ATTORNEY, Role.LENDER)
STAFF_INVITE_ROLES = (Role.ADMIN, Role.AGENT, Role.COORDINATOR)
NOT_VALID = "This invitation link is not valid. Ask the person who invited you for a new one."
ADMINS_ONLY = "Only admins can do this."

STATUS_LABELS = {
    "pending": "Pending",
    "accepted": "Accepted",
    "revoked": "Revoked",
    "expired": "Expired",
}
# Why an invitation cannot be accepted, by status: the accept page and route show these.
REFUSALS = {
    "invalid": NOT_VALID,
    "expired": "This invitation has expired. Ask the person who invited you to send it again.",
    "revoked": "This invitation was withdrawn. Ask the person who invited you if you need access.",
    "accepted": "This invitation has already been used. Sign in to continue.",
}


class InvitationRefused(ChronosError):
    """Accepting failed; ``code`` goes into the accept page's URL, ``message`` is shown."""

    status_code = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------- views


@dataclass
class InvitationRow:
    id: int
    email: str
    name: str
    role: str
    role_label: str
    status: str
    status_label: str
    invited_by: str
    last_sent_at: str  # ISO 8601 UTC
    expires_at: str
    send_count: int
    can_resend: bool
    can_revoke: bool


@dataclass
class InvitationView:
    """What the accept page may show for a token. Empty fields for an invalid token."""

    status: str  # invalid | pending | accepted | revoked | expired
    message: str = ""
    org_name: str = ""
    inviter_name: str = ""
    role: str = ""
    role_label: str = ""
    email: str = ""
    full_name: str = ""
    transaction_address: str = ""
    account_exists: bool = False


@dataclass(frozen=True)
class Sent:
    invitation: Invitation
    token: str  # only the email carries it; returned for tests and the CLI


@dataclass(frozen=True)
class Accepted:
    user: User
    landing: str  # where the new member lands
    needs_sign_in: bool  # two-factor accounts: accepted, but they sign in themselves
    new_account: bool


# ---------------------------------------------------------------- status


def status_of(inv: Invitation, now: datetime | None = None) -> str:
    if inv.accepted_at is not None:
        return "accepted"
    if inv.revoked_at is not None:
        return "revoked"
    if inv.expires_at <= (now or utcnow()):
        return "expired"
    return "pending"


def _require_verified(actor: User) -> None:
    auth.require_verified(actor)  # sending email to others needs a verified address


def _require_admin(actor: User | None) -> User:
    return access.require_role(actor, (Role.ADMIN,), ADMINS_ONLY)


def _user_by_email(db: Session, email: str) -> User | None:
    return db.exec(select(User).where(User.email == email)).first()


def _new_token(inv: Invitation) -> str:
    token = secrets.token_urlsafe(32)
    inv.token_hash = auth.hash_token(token)
    return token


def _accept_url(token: str) -> str:
    return routes.public_url(f"{routes.ACCEPT_INVITATION}?token={token}")


def _send_email(db: Session, inv: Invitation, token: str, inviter: User) -> None:
    org = db.get(Organization, inv.org_id)
    context: dict[str, Any] = {
        "name": inv.full_name,
        "inviter_name": inviter.full_name,
        "org_name": org.name if org else "your brokerage",
        "role_label": Role(inv.role).label,
        "url": _accept_url(token),
        "expires": inv.expires_at.strftime("%B %-d, %Y"),
    }
    if inv.transaction_id is not None:
        txn = db.get(Transaction, inv.transaction_id)
        context["address"] = txn.address if txn else "a transaction"
        template = "invitation_transaction"
    else:
        template = "invitation_staff"
    queue_email(
        db,
        to=inv.email,
        template=template,
        context=context,
        org_id=inv.org_id,
        transaction_id=inv.transaction_id,
    )


def _count_send(actor: User) -> None:
    try:
        rate_limit.hit(rate_limit.INVITE_SEND_ACCOUNT, f"user:{actor.id}")
    except rate_limit.RateLimited as exc:
        raise PermissionDenied(str(exc)) from None


def _issue(
    db: Session, actor: User, inv: Invitation, client: Client | None, *, resent: bool
) -> Sent:
    """Give ``inv`` a fresh token and expiry, mail it and record it."""
    now = utcnow()
    token = _new_token(inv)
    inv.expires_at = now + INVITATION_TTL
    inv.last_sent_at = now
    if resent:
        inv.send_count += 1
    inv.invited_by_id = actor.id
    db.add(inv)
    db.flush()
    _send_email(db, inv, token, actor)
    security_log.record(
        db,
        Kind.INVITATION_SENT,
        org_id=inv.org_id,
        actor_id=actor.id,
        email=inv.email,
        client=client,
        detail={
            "invitation_id": inv.id,
            "role": inv.role,
            "transaction_id": inv.transaction_id,
            "resent": resent,
        },
    )
    if inv.transaction_id is not None:
        txn = db.get(Transaction, inv.transaction_id)
        if txn is not None:
            timeline.record(
                db,
                actor=actor,
                txn=txn,
                kind="invitation_sent",
                summary=f"{'Re-sent' if resent else 'Sent'} a portal invitation to "
                f"{inv.full_name or inv.email} ({Role(inv.role).label})",
                data={"invitation_id": inv.id, "role": inv.role, "resent": resent},
            )
            db.flush()
    return Sent(invitation=inv, token=token)


def _pending_for(
    db: Session, org_id: int, email: str, transaction_id: int | None
) -> Invitation | None:
    rows = db.exec(
        select(Invitation).where(
            Invitation.org_id == org_id,
            Invitation.email == email,
            Invitation.transaction_id == transaction_id
            if transaction_id is not None
            else col(Invitation.transaction_id).is_(None),
            col(Invitation.accepted_at).is_(None),
            col(Invitation.revoked_at).is_(None),
        )
    ).all()
    now = utcnow()
    return next((r for r in rows if status_of(r, now) == "pending"), None)


# ---------------------------------------------------------------- inviting


def _parse_role(value: Any, allowed: tuple[Role, ...]) -> Role:
    try:
        role = Role(str(value))
    except ValueError:
        role = None  # type: ignore[assignment]
    if role not in allowed:
        choices = ", ".join(r.label.lower() for r in allowed)
        raise ValidationFailed({"role": f"Choose one of: {choices}."})
    return role


def _default_participant_role(role: Role, txn: Transaction) -> ParticipantRole:
    if role is Role.ATTORNEY:
        return ParticipantRole.ATTORNEY
    if role is Role.LENDER:
        return ParticipantRole.LENDER
    return ParticipantRole.SELLER if txn.side == Side.SELLER.value else ParticipantRole.BUYER


def invite_to_transaction(
    db: Session,
    actor: User,
    transaction_id: int,
    *,
    role: str,
    person_id: int | None = None,
    email: str = "",
    name: str = "",
    participant_role: str = "",
    client: Client | None = None,
) -> Sent:
    """Invite a contact (``person_id``) or a new person (``email`` + ``name``) to follow one
    transaction as client, attorney or lender. Adds them as a participant if they are not on
    it yet. Inviting the same email again while an invitation is pending re-sends it."""
    txn = access.get_editable_transaction(db, actor, transaction_id)
    _require_verified(actor)
    role_enum = _parse_role(role, TRANSACTION_ROLES)
    allowed_parts = EXTERNAL_PARTICIPANT_ROLES[role_enum]
    person: Person | None
    if person_id is not None:
        person = access.get_org_person(db, actor, person_id)
        if not person.email:
            raise ValidationFailed(
                {"email": f"Add an email address to {person.full_name} before inviting them."}
            )
        clean_email = person.email
        full_name = person.full_name
    else:
        check = Collector()
        clean_email = check.field("email", parse_email, email) or ""
        if not clean_email and "email" not in check.errors:
            check.add("email", "Email is required.")
        full_name = check.field("name", required_text, name, 200, "Name") or ""
        check.raise_if_any()
        person = db.exec(
            select(Person).where(Person.org_id == actor.org_id, Person.email == clean_email)
        ).first()
    existing = _user_by_email(db, clean_email)
    if existing is not None:
        if existing.org_id != actor.org_id:
            raise Conflict(
                f"{clean_email} already has a Chronos account with another brokerage, so it "
                "cannot join yours. Ask them for a different email address."
            )
        if existing.is_staff:
            raise ValidationFailed(
                {
                    "email": f"{clean_email} belongs to a staff member; add them as co-agent or coordinator."
                }
            )
        if existing.role_enum is not role_enum:
            raise ValidationFailed(
                {
                    "role": f"{clean_email} signs in as a {existing.role}; invite them as {existing.role}."
                }
            )
    if participant_role:
        try:
            prole = ParticipantRole(participant_role)
        except ValueError:
            raise ValidationFailed({"participant_role": "Unknown participant role."}) from None
        if prole not in allowed_parts:
            raise ValidationFailed(
                {
                    "participant_role": f"A {role_enum.value} takes part as "
                    + " or ".join(sorted(r.label for r in allowed_parts))
                    + "."
                }
            )
    else:
        prole = _default_participant_role(role_enum, txn)
    _count_send(actor)
    if person is None:
        first, _, last = full_name.partition(" ")
        person = people.create_person(
            db, actor, {"first_name": first, "last_name": last, "email": clean_email}
        )
    on_deal = db.exec(
        select(Participant).where(
            Participant.transaction_id == txn.id,
            Participant.person_id == person.id,
            col(Participant.role).in_([r.value for r in allowed_parts]),
        )
    ).first()
    if on_deal is None:
        transactions.add_participant(db, actor, txn.id or 0, role=prole.value, person_id=person.id)
    pending = _pending_for(db, actor.org_id, clean_email, txn.id)
    if pending is not None:
        return _issue(db, actor, pending, client, resent=True)
    inv = Invitation(
        org_id=actor.org_id,
        email=clean_email,
        full_name=full_name,
        role=role_enum.value,
        transaction_id=txn.id,
        person_id=person.id,
        invited_by_id=actor.id,
        token_hash="",
        expires_at=utcnow() + INVITATION_TTL,
    )
    return _issue(db, actor, inv, client, resent=False)


def invite_staff(
    db: Session,
    actor: User,
    *,
    email: str,
    name: str,
    role: str,
    client: Client | None = None,
) -> Sent:
    """An admin invites an admin, agent or coordinator into the brokerage."""
    actor = _require_admin(actor)
    _require_verified(actor)
    check = Collector()
    clean_email = check.field("email", parse_email, email) or ""
    if not clean_email and "email" not in check.errors:
        check.add("email", "Email is required.")
    full_name = check.field("name", required_text, name, 200, "Name") or ""
    check.raise_if_any()
    role_enum = _parse_role(role, STAFF_INVITE_ROLES)
    existing = _user_by_email(db, clean_email)
    if existing is not None:
        if existing.org_id != actor.org_id:
            raise Conflict(
                f"{clean_email} already has a Chronos account with another brokerage, so it "
                "cannot join yours. Ask them for a different email address."
            )
        raise Conflict(f"{existing.full_name} already has an account here ({clean_email}).")
    _count_send(actor)
    pending = _pending_for(db, actor.org_id, clean_email, None)
    if pending is not None:
        pending.role, pending.full_name = role_enum.value, full_name
        return _issue(db, actor, pending, client, resent=True)
    inv = Invitation(
        org_id=actor.org_id,
        email=clean_email,
        full_name=full_name,
        role=role_enum.value,
        invited_by_id=actor.id,
        token_hash="",
        expires_at=utcnow() + INVITATION_TTL,
    )
    return _issue(db, actor, inv, client, resent=False)


def _managed_invitation(db: Session, actor: User, invitation_id: int) -> Invitation:
    """An invitation the actor may re-send or revoke (NotFound when they may not see it)."""
    actor = access.require_active(actor)
    inv = db.get(Invitation, invitation_id)
    if inv is None or inv.org_id != actor.org_id:
        raise NotFound("Invitation not found.")
    if inv.transaction_id is not None:
        access.get_editable_transaction(db, actor, inv.transaction_id)
    else:
        _require_admin(actor)
    return inv


def resend(db: Session, actor: User, invitation_id: int, *, client: Client | None = None) -> Sent:
    inv = _managed_invitation(db, actor, invitation_id)
    _require_verified(actor)
    status = status_of(inv)
    if status == "accepted":
        raise Conflict("This invitation was already accepted.")
    if status == "revoked":
        raise Conflict("This invitation was revoked; send a new one instead.")
    _count_send(actor)
    return _issue(db, actor, inv, client, resent=True)


def revoke(
    db: Session, actor: User, invitation_id: int, *, client: Client | None = None
) -> Invitation:
    inv = _managed_invitation(db, actor, invitation_id)
    status = status_of(inv)
    if status == "accepted":
        raise Conflict("This invitation was already accepted; deactivate the user instead.")
    if status == "revoked":
        raise Conflict("This invitation is already revoked.")
    inv.revoked_at = utcnow()
    inv.revoked_by_id = actor.id
    db.add(inv)
    security_log.record(
        db,
        Kind.INVITATION_REVOKED,
        org_id=inv.org_id,
        actor_id=actor.id,
        email=inv.email,
        client=client,
        detail={"invitation_id": inv.id, "role": inv.role, "transaction_id": inv.transaction_id},
    )
    if inv.transaction_id is not None:
        txn = db.get(Transaction, inv.transaction_id)
        if txn is not None:
            timeline.record(
                db,
                actor=actor,
                txn=txn,
                kind="invitation_revoked",
                summary=f"Withdrew the portal invitation of {inv.full_name or inv.email}",
                data={"invitation_id": inv.id},
            )
    db.flush()
    return inv


# ---------------------------------------------------------------- listing


def _rows(db: Session, invs: list[Invitation]) -> list[InvitationRow]:
    ids = {i.invited_by_id for i in invs if i.invited_by_id}
    names = (
        dict(db.exec(select(User.id, User.full_name).where(col(User.id).in_(ids))).all())
        if ids
        else {}
    )
    now = utcnow()
    rows = []
    for inv in invs:
        status = status_of(inv, now)
        rows.append(
            InvitationRow(
                id=inv.id or 0,
                email=inv.email,
                name=inv.full_name,
                role=inv.role,
                role_label=Role(inv.role).label,
                status=status,
                status_label=STATUS_LABELS[status],
                invited_by=names.get(inv.invited_by_id, "") if inv.invited_by_id else "",
                last_sent_at=inv.last_sent_at.isoformat(timespec="seconds"),
                expires_at=inv.expires_at.isoformat(timespec="seconds"),
                send_count=inv.send_count,
                can_resend=status in ("pending", "expired"),
                can_revoke=status in ("pending", "expired"),
            )
        )
    return rows


def list_for_transaction(db: Session, actor: User, transaction_id: int) -> list[InvitationRow]:
    """The latest 100 invitations of a transaction, for staff who can see it."""
    txn = access.get_visible_transaction(db, actor, transaction_id)
    access.require_staff(actor)
    invs = db.exec(
        select(Invitation)
        .where(Invitation.transaction_id == txn.id)
        .order_by(col(Invitation.last_sent_at).desc(), col(Invitation.id).desc())
        .limit(100)
    ).all()
    return _rows(db, list(invs))


def list_staff_invitations(
    db: Session, actor: User, *, page: int = 1, page_size: int = 20
) -> Page[InvitationRow]:
    """Brokerage (staff) invitations, newest first; admins only."""
    actor = _require_admin(actor)
    where: list[Any] = [Invitation.org_id == actor.org_id, col(Invitation.transaction_id).is_(None)]
    total = db.exec(select(func.count()).select_from(Invitation).where(*where)).one()
    page, page_size = clamp_page(page, page_size)
    invs = db.exec(
        select(Invitation)
        .where(*where)
        .order_by(col(Invitation.last_sent_at).desc(), col(Invitation.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page(items=_rows(db, list(invs)), total=total, page=page, page_size=page_size)


# ---------------------------------------------------------------- accepting


def _by_token(db: Session, token: str | None) -> Invitation | None:
    if not token or len(token) > 200:
        return None
    return db.exec(
        select(Invitation).where(Invitation.token_hash == auth.hash_token(token))
    ).first()


def lookup(db: Session, token: str | None) -> InvitationView:
    """What the accept page shows. A forged or replaced token reveals nothing."""
    inv = _by_token(db, token)
    if inv is None:
        return InvitationView(status="invalid", message=NOT_VALID)
    status = status_of(inv)
    if status != "pending":
        return InvitationView(status=status, message=REFUSALS[status])
    org = db.get(Organization, inv.org_id)
    inviter = db.get(User, inv.invited_by_id) if inv.invited_by_id else None
    txn = db.get(Transaction, inv.transaction_id) if inv.transaction_id else None
    return InvitationView(
        status=status,
        org_name=org.name if org else "",
        inviter_name=inviter.full_name if inviter else "",
        role=inv.role,
        role_label=Role(inv.role).label,
        email=inv.email,
        full_name=inv.full_name,
        transaction_address=txn.address if txn else "",
        account_exists=_user_by_email(db, inv.email) is not None,
    )


def _link_participants(db: Session, inv: Invitation, user: User) -> None:
    """Make the invited transaction visible to ``user``: link their contact and its rows."""
    if inv.transaction_id is None:
        return
    person = db.get(Person, inv.person_id) if inv.person_id else None
    if person is None or person.org_id != inv.org_id:
        person = db.exec(
            select(Person).where(Person.org_id == inv.org_id, Person.user_id == user.id)
        ).first()
    if person is None:
        return
    if person.user_id is None:
        other = db.exec(select(Person).where(Person.user_id == user.id)).first()
        if other is None:
            person.user_id = user.id
            db.add(person)
    for part in db.exec(
        select(Participant).where(
            Participant.transaction_id == inv.transaction_id,
            Participant.person_id == person.id,
            col(Participant.user_id).is_(None),
        )
    ).all():
        part.user_id = user.id
        db.add(part)
    db.flush()


def _landing(inv: Invitation, user: User) -> str:
    if inv.transaction_id is not None and not user.is_staff:
        return routes.portal_transaction(inv.transaction_id)
    return routes.home_for(user.role)


def accept(
    db: Session,
    token: str | None,
    *,
    full_name: str = "",
    password: str = "",
    confirm: str = "",
    signed_in_as: User | None = None,
    client: Client | None = None,
) -> Accepted:
    """Accept an invitation. New people choose a name and password; an existing login of the
    same brokerage proves itself with its password (or by being signed in already)."""
    inv = _by_token(db, token)
    if inv is None:
        raise InvitationRefused("invalid", NOT_VALID)
    status = status_of(inv)
    if status != "pending":
        raise InvitationRefused(status, REFUSALS[status])
    existing = _user_by_email(db, inv.email)
    new_account = existing is None
    signed_in_here = False
    if existing is None:
        if password != confirm:
            raise ValidationFailed({"confirm": "The two passwords do not match."})
        user = auth.create_user(
            db,
            org_id=inv.org_id,
            email=inv.email,
            full_name=full_name.strip() or inv.full_name,
            role=inv.role,
            password=password,
        )
        user.email_verified_at = utcnow()
        db.add(user)
    else:
        user = existing
        if user.org_id != inv.org_id or not user.is_active:
            raise InvitationRefused("invalid", NOT_VALID)
        if user.role_enum is not Role(inv.role) and not (
            user.is_staff and Role(inv.role) in STAFF_ROLES
        ):
            raise InvitationRefused(
                "role",
                f"Your account signs in as {user.role}; ask for an invitation as {user.role}.",
            )
        signed_in_here = signed_in_as is not None and signed_in_as.id == user.id
        if not signed_in_here:
            try:
                accounts.check_password(
                    db, user, password, client=client, purpose="accept_invitation"
                )
            except PasswordRefused as exc:
                if exc.limited:
                    refused = InvitationRefused("limited", exc.message)
                else:
                    refused = InvitationRefused(
                        "password", "That password is not right for this account. Try again."
                    )
                # The refusal's security events stay committed, as check_password marked them.
                raise (keep_log(refused) if exc.commit_unit_of_work else refused) from None
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()  # the link proved the address
            db.add(user)
    if Role(inv.role) in EXTERNAL_ROLES:
        _link_participants(db, inv, user)
    inv.accepted_at = utcnow()
    inv.accepted_user_id = user.id
    db.add(inv)
    security_log.record(
        db,
        Kind.INVITATION_ACCEPTED,
        org_id=inv.org_id,
        user_id=user.id,
        actor_id=user.id,
        email=inv.email,
        client=client,
        detail={
            "invitation_id": inv.id,
            "role": inv.role,
            "transaction_id": inv.transaction_id,
            "new_account": new_account,
        },
    )
    if inv.transaction_id is not None:
        txn = db.get(Transaction, inv.transaction_id)
        if txn is not None:
            timeline.record(
                db,
                actor=user,
                txn=txn,
                kind="invitation_accepted",
                summary=f"{user.full_name} accepted the portal invitation",
                data={"invitation_id": inv.id, "user_id": user.id},
            )
    db.flush()
    return Accepted(
        user=user,
        landing=_landing(inv, user),
        needs_sign_in=user.totp_enabled_at is not None and not signed_in_here,
        new_account=new_account,
    )
