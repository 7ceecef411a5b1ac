"""One transaction, for staff: header with stage control, details, key dates, participants,
timeline."""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos import routes
from chronos.components.calendar_links import add_date_link, file_dates_link, ics_href
from chronos.components.layout import api_url, app_shell
from chronos.components.once import once_attrs, once_input
from chronos.components.timeline import timeline_list
from chronos.components.ui import (
    action_menu,
    empty_state,
    error_callout,
    field,
    form_actions,
    loading_block,
    select_field,
    side_badge,
    stage_badge,
)
from chronos.db import session_scope
from chronos.models import ParticipantRole, PropertyType, Role, Stage
from chronos.pages.admin_users import invitation_item
from chronos.pages.registry import page
from chronos.pages.transaction_compliance import CompliancePanelState, compliance_panel
from chronos.pages.transaction_compose import ComposeState, compose_panel
from chronos.pages.transaction_documents import DocumentsPanelState, documents_panel
from chronos.pages.transaction_forms import FormsPanelState, forms_panel
from chronos.pages.transaction_lender import LenderPanelState, lender_panel
from chronos.pages.transaction_messages import MessagePanelState, messages_panel
from chronos.pages.transaction_signatures import SignaturePanelState, signatures_panel
from chronos.pages.transaction_tasks import TaskPanelState, tasks_panel
from chronos.services import (
    idempotency,
    invitations,
    key_dates,
    people,
    timeline,
    transactions,
    users,
)
from chronos.services.errors import ChronosError, NotFound, ValidationFailed
from chronos.services.invitations import InvitationRow
from chronos.services.key_dates import KeyDateRow, PresetOption
from chronos.services.people import PersonRow
from chronos.services.security_log import Client
from chronos.services.timeline import EventRow
from chronos.services.transactions import TransactionDetail
from chronos.services.users import StaffMember
from chronos.services.validation import parse_id
from chronos.state import once
from chronos.state.session import EXTERNAL, SessionState

# Which portal role a contact is invited as, by their role on the deal.
INVITE_ROLE_FOR = {
    "buyer": "client",
    "seller": "client",
    "attorney": "attorney",
    "lender": "lender",
}
INVITE_ROLES = [("client", "Client"), ("attorney", "Attorney"), ("lender", "Lender")]

EVENTS_PAGE = 15
CONTACT_ROLES = [
    r for r in ParticipantRole if r not in (ParticipantRole.CO_AGENT, ParticipantRole.COORDINATOR)
]
STAFF_ROLES_ON_DEAL = [ParticipantRole.CO_AGENT, ParticipantRole.COORDINATOR]
EDIT_FIELDS = (
    "street",
    "unit",
    "city",
    "state",
    "postal_code",
    "price",
    "effective_date",
    "closing_date",
    "mls_number",
)


# The panels with their own state, loaded with the page (``TransactionState.load_page``).
_PANELS: tuple[Any, ...] = (
    TaskPanelState,
    DocumentsPanelState,
    CompliancePanelState,
    SignaturePanelState,
    FormsPanelState,
    LenderPanelState,
    ComposeState,
    MessagePanelState,
)


