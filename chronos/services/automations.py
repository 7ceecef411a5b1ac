"""Automations: when something happens on a file (trigger), if the file fits (conditions),
do things (actions). Admins build rules in a form; nothing here runs user code.

Firing and running are separate. ``fire`` (called in the unit of work of the change that
triggered it, or by the date scan) records one ``AutomationRun`` per rule, file and
occurrence; a unique key makes that happen once however many workers see the occurrence.
``run_pending`` (a job, every minute) claims pending runs, performs their actions in a unit
of work of their own, and records the outcome on the file's timeline. A failing run is
retried with backoff and ends ``failed``, visible to admins with its error, never dropped.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chronos import mail, routes
from chronos.db import insert_ignoring_duplicates, session_scope
from chronos.models import (
    AutomationRule,
    AutomationRun,
    ChecklistTemplate,
    KeyDate,
    Organization,
    Participant,
    ParticipantRole,
    Person,
    Role,
    Stage,
    Transaction,
    User,
    utcnow,
)
from chronos.services import access, notifications, tasks, timeline
from chronos.services.checklist_templates import SIDE_LABELS, TYPE_LABELS, due_key_labels
from chronos.services.errors import NotFound, ValidationFailed
from chronos.services.pagination import Page, clamp_page
from chronos.services.validation import Collector, clean_text, required_text

log = logging.getLogger(__name__)
ADMINS_ONLY = "Only an admin can edit automations."

TRIGGERS = {
    "stage_changed": "A file moves to a stage",
    "key_date_approaching": "A key date is coming up",
    "key_date_passed": "A key date has passed",
    "task_completed": "A task is completed",
}
ACTIONS = {
    "create_tasks": "Add the tasks of a checklist",
    "notify": "Notify people on the file (in the app)",
    "email": "Email people on the file",
}
RECIPIENTS = {
    "owner": "The file's agent",
    "staff": "The agent and staff on the file",
    "buyer": "Buyer(s)",
    "seller": "Seller(s)",
    "clients": "Our clients (the side we represent)",
    "lender": "Lender",
    "attorney": "Attorney",
}
MERGE_FIELDS = {
    "address": "the property address",
    "stage": "the file's stage",
    "closing_date": "the closing date",
    "effective_date": "the effective date",
    "agent_name": "the agent's name",
    "recipient_name": "the recipient's first name",
    "key_date": "the key date's label (date triggers)",
    "key_date_day": "the key date (date triggers)",
    "task_title": "the completed task (task trigger)",
}
MAX_ATTEMPTS = 5
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
PASSED_LOOKBACK_DAYS = 3


# ---------------------------------------------------------------------------------------------
# Rules


def _admin(actor: User) -> User:
    return access.require_role(actor, (Role.ADMIN,), ADMINS_ONLY)


def _fields_in(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {"{"}


def _check_text(check: Collector, key: str, text: str) -> None:
    unknown = sorted(f or "{}" for f in _fields_in(text) if f not in MERGE_FIELDS)
    if unknown:
        check.add(
            key,
            "Unknown merge field "
            + ", ".join("{" + f + "}" for f in unknown)
            + ". Use: "
            + ", ".join("{" + f + "}" for f in MERGE_FIELDS)
            + ".",
        )


def _clean_rule(db: Session, actor: User, data: dict[str, Any]) -> dict[str, Any]:
    check = Collector()
    name = check.field("name", required_text, data.get("name"), 200, "Name")
    trigger = str(data.get("trigger") or "")
    if trigger not in TRIGGERS:
        check.add("trigger", "Choose what starts the automation.")
    raw = dict(data.get("trigger_config") or {})
    config: dict[str, Any] = {}
    if trigger == "stage_changed":
        stage = str(raw.get("stage") or "")
        if stage not in {s.value for s in Stage}:
            check.add("trigger_config.stage", "Choose a stage.")
        config = {"stage": stage}
    elif trigger in ("key_date_approaching", "key_date_passed"):
        key = str(raw.get("key") or "")
        if key not in due_key_labels():
            check.add("trigger_config.key", "Choose a key date.")
        config = {"key": key}
        if trigger == "key_date_approaching":
            try:
                days = int(str(raw.get("days") or "").strip())
                if not 0 <= days <= 60:
                    raise ValueError
            except ValueError:
                check.add("trigger_config.days", "Days before: a whole number from 0 to 60.")
                days = 0
            config["days"] = days
    elif trigger == "task_completed":
        config = {"title_contains": clean_text(raw.get("title_contains"), 200)}
    cond = dict(data.get("conditions") or {})
    side = str(cond.get("side") or "any")
    ptype = str(cond.get("property_type") or "any")
    if side not in SIDE_LABELS:
        check.add("conditions.side", "Choose a side.")
    if ptype not in TYPE_LABELS:
        check.add("conditions.property_type", "Choose a property type.")
    actions: list[dict[str, Any]] = []
    raw_actions = list(data.get("actions") or [])
    if not raw_actions:
        check.add("actions", "Add at least one action.")
    for n, raw_action in enumerate(raw_actions[:10]):
        a = dict(raw_action) if isinstance(raw_action, dict) else {}
        kind = str(a.get("type") or "")
        if kind == "create_tasks":
            try:
                tpl_id = int(a.get("template_id") or 0)
            except (TypeError, ValueError):
                tpl_id = 0
            tpl = db.get(ChecklistTemplate, tpl_id) if tpl_id else None
            if tpl is None or tpl.org_id != actor.org_id:
                check.add(f"actions.{n}.template_id", "Choose a checklist.")
            actions.append({"type": kind, "template_id": tpl_id})
        elif kind in ("notify", "email"):
            to = str(a.get("to") or "")
            if to not in RECIPIENTS:
                check.add(f"actions.{n}.to", "Choose who it goes to.")
            message = clean_text(a.get("message"), 1000)
            if not message:
                check.add(f"actions.{n}.message", "Write the message.")
            _check_text(check, f"actions.{n}.message", message)
            action = {"type": kind, "to": to, "message": message}
            if kind == "email":
                subject = clean_text(a.get("subject"), 200)
                if not subject:
                    check.add(f"actions.{n}.subject", "Write a subject.")
                _check_text(check, f"actions.{n}.subject", subject)
                action["subject"] = subject
            actions.append(action)
        else:
            check.add(f"actions.{n}.type", "Choose an action.")
    check.raise_if_any()
    return {
        "name": name,
        "trigger": trigger,
        "trigger_config": config,
        "conditions": {"side": side, "property_type": ptype},
        "actions": actions,
        "is_active": bool(data.get("is_active", True)),
    }


def _get_rule(db: Session, actor: User, rule_id: int) -> AutomationRule:
    _admin(actor)
    rule = db.get(AutomationRule, rule_id)
    if rule is None or rule.org_id != actor.org_id:
        raise NotFound("Automation not found.")
    return rule


def list_rules(db: Session, actor: User) -> list[AutomationRule]:
    _admin(actor)
    return list(
        db.exec(
            select(AutomationRule)
            .where(AutomationRule.org_id == actor.org_id)
            .order_by(col(AutomationRule.name), col(AutomationRule.id))
        ).all()
    )


def get_rule(db: Session, actor: User, rule_id: int) -> AutomationRule:
    return _get_rule(db, actor, rule_id)


def create_rule(db: Session, actor: User, data: dict[str, Any]) -> AutomationRule:
    _admin(actor)
    rule = AutomationRule(
        org_id=actor.org_id, created_by_id=actor.id, **_clean_rule(db, actor, data)
    )
    db.add(rule)
    db.flush()
    return rule


def update_rule(db: Session, actor: User, rule_id: int, data: dict[str, Any]) -> AutomationRule:
    rule = _get_rule(db, actor, rule_id)
    for name, value in _clean_rule(db, actor, data).items():
        setattr(rule, name, value)
    rule.updated_at = utcnow()
    db.add(rule)
    db.flush()
    return rule


def delete_rule(db: Session, actor: User, rule_id: int) -> None:
    db.delete(_get_rule(db, actor, rule_id))
    db.flush()


def describe(rule: AutomationRule, template_names: dict[int, str] | None = None) -> str:
    """The rule in one sentence, for lists and the timeline."""
    cfg = rule.trigger_config
    labels = due_key_labels()
    when = {
        "stage_changed": f"When a file moves to {Stage(cfg['stage']).label}"
        if cfg.get("stage") in {s.value for s in Stage}
        else "When a file changes stage",
        "key_date_approaching": f"{cfg.get('days', 0)} days before {labels.get(cfg.get('key', ''), cfg.get('key', ''))}",
        "key_date_passed": f"When {labels.get(cfg.get('key', ''), cfg.get('key', ''))} has passed",
        "task_completed": "When a task is completed"
        + (f" (title contains “{cfg['title_contains']}”)" if cfg.get("title_contains") else ""),
    }.get(rule.trigger, rule.trigger)
    names = template_names or {}
    parts = []
    for a in rule.actions:
        if a["type"] == "create_tasks":
            parts.append(f"add the “{names.get(a['template_id'], 'checklist')}” tasks")
        elif a["type"] == "notify":
            parts.append(f"notify {RECIPIENTS.get(a['to'], a['to']).lower()}")
        elif a["type"] == "email":
            parts.append(f"email {RECIPIENTS.get(a['to'], a['to']).lower()}")
    return f"{when}: " + ", ".join(parts) + "."


# ---------------------------------------------------------------------------------------------
# Firing


def _fits(rule: AutomationRule, txn: Transaction) -> bool:
    side = rule.conditions.get("side", "any")
    ptype = rule.conditions.get("property_type", "any")
    return side in ("any", txn.side) and ptype in ("any", txn.property_type)


def fire(
    db: Session,
    txn: Transaction,
    trigger: str,
    occurrence: str,
    *,
    match: Callable[[dict[str, Any]], bool] | None = None,
    only: AutomationRule | None = None,
) -> int:
    """Record a pending run for every active rule of the file's brokerage that this trigger
    starts and the file fits. Idempotent per (rule, file, occurrence). Returns new runs."""
    rules = (
        [only]
        if only is not None
        else db.exec(
            select(AutomationRule).where(
                AutomationRule.org_id == txn.org_id,
                AutomationRule.trigger == trigger,
                col(AutomationRule.is_active).is_(True),
            )
        ).all()
    )
    made = 0
    for rule in rules:
        if not _fits(rule, txn) or (match is not None and not match(rule.trigger_config)):
            continue
        exists = db.exec(
            select(AutomationRun.id).where(
                AutomationRun.rule_id == rule.id,
                AutomationRun.transaction_id == txn.id,
                AutomationRun.occurrence == occurrence,
            )
        ).first()
        if exists is not None:
            continue
        now = utcnow()
        made += insert_ignoring_duplicates(
            db,
            AutomationRun.__table__,  # type: ignore[attr-defined]
            [
                {
                    "org_id": txn.org_id,
                    "rule_id": rule.id or 0,
                    "transaction_id": txn.id or 0,
                    "occurrence": occurrence[:120],
                    "status": "pending",
                    "attempts": 0,
                    "last_error": "",
                    "result": "",
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "finished_at": None,
                }
            ],
            ["rule_id", "transaction_id", "occurrence"],
        )
    return made


def on_stage_changed(db: Session, txn: Transaction, stage: str) -> int:
    # Each arrival at a stage is its own occurrence (back and forth fires again).
    occurrence = f"stage:{stage}:{txn.stage_changed_at.isoformat()}"
    return fire(db, txn, "stage_changed", occurrence, match=lambda c: c.get("stage") == stage)


def on_task_completed(db: Session, txn: Transaction, task_id: int, title: str) -> int:
    def match(cfg: dict[str, Any]) -> bool:
        needle = str(cfg.get("title_contains") or "").lower()
        return not needle or needle in title.lower()

    return fire(db, txn, "task_completed", f"task:{task_id}", match=match)


def scan_dates(db: Session, now: datetime | None = None) -> int:
    """Fire the date triggers: key dates exactly N days ahead, and key dates just passed."""
    now = now or utcnow()
    made = 0
    rules = db.exec(
        select(AutomationRule).where(
            col(AutomationRule.trigger).in_(["key_date_approaching", "key_date_passed"]),
            col(AutomationRule.is_active).is_(True),
        )
    ).all()
    orgs = {o.id: o for o in db.exec(select(Organization)).all()}
    day = func.coalesce(col(KeyDate.override_date), col(KeyDate.computed_date))
    for rule in rules:
        org = orgs.get(rule.org_id)
        today = now.astimezone(ZoneInfo(org.timezone if org else "America/New_York")).date()
        key = rule.trigger_config.get("key", "")
        if rule.trigger == "key_date_approaching":
            target = today + timedelta(days=int(rule.trigger_config.get("days", 0)))
            window: Any = day == target
        else:
            window = (day < today) & (day >= today - timedelta(days=PASSED_LOOKBACK_DAYS))
        rows = db.exec(
            select(KeyDate, Transaction)
            .join(Transaction, col(Transaction.id) == KeyDate.transaction_id)
            .where(
                KeyDate.org_id == rule.org_id,
                KeyDate.key == key,
                window,
                col(Transaction.stage).not_in([Stage.CLOSED.value, Stage.CANCELLED.value]),
            )
        ).all()
        for kd, txn in rows:
            assert kd.day is not None
            occurrence = f"{rule.trigger}:{kd.key}:{kd.day.isoformat()}"
            made += fire(db, txn, rule.trigger, occurrence, only=rule)
    return made


# ---------------------------------------------------------------------------------------------
# Running


@dataclass
class RunOutcome:
    done: int = 0
    retried: int = 0
    failed: int = 0


class ActionFailed(Exception):
    pass


def _recipients(db: Session, txn: Transaction, to: str) -> list[tuple[str, str, User | None]]:
    """(name, email, login or None) of the people an action addresses."""
    out: list[tuple[str, str, User | None]] = []
    owner = db.get(User, txn.owner_id)
    if to in ("owner", "staff") and owner is not None:
        out.append((owner.full_name, owner.email, owner))
    roles = {
        "buyer": {ParticipantRole.BUYER.value},
        "seller": {ParticipantRole.SELLER.value},
        # Our clients: the buyers on a buyer-side file, the sellers on a listing, both on dual.
        "clients": {
            "buyer": {ParticipantRole.BUYER.value},
            "seller": {ParticipantRole.SELLER.value},
        }.get(txn.side, {ParticipantRole.BUYER.value, ParticipantRole.SELLER.value}),
        "lender": {ParticipantRole.LENDER.value},
        "attorney": {ParticipantRole.ATTORNEY.value},
        "staff": {ParticipantRole.COORDINATOR.value, ParticipantRole.CO_AGENT.value},
    }.get(to, set())
    if roles:
        rows = db.exec(
            select(Participant, Person, User)
            .join(Person, col(Person.id) == Participant.person_id, isouter=True)
            .join(User, col(User.id) == Participant.user_id, isouter=True)
            .where(Participant.transaction_id == txn.id, col(Participant.role).in_(roles))
            .order_by(col(Participant.id))
        ).all()
        for _, person, user in rows:
            login = user if user is not None and user.is_active else None
            name = person.full_name if person else (user.full_name if user else "")
            email = (person.email if person else "") or (user.email if user else "")
            if login is not None and owner is not None and login.id == owner.id:
                continue
            out.append((name, email or "", login))
    return out


class _Merge(dict[str, str]):
    def __missing__(self, key: str) -> str:  # rules are validated; stay safe for old ones
        raise ActionFailed(f"Unknown merge field {{{key}}}")


def _merge(txn: Transaction, owner: User | None, extra: dict[str, str], name: str) -> _Merge:
    def fmt(d: date | None) -> str:
        return f"{d:%a} {d.day} {d:%b %Y}" if d else "not set yet"

    return _Merge(
        address=txn.address,
        stage=Stage(txn.stage).label,
        closing_date=fmt(txn.closing_date),
        effective_date=fmt(txn.effective_date),
        agent_name=owner.full_name if owner else "",
        recipient_name=(name.split(" ")[0] if name else "there"),
        key_date=extra.get("key_date", ""),
        key_date_day=extra.get("key_date_day", ""),
        task_title=extra.get("task_title", ""),
    )


def _context(db: Session, run: AutomationRun) -> dict[str, str]:
    parts = run.occurrence.split(":")
    if parts[0] in ("key_date_approaching", "key_date_passed") and len(parts) >= 3:
        label = due_key_labels().get(parts[1], parts[1])
        try:
            d = date.fromisoformat(parts[2])
            return {"key_date": label, "key_date_day": f"{d:%a} {d.day} {d:%b %Y}"}
        except ValueError:
            return {"key_date": label}
    if parts[0] == "task" and len(parts) == 2 and parts[1].isdigit():
        from chronos.models import Task

        task = db.get(Task, int(parts[1]))
        return {"task_title": task.title if task else ""}
    return {}


def _perform(db: Session, run: AutomationRun, rule: AutomationRule, txn: Transaction) -> str:
    owner = db.get(User, txn.owner_id)
    extra = _context(db, run)
    done: list[str] = []
    for n, action in enumerate(rule.actions):
        kind = action.get("type")
        if kind == "create_tasks":
            tpl = db.get(ChecklistTemplate, int(action.get("template_id") or 0))
            if tpl is None or tpl.org_id != txn.org_id:
                raise ActionFailed("Its checklist no longer exists.")
            added = tasks.apply_template(db, None, txn, tpl)
            done.append(f"{added} task{'s' if added != 1 else ''} added")
        elif kind in ("notify", "email"):
            people = _recipients(db, txn, str(action.get("to")))
            if not people:
                raise ActionFailed(
                    f"Nobody on the file is {RECIPIENTS.get(action.get('to', ''), '?').lower()}."
                )
            count = 0
            for name, email, user in people:
                merge = _merge(txn, owner, extra, name)
                message = str(action.get("message", "")).format_map(merge)
                if kind == "notify":
                    if user is None:
                        continue
                    notifications.notify(
                        db,
                        user_id=user.id or 0,
                        org_id=txn.org_id,
                        kind="automation",
                        title=message[:200],
                        body=f"{rule.name} · {txn.address}",
                        link=routes.transaction(txn.id or 0)
                        if user.is_staff
                        else routes.portal_transaction(txn.id or 0),
                        transaction_id=txn.id,
                        dedupe_key=f"automation:{run.id}:{n}",
                    )
                    count += 1
                else:
                    if not email:
                        continue
                    mail.queue_email(
                        db,
                        to=email,
                        template="automation_message",
                        context={
                            "subject": str(action.get("subject", "")).format_map(merge),
                            "message": message,
                            "address": txn.address,
                            "agent_name": owner.full_name if owner else "",
                        },
                        org_id=txn.org_id,
                        user_id=user.id if user else None,
                        transaction_id=txn.id,
                    )
                    count += 1
            if count == 0:
                raise ActionFailed(
                    "Nobody to reach: no login to notify"
                    if kind == "notify"
                    else "Nobody to reach: no email address"
                )
            verb = "notified" if kind == "notify" else "emailed"
            done.append(f"{count} {verb}")
    return "; ".join(done)


def run_pending(
    engine: Engine | None = None, now: datetime | None = None, limit: int = 50
) -> RunOutcome:
    """Claim and perform due runs, each in its own unit of work. Safe with several workers:
    a run is claimed by an UPDATE that only one of them can win."""
    now = now or utcnow()
    outcome = RunOutcome()
    with session_scope(engine) as db:
        due = db.exec(
            select(AutomationRun.id)
            .where(AutomationRun.status == "pending", col(AutomationRun.next_attempt_at) <= now)
            .order_by(col(AutomationRun.next_attempt_at), col(AutomationRun.id))
            .limit(limit)
        ).all()
    for run_id in due:
        with session_scope(engine) as db:
            claimed: Any = db.execute(
                update(AutomationRun)  # type: ignore[call-overload]
                .where(col(AutomationRun.id) == run_id, col(AutomationRun.status) == "pending")
                .values(status="running", attempts=AutomationRun.attempts + 1, updated_at=now)
            )
            if not claimed.rowcount:
                continue
        _run_one(engine, run_id or 0, now, outcome)
    return outcome


def _run_one(engine: Engine | None, run_id: int, now: datetime, outcome: RunOutcome) -> None:
    try:
        with session_scope(engine) as db:
            run = db.get(AutomationRun, run_id)
            assert run is not None
            rule = db.get(AutomationRule, run.rule_id)
            txn = db.get(Transaction, run.transaction_id)
            if rule is None or txn is None:
                raise ActionFailed("The rule or the file was deleted.")
            result = _perform(db, run, rule, txn)
            run.status, run.result, run.last_error = "done", result[:1000], ""
            run.finished_at = run.updated_at = now
            db.add(run)
            timeline.record(
                db,
                actor=None,
                txn=txn,
                kind="automation_ran",
                summary=f"Automation “{rule.name}”: {result}",
                data={"rule_id": rule.id, "run_id": run.id},
            )
        outcome.done += 1
    except Exception as exc:
        message = str(exc) if isinstance(exc, ActionFailed) else f"{type(exc).__name__}: {exc}"
        log.warning("automation run %s failed: %s", run_id, message)
        with session_scope(engine) as db:
            run = db.get(AutomationRun, run_id)
            if run is None:
                return
            run.last_error = message[:1000]
            run.updated_at = now
            final = isinstance(exc, ActionFailed) or run.attempts >= MAX_ATTEMPTS
            if final:
                run.status, run.finished_at = "failed", now
                outcome.failed += 1
                txn = db.get(Transaction, run.transaction_id)
                rule = db.get(AutomationRule, run.rule_id)
                if txn is not None:
                    timeline.record(
                        db,
                        actor=None,
                        txn=txn,
                        kind="automation_failed",
                        summary=f"Automation “{rule.name if rule else run.rule_id}” failed: {message}",
                        data={"rule_id": run.rule_id, "run_id": run.id},
                    )
            else:
                run.status = "pending"
                run.next_attempt_at = now + BACKOFF[min(run.attempts - 1, len(BACKOFF) - 1)]
                outcome.retried += 1
            db.add(run)


@dataclass
class RunRow:
    id: int
    rule_name: str
    address: str
    transaction_id: int
    occurrence: str
    status: str
    attempts: int
    result: str
    last_error: str
    created_at: str


def list_runs(
    db: Session, actor: User, *, status: str = "", page: int = 1, page_size: int = 20
) -> Page[RunRow]:
    _admin(actor)
    where: list[Any] = [AutomationRun.org_id == actor.org_id]
    if status:
        where.append(AutomationRun.status == status)
    total = db.exec(select(func.count()).select_from(AutomationRun).where(*where)).one()
    page, page_size = clamp_page(page, page_size)
    rows = db.exec(
        select(AutomationRun, AutomationRule, Transaction)
        .join(AutomationRule, col(AutomationRule.id) == AutomationRun.rule_id)
        .join(Transaction, col(Transaction.id) == AutomationRun.transaction_id)
        .where(*where)
        .order_by(col(AutomationRun.created_at).desc(), col(AutomationRun.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    items = [
        RunRow(
            id=run.id or 0,
            rule_name=rule.name,
            address=txn.address,
            transaction_id=txn.id or 0,
            occurrence=run.occurrence,
            status=run.status,
            attempts=run.attempts,
            result=run.result,
            last_error=run.last_error,
            created_at=run.created_at.isoformat(),
        )
        for run, rule, txn in rows
    ]
    return Page(items=items, total=int(total), page=page, page_size=page_size)


def retry_run(db: Session, actor: User, run_id: int) -> AutomationRun:
    _admin(actor)
    run = db.get(AutomationRun, run_id)
    if run is None or run.org_id != actor.org_id:
        raise NotFound("Automation run not found.")
    if run.status != "failed":
        raise ValidationFailed({"run": "Only a failed run can be retried."})
    run.status, run.attempts, run.next_attempt_at = "pending", 0, utcnow()
    run.finished_at = None
    db.add(run)
    db.flush()
    return run
