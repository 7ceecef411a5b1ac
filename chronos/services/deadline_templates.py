"""Deadline templates: a brokerage's own copies of the contract presets, edited by admins.

An admin copies a built-in preset (or one of their templates) and edits it: names, which
date each deadline counts from, how many days, calendar or business days, what a weekend or
holiday does, the cutoff time. Nothing is saved unless the engine can compute the whole set
(no cycles, no missing anchors): the check runs on sample dates. Templates are offered next
to the presets when key dates are applied to a file (``tpl:<id>``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from chronos.deadlines import (
    PRESETS,
    US_FEDERAL,
    AnchorKind,
    DayType,
    DeadlineRuleError,
    Direction,
    KeyDateRule,
    TransactionAnchors,
    WeekendRule,
    compute_schedule,
)
from chronos.models import DeadlineTemplate, Role, User, utcnow
from chronos.services import access
from chronos.services.errors import NotFound, ValidationFailed
from chronos.services.validation import Collector, clean_text

ADMINS_ONLY = "Only an admin can edit deadline templates."
PREFIX = "tpl:"
MAX_RULES = 40
SAMPLE = TransactionAnchors(effective_date=date(2026, 1, 5), closing_date=date(2026, 2, 16))
ANCHOR_LABELS = {"effective_date": "The effective date", "closing_date": "The closing date"}
DIRECTION_LABELS = {"after": "after", "before": "before"}
DAY_TYPE_LABELS = {"calendar": "calendar days", "business": "business days"}
WEEKEND_LABELS = {
    "next_business_day": "Next business day",
    "previous_business_day": "Previous business day",
    "none": "Stays put",
}


@dataclass
class RuleForm:
    """One editable row: every field as text, as a form round-trips it."""

    key: str
    label: str
    anchor: str  # "effective_date" | "closing_date" | "key:<key>"
    offset_days: str
    direction: str
    day_type: str
    weekend_rule: str
    cutoff: str  # "HH:MM" or ""


@dataclass
class TemplateRow:
    id: int
    name: str
    state: str
    based_on: str
    rule_count: int


def _admin(actor: User) -> User:
    return access.require_role(actor, (Role.ADMIN,), ADMINS_ONLY)


def _get(db: Session, actor: User, template_id: int) -> DeadlineTemplate:
    _admin(actor)
    tpl = db.get(DeadlineTemplate, template_id)
    if tpl is None or tpl.org_id != actor.org_id:
        raise NotFound("Deadline template not found.")
    return tpl


def org_templates(db: Session, org_id: int) -> list[DeadlineTemplate]:
    return list(
        db.exec(
            select(DeadlineTemplate)
            .where(DeadlineTemplate.org_id == org_id)
            .order_by(col(DeadlineTemplate.name), col(DeadlineTemplate.id))
        ).all()
    )


def list_templates(db: Session, actor: User) -> list[TemplateRow]:
    _admin(actor)
    return [
        TemplateRow(t.id or 0, t.name, t.state, t.based_on, len(t.rules))
        for t in org_templates(db, actor.org_id)
    ]


def template_rules(tpl: DeadlineTemplate) -> list[KeyDateRule]:
    from chronos.services.key_dates import rule_from_json

    return [rule_from_json(r["key"], r["label"], r) for r in tpl.rules]


def _rules_json(rules: list[KeyDateRule]) -> list[dict[str, Any]]:
    from chronos.services.key_dates import rule_to_json

    return [{"key": r.key, "label": r.label, **rule_to_json(r)} for r in rules]


def copy_preset(db: Session, actor: User, source: str) -> DeadlineTemplate:
    """A new template from a built-in preset (its key) or from one of the brokerage's own."""
    _admin(actor)
    if source.startswith(PREFIX):
        original = _get(db, actor, int(source.removeprefix(PREFIX) or 0))
        name, state, rules, based_on = (
            original.name,
            original.state,
            list(original.rules),
            original.based_on,
        )
    else:
        preset = PRESETS.get(source)
        if preset is None:
            raise NotFound("Preset not found.")
        name, state, rules, based_on = (
            preset.name,
            preset.state or "",
            _rules_json(list(preset.rules)),
            preset.key,
        )
    tpl = DeadlineTemplate(
        org_id=actor.org_id,
        name=f"{name} (our copy)"[:200],
        state=state,
        based_on=based_on,
        rules=[dict(r) for r in rules],
    )
    db.add(tpl)
    db.flush()
    return tpl