class TransactionState(SessionState):
    detail: TransactionDetail | None = None
    events: list[EventRow] = []
    events_page: int = 1
    has_more_events: bool = False
    timeline_show: str = "all"
    note_kind: str = "call"
    # Per-form idempotency keys (state/once.py): a double Enter or click adds one note / one
    # participant.
    note_once_key: str = ""
    _note_once_done: str = ""
    participant_once_key: str = ""
    _participant_once_done: str = ""
    note_error: str = ""
    loading: bool = True
    error: str = ""
    not_found: bool = False
    # stage control
    stage_target: str = ""
    stage_reason: str = ""
    stage_error: str = ""
    stage_saving: bool = False
    # edit details
    edit_open: bool = False
    edit_errors: dict[str, str] = {}
    edit_error: str = ""
    edit_property_type: str = PropertyType.SINGLE_FAMILY.value
    # add participant
    add_open: bool = False
    add_mode: str = "contact"
    contact_q: str = ""
    contact_results: list[PersonRow] = []
    picked_person_id: int = 0
    picked_person_name: str = ""
    add_role: str = ParticipantRole.BUYER.value
    staff_options: list[StaffMember] = []
    picked_user_id: str = ""
    add_errors: dict[str, str] = {}
    add_error: str = ""
    # key dates
    key_dates: list[KeyDateRow] = []
    preset_choices: list[PresetOption] = []
    preset_choice: str = ""
    key_dates_error: str = ""
    override_open: bool = False
    override_key: str = ""
    override_label: str = ""
    override_date: str = ""
    override_is_set: bool = False
    override_errors: dict[str, str] = {}
    override_error: str = ""
    # portal invitations
    invitations: list[InvitationRow] = []
    invited_emails: list[str] = []  # emails with a pending invitation
    invite_open: bool = False
    invite_mode: str = "contact"
    invite_role: str = "client"
    invite_errors: dict[str, str] = {}
    invite_error: str = ""
    invite_saving: bool = False

    def _txn_id(self) -> int:
        return self._int_param("txn_id")

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        # Any signed-in role passes the gate; outside parties are then sent to their own view
        # of the same deal (one session lookup either way).
        user, redirect = self._gate(frozenset(Role))
        if user is None or user.role_enum in EXTERNAL:
            self.detail, self.events, self.invitations = None, [], []
            self.invited_emails = []
            if user is None:
                return redirect
            return rx.redirect(routes.portal_transaction(self._param("txn_id")), replace=True)
        self.stage_target, self.stage_reason, self.stage_error = "", "", ""
        self.events_page = 1
        once.fresh(self, form="note")
        once.fresh(self, form="participant")
        try:
            with session_scope() as db:
                txn_id = self._txn_id()
                self.detail = transactions.get_transaction(db, user, txn_id)
                self.key_dates = key_dates.list_key_dates(db, user, txn_id)
                self.preset_choices = key_dates.preset_options(db, user)
                self._load_invitations(db, user, txn_id)
                self._load_events(db, user, txn_id, reset=True)
            self.error, self.not_found = "", False
            self.preset_choice, self.key_dates_error = "", ""
        except NotFound:
            self.detail, self.events, self.not_found = None, [], True
            self.key_dates, self.invitations, self.invited_emails = [], [], []
        except ChronosError as exc:
            self.error = exc.message
        self.loading = False
        return None

    @rx.event
    async def load_page(self):  # type: ignore[no-untyped-def]
        """The page's loader and every panel's, in one event: one state lock and one update
        to the browser instead of one per panel (bench/FINDINGS.md). Each panel still checks
        the actor itself and clears its data when refused."""
        result = TransactionState.load.fn(self)
        for cls in _PANELS:
            panel = await self.get_state(cls)
            cls.load.fn(panel)
        return result

    def _load_invitations(self, db: Any, user: Any, txn_id: int) -> None:
        self.invitations = invitations.list_for_transaction(db, user, txn_id)
        self.invited_emails = [i.email for i in self.invitations if i.status == "pending"]

    def _load_events(self, db: Any, user: Any, txn_id: int, *, reset: bool) -> None:
        result = timeline.list_events(
            db, user, txn_id, page=self.events_page, page_size=EVENTS_PAGE, show=self.timeline_show
        )
        self.events = result.items if reset else [*self.events, *result.items]
        self.has_more_events = result.page < result.pages

    def _refresh(self, db: Any, user: Any) -> None:
        txn_id = self._txn_id()
        self.detail = transactions.get_transaction(db, user, txn_id)
        self.key_dates = key_dates.list_key_dates(db, user, txn_id)
        self._load_invitations(db, user, txn_id)
        self.events_page = 1
        self._load_events(db, user, txn_id, reset=True)

    @rx.event
    def set_timeline_show(self, value: str):  # type: ignore[no-untyped-def]
        self.timeline_show = value if value in timeline.FILTER_LABELS else "all"
        return TransactionState.reload_events

    @rx.event
    def set_note_kind(self, value: str) -> None:
        self.note_kind = value

    @rx.event
    def add_note(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        key = once.key_of(form)
        if once.repeated(self, key, form="note"):
            return None  # a double Enter: the first note stands
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        body, kind = str(form.get("note") or ""), self.note_kind
        try:
            with session_scope() as db:
                txn_id = self._txn_id()
                idempotency.once(
                    db,
                    user,
                    "note.create",
                    key,
                    {"transaction": txn_id, "note": body, "kind": kind},
                    lambda: timeline.add_note(db, user, txn_id, body, kind=kind).id,
                )
        except ChronosError as exc:
            self.note_error = exc.message
            once.settle(self, key, done=False, form="note")
            return None
        self.note_error = ""
        once.settle(self, key, done=True, form="note")
        return TransactionState.reload_events

    @rx.event
    def reload_events(self):  # type: ignore[no-untyped-def]
        """The newest timeline page again (after another panel changed the file)."""
        user = self._actor()
        if user is None or self.detail is None:
            return None
        try:
            with session_scope() as db:
                self.events_page = 1
                self._load_events(db, user, self._txn_id(), reset=True)
        except ChronosError:
            pass
        return None

    @rx.event
    def more_events(self):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        self.events_page += 1
        try:
            with session_scope() as db:
                self._load_events(db, user, self._txn_id(), reset=False)
        except ChronosError as exc:
            self.error = exc.message
        return None

    # ------------------------------------------------------------ stage
    @rx.event
    def set_stage_target(self, value: str) -> None:
        self.stage_target, self.stage_error = value, ""

    @rx.event
    def set_stage_reason(self, value: str) -> None:
        self.stage_reason = value

    @rx.event
    def apply_stage(self):  # type: ignore[no-untyped-def]
        if self.stage_saving or not self.stage_target or self.detail is None:
            return None
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        self.stage_saving = True
        target_label = Stage(self.stage_target).label
        try:
            with session_scope() as db:
                transactions.change_stage(
                    db,
                    user,
                    self._txn_id(),
                    self.stage_target,
                    reason=self.stage_reason,
                    expected_stage=self.detail.stage,
                )
            with session_scope() as db:
                self._refresh(db, user)
        except ChronosError as exc:
            self.stage_error = exc.message
            self.stage_saving = False
            return None
        self.stage_target, self.stage_reason, self.stage_error = "", "", ""
        self.stage_saving = False
        # The new stage may have added its checklist.
        return [
            rx.toast.success(f"Moved to {target_label}."),
            TaskPanelState.load,
            CompliancePanelState.load,
        ]

    # ------------------------------------------------------------ edit details
    @rx.event
    def open_edit(self) -> None:
        self.edit_open, self.edit_errors, self.edit_error = True, {}, ""
        if self.detail is not None:
            self.edit_property_type = self.detail.property_type

    @rx.event
    def set_edit_open(self, value: bool) -> None:
        self.edit_open = value

    @rx.event
    def set_edit_property_type(self, value: str) -> None:
        self.edit_property_type = value

    @rx.event
    def save_details(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        data = {k: form.get(k, "") for k in EDIT_FIELDS}
        data["property_type"] = self.edit_property_type
        before = (self.detail.effective_date, self.detail.closing_date) if self.detail else ("", "")
        moves: list[str] = []
        try:
            with session_scope() as db:
                txn_id = self._txn_id()
                if (data["effective_date"], data["closing_date"]) != before:
                    # What the key dates will do, worked out before the save changes them.
                    moves = [
                        m.text
                        for m in key_dates.preview_anchor_change(
                            db, user, txn_id, data["effective_date"], data["closing_date"]
                        )
                    ]
                transactions.update_transaction(db, user, txn_id, data)
            with session_scope() as db:
                self._refresh(db, user)
        except ValidationFailed as exc:
            self.edit_errors, self.edit_error = exc.errors, "Please fix the highlighted fields."
            return None
        except ChronosError as exc:
            self.edit_errors, self.edit_error = {}, exc.message
            return None
        self.edit_open = False
        moved = []
        if self.detail is not None:
            for label, old, new in (
                ("Effective date", before[0], self.detail.effective_date),
                ("Closing date", before[1], self.detail.closing_date),
            ):
                if old != new:
                    moved.append(f"{label}: {old or 'none'} → {new or 'none'}")
        moved += moves
        return [
            rx.toast.success("Saved. " + "; ".join(moved) if moved else "Saved."),
            TaskPanelState.load,
        ]

    # ------------------------------------------------------------ key dates
    @rx.event
    def set_preset_choice(self, value: str) -> None:
        self.preset_choice, self.key_dates_error = value, ""

    @rx.event
    def apply_preset(self):  # type: ignore[no-untyped-def]
        if not self.preset_choice:
            return None
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        try:
            with session_scope() as db:
                rows = key_dates.apply_preset(db, user, self._txn_id(), self.preset_choice)
                count = len(rows)
            with session_scope() as db:
                self._refresh(db, user)
        except ChronosError as exc:
            self.key_dates_error = exc.message
            return None
        self.preset_choice, self.key_dates_error = "", ""
        return [rx.toast.success(f"{count} key dates set."), TaskPanelState.load]

    @rx.event
    def open_override(self, key: str, label: str, day: str, is_set: bool) -> None:
        self.override_key, self.override_label, self.override_date = key, label, day
        self.override_is_set = is_set
        self.override_errors, self.override_error = {}, ""
        self.override_open = True

    @rx.event
    def set_override_open(self, value: bool) -> None:
        self.override_open = value

    def _save_override(self, day: str, reason: str):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        try:
            with session_scope() as db:
                moves = key_dates.override_key_date(
                    db, user, self._txn_id(), self.override_key, day, reason
                )
            with session_scope() as db:
                self._refresh(db, user)
        except ValidationFailed as exc:
            self.override_errors, self.override_error = exc.errors, exc.message
            return None
        except ChronosError as exc:
            self.override_errors, self.override_error = {}, exc.message
            return None
        self.override_open = False
        moved = "; ".join(m.text for m in moves)
        # Tasks counted from a date moved with it.
        return [
            rx.toast.success("Saved. " + moved if moved else "Saved; no date moved."),
            TaskPanelState.load,
        ]

    @rx.event
    def save_override(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        return self._save_override(str(form.get("date", "")), str(form.get("reason", "")))

    @rx.event
    def clear_override(self):  # type: ignore[no-untyped-def]
        return self._save_override("", "")

    @rx.event
    def toggle_shared(self, key: str, shared: bool):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        try:
            with session_scope() as db:
                key_dates.set_shared(db, user, self._txn_id(), key, shared)
            with session_scope() as db:
                self._refresh(db, user)
        except ChronosError as exc:
            return rx.toast.error(exc.message)
        return None

    # ------------------------------------------------------------ participants
    @rx.event
    def open_add(self) -> None:
        self.add_open, self.add_mode = True, "contact"
        self.contact_q, self.contact_results = "", []
        self.picked_person_id, self.picked_person_name = 0, ""
        self.add_errors, self.add_error, self.picked_user_id = {}, "", ""
        self.add_role = ParticipantRole.BUYER.value

    @rx.event
    def set_add_open(self, value: bool) -> None:
        self.add_open = value
        if value:
            once.fresh(self, form="participant")

    @rx.event
    def set_add_mode(self, value: str | list[str]):  # type: ignore[no-untyped-def]
        self.add_mode = value if isinstance(value, str) else value[0]
        self.add_errors, self.add_error = {}, ""
        if self.add_mode == "staff":
            self.add_role = ParticipantRole.COORDINATOR.value
            user = self._actor()
            if user is None:
                return rx.redirect(routes.SIGN_IN)
            try:
                with session_scope() as db:
                    self.staff_options = users.list_staff(db, user)
            except ChronosError as exc:
                self.add_error = exc.message
        else:
            self.add_role = ParticipantRole.BUYER.value
        return None

    @rx.event
    def search_contacts(self, value: str):  # type: ignore[no-untyped-def]
        self.contact_q = value
        self.picked_person_id, self.picked_person_name = 0, ""
        if len(value.strip()) < 2:
            self.contact_results = []
            return None
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        try:
            with session_scope() as db:
                self.contact_results = people.search_contacts(db, user, value)
        except ChronosError as exc:
            self.add_error = exc.message
        return None

    @rx.event
    def pick_contact(self, person_id: int, name: str) -> None:
        self.picked_person_id, self.picked_person_name = person_id, name
        self.contact_results = []

    @rx.event
    def set_add_role(self, value: str) -> None:
        self.add_role = value

    @rx.event
    def set_picked_user(self, value: str) -> None:
        self.picked_user_id = value

    @rx.event
    def add_participant(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        key = once.key_of(form)
        if once.repeated(self, key, form="participant"):
            return None  # a double click on "Add": the first participant stands
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        names = ("first_name", "last_name", "email", "phone", "company")
        fields = {k: form.get(k, "") for k in names}
        try:
            request = {
                "transaction": self._txn_id(),
                "mode": self.add_mode,
                "role": self.add_role,
                "user": self.picked_user_id,
                "person": self.picked_person_id,
                **(fields if self.add_mode == "new" else {}),
            }
            with session_scope() as db:
                idempotency.once(
                    db,
                    user,
                    "participant.create",
                    key,
                    request,
                    lambda: self._add_participant(db, user, fields),
                )
            with session_scope() as db:
                self._refresh(db, user)
        except ValidationFailed as exc:
            self.add_errors, self.add_error = exc.errors, exc.message
            once.settle(self, key, done=False, form="participant")
            return None
        except ChronosError as exc:
            self.add_errors, self.add_error = {}, exc.message
            once.settle(self, key, done=False, form="participant")
            return None
        once.settle(self, key, done=True, form="participant")
        self.add_open = False
        return rx.toast.success("Participant added.")

    def _add_participant(self, db: Any, user: Any, fields: dict[str, Any]) -> int:
        """One participant from the add form's mode; its id (what a repeat is answered with)."""
        txn_id = self._txn_id()
        if self.add_mode == "staff":
            if not self.picked_user_id:
                raise ValidationFailed({"user": "Choose a staff member."})
            added = transactions.add_participant(
                db,
                user,
                txn_id,
                role=self.add_role,
                user_id=parse_id(self.picked_user_id, "user", "staff member"),
            )
        elif self.add_mode == "new":
            person = people.create_person(db, user, fields)
            added = transactions.add_participant(
                db, user, txn_id, role=self.add_role, person_id=person.id
            )
        else:
            if not self.picked_person_id:
                raise ValidationFailed({"contact": "Search for a contact and pick one."})
            added = transactions.add_participant(
                db, user, txn_id, role=self.add_role, person_id=self.picked_person_id
            )
        return int(added.id or 0)

    @rx.event
    def remove_participant(self, participant_id: int):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        try:
            with session_scope() as db:
                transactions.remove_participant(db, user, self._txn_id(), participant_id)
            with session_scope() as db:
                self._refresh(db, user)
        except ChronosError as exc:
            return rx.toast.error(exc.message)
        return rx.toast.success("Participant removed.")

    # ------------------------------------------------------------ portal invitations
    def _invite_client(self) -> Client:
        return Client(self.router.session.client_ip or "", self.router.headers.user_agent or "")

    @rx.event
    def invite_participant(self, person_id: int, role: str, name: str):  # type: ignore[no-untyped-def]
        """One click on "Invite to portal" for a contact already on the deal."""
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        try:
            with session_scope() as db:
                invitations.invite_to_transaction(
                    db,
                    user,
                    self._txn_id(),
                    role=INVITE_ROLE_FOR.get(role, ""),
                    person_id=person_id,
                    participant_role=role,
                    client=self._invite_client(),
                )
            with session_scope() as db:
                self._refresh(db, user)
        except ChronosError as exc:
            return rx.toast.error(exc.message)
        return rx.toast.success(f"Invitation sent to {name}.")

    @rx.event
    def open_invite(self) -> None:
        self.invite_open, self.invite_mode, self.invite_role = True, "contact", "client"
        self.contact_q, self.contact_results = "", []
        self.picked_person_id, self.picked_person_name = 0, ""
        self.invite_errors, self.invite_error = {}, ""

    @rx.event
    def set_invite_open(self, value: bool) -> None:
        if not self.invite_saving:
            self.invite_open = value

    @rx.event
    def set_invite_mode(self, value: str | list[str]) -> None:
        self.invite_mode = value if isinstance(value, str) else value[0]
        self.invite_errors, self.invite_error = {}, ""

    @rx.event
    def set_invite_role(self, value: str) -> None:
        self.invite_role = value

    @rx.event
    def send_invite(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        if self.invite_saving:
            return None
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        self.invite_saving = True
        try:
            with session_scope() as db:
                if self.invite_mode == "new":
                    sent = invitations.invite_to_transaction(
                        db,
                        user,
                        self._txn_id(),
                        role=self.invite_role,
                        email=str(form.get("email", "")),
                        name=str(form.get("name", "")),
                        client=self._invite_client(),
                    )
                else:
                    if not self.picked_person_id:
                        raise ValidationFailed({"contact": "Search for a contact and pick one."})
                    sent = invitations.invite_to_transaction(
                        db,
                        user,
                        self._txn_id(),
                        role=self.invite_role,
                        person_id=self.picked_person_id,
                        client=self._invite_client(),
                    )
                email = sent.invitation.email
            with session_scope() as db:
                self._refresh(db, user)
        except ValidationFailed as exc:
            self.invite_errors, self.invite_error = exc.errors, exc.message
            self.invite_saving = False
            return None
        except ChronosError as exc:
            self.invite_errors, self.invite_error = {}, exc.message
            self.invite_saving = False
            return None
        self.invite_saving, self.invite_open = False, False
        return rx.toast.success(f"Invitation sent to {email}.")

    def _invitation_action(self, action: Any, invitation_id: int, done: str):  # type: ignore[no-untyped-def]
        user = self._actor()
        if user is None:
            return rx.redirect(routes.SIGN_IN)
        try:
            with session_scope() as db:
                action(db, user, invitation_id, client=self._invite_client())
            with session_scope() as db:
                self._refresh(db, user)
        except ChronosError as exc:
            return rx.toast.error(exc.message)
        return rx.toast.success(done)

    @rx.event
    def resend_invitation(self, invitation_id: int):  # type: ignore[no-untyped-def]
        return self._invitation_action(invitations.resend, invitation_id, "Invitation sent again.")

    @rx.event
    def revoke_invitation(self, invitation_id: int):  # type: ignore[no-untyped-def]
        return self._invitation_action(invitations.revoke, invitation_id, "Invitation revoked.")


# ---------------------------------------------------------------- view

D = TransactionState.detail


def _fact(label: str, value: Any) -> rx.Component:
    return rx.box(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(rx.cond(value, value, "—"), size="3", weight="medium"),
    )


def _stage_control() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.text("Stage", weight="bold"),
            rx.flex(
                rx.select.root(
                    rx.select.trigger(placeholder="Move to…", aria_label="Move to stage"),
                    rx.select.content(
                        rx.foreach(
                            D.stage_options, lambda o: rx.select.item(o.label, value=o.value)
                        ),  # type: ignore[union-attr]
                    ),
                    value=TransactionState.stage_target,
                    on_change=TransactionState.set_stage_target,
                ),
                rx.button(
                    rx.cond(
                        TransactionState.stage_saving,
                        rx.spinner(size="1"),
                        rx.icon("arrow_right", size=16),
                    ),
                    "Move",
                    on_click=TransactionState.apply_stage,
                    disabled=(TransactionState.stage_target == "") | TransactionState.stage_saving,
                    id="apply-stage",
                ),
                spacing="2",
                wrap="wrap",
            ),
            rx.cond(
                TransactionState.stage_target == Stage.CANCELLED.value,
                rx.input(
                    placeholder="Why did it fall through? (required)",
                    value=TransactionState.stage_reason,
                    on_change=TransactionState.set_stage_reason,
                    aria_label="Cancellation reason",
                    width="100%",
                ),
            ),
            rx.cond(
                TransactionState.stage_error,
                rx.text(TransactionState.stage_error, color_scheme="red", size="2", role="alert"),
            ),
            direction="column",
            spacing="2",
        ),
        width="100%",
    )


def _summary_href(audience: str) -> Any:
    tid = D.id.to_string()  # type: ignore[union-attr]
    return api_url("/api/v1/transactions/") + tid + "/summary.pdf?audience=" + audience


def _summary_item(label: str, hint: str, audience: str) -> rx.Component:
    return rx.menu.item(
        rx.el.a(
            rx.flex(
                rx.text(label, size="2", weight="medium"),
                rx.text(hint, size="1", color_scheme="gray"),
                direction="column",
            ),
            href=_summary_href(audience),
            target="_blank",
            rel="noopener",
            # A PDF from the backend, not a page of the app: the browser opens it itself.
            custom_attrs={"reloadDocument": True},
        ),
        as_child=True,
        style={"height": "auto", "padding": "6px 10px"},
    )


def _summary_menu() -> rx.Component:
    """The file's one-page summary (``services/cover_sheet.py``): this team's version or the
    version to share with a client (no internal notes, tasks or documents)."""
    return action_menu(
        rx.button(
            rx.icon("file_text", size=16),
            "Summary PDF",
            rx.icon("chevron_down", size=14),
            variant="soft",
            color_scheme="gray",
        ),
        _summary_item("Team version", "Everything on this file you may see", "staff"),
        _summary_item("Client version", "Leaves out internal notes, tasks and documents", "client"),
    )


def _header() -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.link(
                rx.flex(rx.icon("arrow_left", size=14), "Pipeline", align="center", spacing="1"),
                href=routes.PIPELINE,
                size="2",
                color_scheme="gray",
            ),
            rx.heading(D.street, " ", D.unit, size="7", as_="h1"),  # type: ignore[union-attr]
            rx.text(D.address, color_scheme="gray"),  # type: ignore[union-attr]
            rx.flex(stage_badge(D.stage, D.stage_label), side_badge(D.side_label), spacing="2"),  # type: ignore[union-attr]
            direction="column",
            spacing="2",
        ),
        rx.flex(
            _summary_menu(),
            rx.button(
                rx.icon("pencil", size=16),
                "Edit details",
                variant="soft",
                on_click=TransactionState.open_edit,
            ),
            spacing="2",
            wrap="wrap",
        ),
        justify="between",
        align="start",
        wrap="wrap",
        spacing="3",
        width="100%",
    )


def _facts() -> rx.Component:
    return rx.card(
        rx.grid(
            _fact("Price", D.price),  # type: ignore[union-attr]
            _fact("Effective date", D.effective_label),  # type: ignore[union-attr]
            _fact("Closing date", D.closing_label),  # type: ignore[union-attr]
            _fact("Agent", D.owner_name),  # type: ignore[union-attr]
            _fact("Property", D.property_type_label),  # type: ignore[union-attr]
            _fact("MLS #", D.mls_number),  # type: ignore[union-attr]
            columns=rx.breakpoints(initial="2", sm="3"),
            spacing="4",
        ),
        rx.cond(
            D.cancel_reason,  # type: ignore[union-attr]
            rx.callout(
                "Fell through: " + D.cancel_reason,
                icon="circle_x",
                color_scheme="red",
                margin_top="12px",
            ),  # type: ignore[union-attr, operator]
        ),
        width="100%",
    )


def _key_date_row(k: KeyDateRow) -> rx.Component:
    return rx.flex(
        rx.box(
            rx.flex(
                rx.text(k.label, weight="medium"),
                rx.cond(k.overdue, rx.badge("Overdue", color_scheme="red", variant="soft")),
                rx.cond(k.due_soon, rx.badge("Due soon", color_scheme="amber", variant="soft")),
                rx.cond(
                    k.is_overridden,
                    rx.tooltip(
                        rx.badge("Overridden", color_scheme="violet", variant="soft"),
                        content="Rule gives " + k.computed_label + ". Reason: " + k.override_reason,
                    ),
                ),
                rx.cond(
                    ~k.shared_with_parties,
                    rx.badge("Staff only", color_scheme="gray", variant="outline"),
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.text(
                k.date_label,
                rx.cond(k.days_label, " · " + k.days_label, ""),
                size="2",
            ),
            rx.text(k.explanation, size="1", color_scheme="gray"),
        ),
        rx.flex(
            rx.tooltip(
                rx.icon_button(
                    rx.cond(
                        k.shared_with_parties, rx.icon("eye", size=14), rx.icon("eye_off", size=14)
                    ),
                    variant="ghost",
                    color_scheme="gray",
                    aria_label=rx.cond(
                        k.shared_with_parties,
                        "Hide " + k.label + " from clients, attorneys and lenders",
                        "Show " + k.label + " to clients, attorneys and lenders",
                    ),
                    on_click=TransactionState.toggle_shared(k.key, ~k.shared_with_parties),
                ),
                content=rx.cond(
                    k.shared_with_parties,
                    "Shown to clients, attorneys and lenders",
                    "Staff only",
                ),
            ),
            rx.icon_button(
                rx.icon("pencil", size=14),
                variant="ghost",
                color_scheme="gray",
                aria_label="Change " + k.label,
                on_click=TransactionState.open_override(k.key, k.label, k.date, k.is_overridden),
            ),
            rx.cond(
                k.date != "",
                add_date_link(ics_href(TransactionState.detail.id, k.key), k.label),  # type: ignore[union-attr]
            ),
            spacing="3",
            align="center",
        ),
        justify="between",
        align="start",
        spacing="3",
        padding_y="6px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


def _key_dates() -> rx.Component:
    picker = rx.flex(
        rx.text(
            "No key dates yet. Pick the contract's preset; dates are counted from the effective "
            "and closing dates, skipping US federal holidays.",
            color_scheme="gray",
            size="2",
        ),
        rx.flex(
            rx.select.root(
                rx.select.trigger(placeholder="Choose a preset…", aria_label="Key-date preset"),
                rx.select.content(
                    rx.foreach(
                        TransactionState.preset_choices,
                        lambda p: rx.select.item(p.name, value=p.key),
                    )
                ),
                value=TransactionState.preset_choice,
                on_change=TransactionState.set_preset_choice,
            ),
            rx.button(
                "Apply",
                on_click=TransactionState.apply_preset,
                disabled=TransactionState.preset_choice == "",
                id="apply-preset",
            ),
            spacing="2",
            wrap="wrap",
        ),
        direction="column",
        spacing="2",
    )
    return rx.card(
        rx.flex(
            rx.flex(
                rx.heading("Key dates", size="4", as_="h2"),
                rx.cond(
                    TransactionState.key_dates.length() > 0,
                    file_dates_link(ics_href(TransactionState.detail.id)),  # type: ignore[union-attr]
                ),
                justify="between",
                align="center",
                wrap="wrap",
                spacing="2",
            ),
            rx.cond(
                TransactionState.key_dates_error,
                rx.text(
                    TransactionState.key_dates_error, color_scheme="red", size="2", role="alert"
                ),
            ),
            rx.cond(
                TransactionState.key_dates.length() == 0,
                picker,
                rx.flex(rx.foreach(TransactionState.key_dates, _key_date_row), direction="column"),
            ),
            direction="column",
            spacing="3",
        ),
        width="100%",
    )


def _override_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Change ", TransactionState.override_label),
            rx.dialog.description(
                "The rule's date is kept; dates counted from this one follow the new date.",
                size="2",
                margin_bottom="12px",
            ),
            rx.form(
                rx.flex(
                    rx.cond(
                        TransactionState.override_error,
                        error_callout(TransactionState.override_error),
                    ),
                    field(
                        "Date",
                        rx.input(
                            name="date",
                            type="date",
                            default_value=TransactionState.override_date,
                            id="override-date",
                            width="100%",
                            required=True,
                        ),
                        TransactionState.override_errors.get("date", ""),
                    ),
                    field(
                        "Reason",
                        rx.input(
                            name="reason",
                            placeholder="e.g. both parties agreed in writing",
                            id="override-reason",
                            width="100%",
                            required=True,
                        ),
                        TransactionState.override_errors.get("reason", ""),
                    ),
                    rx.flex(
                        rx.cond(
                            TransactionState.override_is_set,
                            rx.button(
                                "Back to the rule's date",
                                variant="soft",
                                color_scheme="violet",
                                type="button",
                                on_click=TransactionState.clear_override,
                            ),
                        ),
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Save", type="submit"),
                        spacing="3",
                        justify="end",
                        wrap="wrap",
                    ),
                    direction="column",
                    spacing="3",
                ),
                on_submit=TransactionState.save_override,
                reset_on_submit=False,
            ),
            max_width="460px",
        ),
        open=TransactionState.override_open,
        on_open_change=TransactionState.set_override_open,
    )


def _participants() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.flex(
                rx.heading("People on this deal", size="4", as_="h2"),
                rx.flex(
                    rx.button(
                        rx.icon("mail_plus", size=16),
                        "Invite",
                        size="2",
                        variant="soft",
                        on_click=TransactionState.open_invite,
                        aria_label="Invite someone to the portal",
                    ),
                    rx.button(
                        rx.icon("user_plus", size=16),
                        "Add",
                        size="2",
                        variant="soft",
                        on_click=TransactionState.open_add,
                    ),
                    spacing="2",
                ),
                justify="between",
                align="center",
            ),
            rx.cond(
                D.participants.length() == 0,  # type: ignore[union-attr]
                rx.text(
                    "No one added yet. Add the client, lender, attorney, title…",
                    color_scheme="gray",
                    size="2",
                ),
                rx.flex(
                    rx.foreach(
                        D.participants,  # type: ignore[union-attr]
                        lambda p: rx.flex(
                            rx.box(
                                rx.flex(
                                    rx.cond(
                                        p.person_id > 0,
                                        rx.link(
                                            p.name,
                                            href="/people/" + p.person_id.to_string(),
                                            weight="medium",
                                        ),
                                        rx.text(p.name, weight="medium"),
                                    ),
                                    rx.badge(p.role_label, variant="soft", color_scheme="gray"),
                                    rx.cond(
                                        p.has_login,
                                        rx.tooltip(
                                            rx.icon(
                                                "key_round",
                                                size=14,
                                                aria_label="Has a portal login",
                                            ),
                                            content="Has a portal login",
                                        ),
                                    ),
                                    spacing="2",
                                    align="center",
                                    wrap="wrap",
                                ),
                                rx.text(p.email, " ", p.phone, size="1", color_scheme="gray"),
                            ),
                            rx.flex(
                                _invite_to_portal(p),
                                rx.alert_dialog.root(
                                    rx.alert_dialog.trigger(
                                        rx.icon_button(
                                            rx.icon("x", size=14),
                                            variant="ghost",
                                            color_scheme="gray",
                                            aria_label="Remove " + p.name,
                                        ),
                                    ),
                                    rx.alert_dialog.content(
                                        rx.alert_dialog.title("Remove from this deal?"),
                                        rx.alert_dialog.description(
                                            p.name
                                            + " ("
                                            + p.role_label
                                            + ") will no longer be on this transaction."
                                        ),
                                        rx.flex(
                                            rx.alert_dialog.cancel(
                                                rx.button(
                                                    "Keep", variant="soft", color_scheme="gray"
                                                )
                                            ),
                                            rx.alert_dialog.action(
                                                rx.button(
                                                    "Remove",
                                                    color_scheme="red",
                                                    on_click=TransactionState.remove_participant(
                                                        p.id
                                                    ),
                                                ),
                                            ),
                                            spacing="3",
                                            justify="end",
                                            margin_top="16px",
                                        ),
                                    ),
                                ),
                                spacing="2",
                                align="center",
                            ),
                            justify="between",
                            align="center",
                            padding_y="6px",
                            border_bottom=f"1px solid {rx.color('gray', 4)}",
                        ),
                    ),
                    direction="column",
                ),
            ),
            direction="column",
            spacing="3",
        ),
        width="100%",
    )


def _invite_to_portal(p: Any) -> rx.Component:
    """For a client, attorney or lender contact with an email and no login yet."""
    invitable = (
        (p.person_id > 0)
        & ~p.has_login
        & (p.email != "")
        & (
            (p.role == "buyer")
            | (p.role == "seller")
            | (p.role == "attorney")
            | (p.role == "lender")
        )
    )
    return rx.cond(
        invitable,
        rx.cond(
            TransactionState.invited_emails.contains(p.email),
            rx.badge("Invited", color_scheme="amber", variant="soft"),
            rx.button(
                rx.icon("send", size=14),
                rx.text("Invite to portal", display=["none", "inline"]),
                size="1",
                variant="soft",
                on_click=TransactionState.invite_participant(p.person_id, p.role, p.name),
                aria_label="Invite " + p.name + " to the portal",
            ),
        ),
    )


def _invitations() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.heading("Portal invitations", size="4", as_="h2"),
            rx.cond(
                TransactionState.invitations.length() == 0,
                rx.text(
                    "No invitations yet. Invite the client, attorney or lender to follow this "
                    "deal in their portal.",
                    color_scheme="gray",
                    size="2",
                ),
                rx.flex(
                    rx.foreach(
                        TransactionState.invitations,
                        lambda r: invitation_item(
                            r,
                            TransactionState.resend_invitation(r.id),
                            TransactionState.revoke_invitation(r.id),
                        ),
                    ),
                    direction="column",
                ),
            ),
            direction="column",
            spacing="3",
        ),
        width="100%",
        id="invitations-panel",
    )