def get_form(db: Session, actor: User, template_id: int) -> tuple[DeadlineTemplate, list[RuleForm]]:
    tpl = _get(db, actor, template_id)
    rows = []
    for r in tpl.rules:
        if r.get("kind") != "computed":
            continue  # templates hold computed rules only (entered dates belong to one file)
        anchor = r.get("anchor", "effective_date")
        rows.append(
            RuleForm(
                key=r["key"],
                label=r["label"],
                anchor=f"key:{r.get('anchor_key')}"
                if anchor == AnchorKind.KEY_DATE.value
                else anchor,
                offset_days=str(r.get("offset_days", 0)),
                direction=r.get("direction", "after"),
                day_type=r.get("day_type", "calendar"),
                weekend_rule=r.get("weekend_rule", "none"),
                cutoff=r.get("cutoff") or "",
            )
        )
    return tpl, rows


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:50] or "date"


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    check = Collector()
    errors = check.errors
    name = check.field("name", clean_text, data.get("name"), 200) or ""
    if not name:
        errors.setdefault("name", "Name is required.")
    state = (check.field("state", clean_text, data.get("state"), 2) or "").upper()
    if state and not re.fullmatch(r"[A-Z]{2}", state):
        errors["state"] = "A two-letter state, or blank."
    raw_rules = list(data.get("rules") or [])
    if not raw_rules:
        errors["rules"] = "Add at least one key date."
    if len(raw_rules) > MAX_RULES:
        errors["rules"] = f"At most {MAX_RULES} key dates."
    rows: list[dict[str, Any]] = []
    keys: set[str] = set()
    for n, raw in enumerate(raw_rules[:MAX_RULES]):
        r = dict(raw) if isinstance(raw, dict) else {}
        label = check.field(f"rules.{n}.label", clean_text, r.get("label"), 200) or ""
        if not label:
            errors.setdefault(f"rules.{n}.label", "Name the key date.")
        key = check.field(f"rules.{n}.key", clean_text, r.get("key"), 60) or _slug(label)
        if key in keys:
            errors[f"rules.{n}.label"] = "Two key dates have the same name."
        keys.add(key)
        anchor = str(r.get("anchor") or "")
        anchor_key: str | None = None
        if anchor.startswith("key:"):
            anchor_key, anchor = anchor.removeprefix("key:"), AnchorKind.KEY_DATE.value
        elif anchor not in ANCHOR_LABELS:
            errors[f"rules.{n}.anchor"] = "Choose what it counts from."
        try:
            offset = int(str(r.get("offset_days") or "0").strip())
            if not 0 <= offset <= 365:
                raise ValueError
        except ValueError:
            errors[f"rules.{n}.offset_days"] = "Days: a whole number from 0 to 365."
            offset = 0
        direction = str(r.get("direction") or "after")
        day_type = str(r.get("day_type") or "calendar")
        weekend = str(r.get("weekend_rule") or "none")
        if direction not in {d.value for d in Direction}:
            errors[f"rules.{n}.direction"] = "After or before."
        if day_type not in {d.value for d in DayType}:
            errors[f"rules.{n}.day_type"] = "Calendar or business days."
        if weekend not in {w.value for w in WeekendRule}:
            errors[f"rules.{n}.weekend_rule"] = "Choose what a weekend or holiday does."
        cutoff = str(r.get("cutoff") or "").strip()
        if cutoff:
            try:
                time.fromisoformat(cutoff)
            except ValueError:
                errors[f"rules.{n}.cutoff"] = "A time like 17:00, or blank for the end of the day."
        rows.append(
            {
                "key": key,
                "label": label,
                "kind": "computed",
                "anchor": anchor,
                "anchor_key": anchor_key,
                "offset_days": offset,
                "direction": direction,
                "day_type": day_type,
                "weekend_rule": weekend,
                "cutoff": cutoff or None,
                "moved_cutoff": r.get("moved_cutoff"),
                "late_after": r.get("late_after"),
            }
        )
    if errors:
        raise ValidationFailed(errors)
    _check_with_the_engine(rows)
    return {"name": name, "state": state, "rules": rows}


def _check_with_the_engine(rows: list[dict[str, Any]]) -> None:
    """Refuse what the engine cannot compute (cycles, anchors on missing dates, bad rules)."""
    from chronos.services.key_dates import rule_from_json

    try:
        rules = [rule_from_json(r["key"], r["label"], r) for r in rows]
        compute_schedule(rules, SAMPLE, US_FEDERAL, ZoneInfo("America/New_York"))
    except DeadlineRuleError as exc:
        raise ValidationFailed({"rules": str(exc)}) from None
    except (ValueError, KeyError) as exc:
        raise ValidationFailed({"rules": f"These rules cannot be computed: {exc}"}) from None


def update_template(
    db: Session, actor: User, template_id: int, data: dict[str, Any]
) -> DeadlineTemplate:
    tpl = _get(db, actor, template_id)
    clean = _clean(data)
    tpl.name, tpl.state, tpl.rules = clean["name"], clean["state"], clean["rules"]
    tpl.updated_at = utcnow()
    db.add(tpl)
    db.flush()
    return tpl


def delete_template(db: Session, actor: User, template_id: int) -> None:
    db.delete(_get(db, actor, template_id))
    db.flush()


def find_for_apply(db: Session, actor: User, key: str) -> DeadlineTemplate | None:
    """The brokerage's template behind a ``tpl:<id>`` choice (any staff may apply it)."""
    if not key.startswith(PREFIX) or not key.removeprefix(PREFIX).isdigit():
        return None
    tpl = db.get(DeadlineTemplate, int(key.removeprefix(PREFIX)))
    return tpl if tpl is not None and tpl.org_id == actor.org_id else None