def _contact_picker(error: Any, label: str) -> rx.Component:
    """Search the brokerage's contacts and pick one (the add and invite dialogs share it)."""
    ts = TransactionState
    return rx.flex(
        field(
            "Find a contact",
            rx.input(
                placeholder="Type a name, email or company",
                value=ts.contact_q,
                on_change=ts.search_contacts.debounce(250),  # type: ignore[attr-defined]
                width="100%",
                aria_label=label,
            ),
            error,
        ),
        rx.cond(
            ts.picked_person_id > 0,
            rx.callout(
                rx.text("Selected: ", rx.text.strong(ts.picked_person_name)),
                icon="check",
                color_scheme="green",
            ),
        ),
        rx.flex(
            rx.foreach(
                ts.contact_results,
                lambda r: rx.button(
                    rx.flex(
                        rx.text(r.name, weight="medium"),
                        rx.text(r.email, size="1", color_scheme="gray"),
                        direction="column",
                        align="start",
                    ),
                    variant="ghost",
                    type="button",
                    justify="start",
                    on_click=ts.pick_contact(r.id, r.name),
                    height="auto",
                    padding_y="6px",
                ),
            ),
            direction="column",
            spacing="1",
        ),
        direction="column",
        spacing="2",
    )


def _invite_dialog() -> rx.Component:
    ts = TransactionState
    contact = _contact_picker(ts.invite_errors.get("contact", ""), "Find a contact to invite")
    new_person = rx.grid(
        field(
            "Name",
            rx.input(name="name", id="invite-name", width="100%", required=True),
            ts.invite_errors.get("name", ""),
        ),
        field(
            "Email",
            rx.input(name="email", id="invite-email", type="email", width="100%", required=True),
            ts.invite_errors.get("email", ""),
        ),
        columns=rx.breakpoints(initial="1", sm="2"),
        spacing="3",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Invite to the portal"),
            rx.dialog.description(
                "They get an email with a link to set a password and follow this deal: key "
                "dates, progress and who is involved. The link expires in 14 days.",
                size="2",
                color_scheme="gray",
                margin_bottom="12px",
            ),
            rx.form(
                rx.flex(
                    rx.segmented_control.root(
                        rx.segmented_control.item("Existing contact", value="contact"),
                        rx.segmented_control.item("New person", value="new"),
                        value=ts.invite_mode,
                        on_change=ts.set_invite_mode,
                    ),
                    rx.cond(ts.invite_error, error_callout(ts.invite_error)),
                    rx.cond(ts.invite_mode == "new", new_person, contact),
                    field(
                        "Invite as",
                        rx.select.root(
                            rx.select.trigger(width="100%", aria_label="Invite as"),
                            rx.select.content(
                                *[rx.select.item(label, value=v) for v, label in INVITE_ROLES]
                            ),
                            value=ts.invite_role,
                            on_change=ts.set_invite_role,
                        ),
                        ts.invite_errors.get("role", ""),
                    ),
                    form_actions("Send invitation", ts.invite_saving),
                    direction="column",
                    spacing="4",
                ),
                on_submit=ts.send_invite,
                reset_on_submit=False,
            ),
            max_width="520px",
        ),
        open=ts.invite_open,
        on_open_change=ts.set_invite_open,
    )


def _edit_dialog() -> rx.Component:
    def inp(name: str, label: str, value: Any, **props: Any) -> rx.Component:
        return field(
            label,
            rx.input(name=name, default_value=value, id=f"edit-{name}", width="100%", **props),
            TransactionState.edit_errors.get(name, ""),
        )

    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Edit details"),
            rx.cond(
                TransactionState.detail,
                rx.form(
                    rx.flex(
                        rx.cond(
                            TransactionState.edit_error, error_callout(TransactionState.edit_error)
                        ),
                        inp("street", "Street address", D.street, required=True),  # type: ignore[union-attr]
                        rx.grid(
                            inp("unit", "Unit", D.unit),  # type: ignore[union-attr]
                            inp("city", "City", D.city),  # type: ignore[union-attr]
                            inp("state", "State", D.state, max_length=2),  # type: ignore[union-attr]
                            inp("postal_code", "ZIP", D.postal_code),  # type: ignore[union-attr]
                            columns="2",
                            spacing="3",
                        ),
                        rx.grid(
                            inp("price", "Price", D.price_input, input_mode="decimal"),  # type: ignore[union-attr]
                            field(
                                "Property type",
                                rx.select.root(
                                    rx.select.trigger(width="100%"),
                                    rx.select.content(
                                        *[
                                            rx.select.item(p.label, value=p.value)
                                            for p in PropertyType
                                        ]
                                    ),
                                    value=TransactionState.edit_property_type,
                                    on_change=TransactionState.set_edit_property_type,
                                ),
                            ),
                            inp("effective_date", "Effective date", D.effective_date, type="date"),  # type: ignore[union-attr]
                            inp("closing_date", "Closing date", D.closing_date, type="date"),  # type: ignore[union-attr]
                            inp("mls_number", "MLS #", D.mls_number),  # type: ignore[union-attr]
                            columns="2",
                            spacing="3",
                        ),
                        form_actions("Save"),
                        direction="column",
                        spacing="3",
                    ),
                    on_submit=TransactionState.save_details,
                    reset_on_submit=False,
                ),
            ),
            max_width="560px",
        ),
        open=TransactionState.edit_open,
        on_open_change=TransactionState.set_edit_open,
    )


def _add_dialog() -> rx.Component:
    role_select = rx.select.root(
        rx.select.trigger(width="100%", aria_label="Role on this deal"),
        rx.select.content(
            rx.cond(
                TransactionState.add_mode == "staff",
                rx.fragment(*[rx.select.item(r.label, value=r.value) for r in STAFF_ROLES_ON_DEAL]),
                rx.fragment(*[rx.select.item(r.label, value=r.value) for r in CONTACT_ROLES]),
            )
        ),
        value=TransactionState.add_role,
        on_change=TransactionState.set_add_role,
    )
    existing = _contact_picker(TransactionState.add_errors.get("contact", ""), "Find a contact")
    new_contact = rx.grid(
        field(
            "First name",
            rx.input(name="first_name", width="100%", required=True),
            TransactionState.add_errors.get("first_name", ""),
        ),
        field(
            "Last name",
            rx.input(name="last_name", width="100%"),
            TransactionState.add_errors.get("last_name", ""),
        ),
        field(
            "Email",
            rx.input(name="email", type="email", width="100%"),
            TransactionState.add_errors.get("email", ""),
        ),
        field(
            "Phone",
            rx.input(name="phone", type="tel", width="100%"),
            TransactionState.add_errors.get("phone", ""),
        ),
        field("Company", rx.input(name="company", width="100%"), ""),
        columns="2",
        spacing="3",
    )
    staff = field(
        "Staff member",
        rx.select.root(
            rx.select.trigger(placeholder="Choose…", width="100%"),
            rx.select.content(
                rx.foreach(
                    TransactionState.staff_options,
                    lambda s: rx.select.item(
                        s.name + " (" + s.role_label + ")", value=s.id.to_string()
                    ),
                )
            ),
            value=TransactionState.picked_user_id,
            on_change=TransactionState.set_picked_user,
        ),
        TransactionState.add_errors.get("user", ""),
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Add someone to this deal"),
            rx.form(
                rx.flex(
                    rx.segmented_control.root(
                        rx.segmented_control.item("Existing contact", value="contact"),
                        rx.segmented_control.item("New contact", value="new"),
                        rx.segmented_control.item("Staff", value="staff"),
                        value=TransactionState.add_mode,
                        on_change=TransactionState.set_add_mode,
                    ),
                    rx.cond(TransactionState.add_error, error_callout(TransactionState.add_error)),
                    rx.match(
                        TransactionState.add_mode, ("new", new_contact), ("staff", staff), existing
                    ),
                    field("Role", role_select),
                    once_input(TransactionState.participant_once_key),
                    form_actions("Add"),
                    direction="column",
                    spacing="3",
                ),
                on_submit=TransactionState.add_participant,
                reset_on_submit=False,
                custom_attrs=once_attrs(TransactionState.participant_once_key),
            ),
            max_width="520px",
        ),
        open=TransactionState.add_open,
        on_open_change=TransactionState.set_add_open,
    )


def _note_form() -> rx.Component:
    s = TransactionState
    return rx.flex(
        rx.form(
            rx.flex(
                rx.box(
                    select_field(
                        s.note_kind, s.set_note_kind, timeline.NOTE_KINDS, "Kind of entry"
                    ),
                    width="7.5rem",
                    flex_shrink="0",
                ),
                rx.input(
                    name="note",
                    placeholder="Called the lender: appraisal ordered…",
                    aria_label="Add to the timeline",
                    flex="1",
                    max_length=500,
                ),
                once_input(s.note_once_key),
                rx.button("Add", type="submit", variant="soft"),
                spacing="2",
                width="100%",
            ),
            on_submit=s.add_note,
            reset_on_submit=True,
            custom_attrs=once_attrs(s.note_once_key),
            width="100%",
        ),
        rx.cond(s.note_error, rx.text(s.note_error, color_scheme="red", size="1", role="alert")),
        direction="column",
        spacing="1",
        margin_bottom="8px",
    )


JUMPS = (
    ("Dates", "key-dates"),
    ("Tasks", "tasks"),
    ("Documents", "documents"),
    ("Required", "required-documents"),
    ("Signatures", "signatures"),
    ("Email", "compose"),
    ("Messages", "messages"),
    ("People", "people"),
    ("Timeline", "timeline"),
)


def _jump_nav() -> rx.Component:
    """Section links: the page is long on a phone, and every section is one tap away."""
    return rx.el.nav(
        rx.flex(
            *[
                rx.link(
                    label,
                    href=f"#{anchor}",
                    size="2",
                    underline="none",
                    padding="4px 10px",
                    border_radius="999px",
                    background=rx.color("gray", 3),
                    color=rx.color("gray", 12),
                    white_space="nowrap",
                )
                for label, anchor in JUMPS
            ],
            spacing="2",
            overflow_x="auto",
            padding_bottom="2px",
        ),
        aria_label="Sections of this transaction",
    )


def _anchor(anchor: str, child: rx.Component) -> rx.Component:
    return rx.box(child, id=anchor, width="100%")


def _body() -> rx.Component:
    return rx.flex(
        _header(),
        _jump_nav(),
        rx.grid(
            rx.flex(
                _stage_control(),
                _facts(),
                _anchor("key-dates", _key_dates()),
                tasks_panel(),
                documents_panel(),
                compliance_panel(),
                signatures_panel(),
                forms_panel(),
                _anchor("loan-conditions", lender_panel()),
                compose_panel(),
                messages_panel(),
                _anchor("people", _participants()),
                _invitations(),
                direction="column",
                spacing="4",
            ),
            rx.flex(
                rx.card(
                    rx.flex(
                        rx.heading("Timeline", size="4", as_="h2", id="timeline"),
                        rx.spacer(),
                        rx.box(
                            select_field(
                                TransactionState.timeline_show,
                                TransactionState.set_timeline_show,
                                timeline.FILTER_LABELS,
                                "Show on the timeline",
                            ),
                            width="11rem",
                        ),
                        align="center",
                        margin_bottom="8px",
                    ),
                    _note_form(),
                    timeline_list(
                        TransactionState.events,
                        TransactionState.has_more_events,
                        TransactionState.more_events,
                    ),
                ),
                direction="column",
                spacing="4",
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
        _edit_dialog(),
        _add_dialog(),
        _invite_dialog(),
        _override_dialog(),
        direction="column",
        spacing="4",
    )


@page(
    "/transactions/[txn_id]",
    "Transaction",
    on_load=TransactionState.load_page,
)
def transaction_page() -> rx.Component:
    return app_shell(
        rx.cond(
            TransactionState.not_found,
            empty_state(
                "file_question",
                "Transaction not found",
                "It does not exist, or it is not one of yours.",
                rx.link(rx.button("Back to pipeline"), href=routes.PIPELINE),
            ),
            rx.cond(
                TransactionState.error,
                error_callout(TransactionState.error),
                rx.cond(
                    TransactionState.detail & ~TransactionState.loading,
                    _body(),
                    loading_block("Loading transaction…"),
                ),
            ),
        ),
        active="pipeline",
        user_name=TransactionState.user_name,
        role_label=TransactionState.role_label,
        is_staff=TransactionState.is_staff,
        signed_in=TransactionState.signed_in,
    )
