"""Checklist templates, edited by a brokerage's admins.

Each brokerage starts with a copy of the built-in templates (``tasks.DEFAULT_CHECKLISTS``) and
changes them freely: rename, retarget (side, property type, stage), switch off, edit items,
copy, delete. A change applies to files that reach the template's stage afterwards; tasks
already on files stay as they are (deleting a template leaves its tasks in place).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from chronos.deadlines import PRESETS
from chronos.models import ChecklistTemplate, PropertyType, Role, Side, Stage, User, utcnow
from chronos.services import access, tasks
from chronos.services.errors import NotFound
from chronos.services.validation import Collector, clean_text, required_text

ADMINS_ONLY = "Only an admin can edit checklist templates."
MAX_ITEMS = 100
ASSIGNEE_LABELS = {
    "owner": "The file's agent",
    "coordinator": "Coordinator",
    "buyer": "Buyer (client)",
    "seller": "Seller (client)",
    "lender": "Lender",
    "attorney": "Attorney",
    "title": "Title / escrow",
}
SIDE_LABELS = {"any": "Any side", **{s.value: s.label for s in Side}}
TYPE_LABELS = {"any": "Any property type", **{p.value: p.label for p in PropertyType}}
STAGE_LABELS = {s.value: s.label for s in Stage if s not in (Stage.CLOSED, Stage.CANCELLED)}


def due_key_labels() -> dict[str, str]:
    """Dates a checklist item can count from: the file's own dates and every preset's keys."""
    labels = dict(tasks.ANCHOR_KEYS)
    for preset in PRESETS.values():
        for rule in preset.rules:
            labels.setdefault(rule.key, rule.label)
    return labels


@dataclass
class TemplateItem:
    key: str
    title: str
    notes: str
    assignee: str
    due_key: str
    due_offset_days: str  # as typed, so a form round-trips it


@dataclass
class TemplateSummary:
    id: int
    name: str
    side_label: str
    type_label: str
    stage_label: str
    item_count: int
    is_active: bool


@dataclass
class TemplateDetail:
    id: int
    name: str
    side: str
    property_type: str
    stage: str
    is_active: bool
    items: list[TemplateItem]


def _admin(actor: User) -> User:
    return access.require_role(actor, (Role.ADMIN,), ADMINS_ONLY)


def _get(db: Session, actor: User, template_id: int) -> ChecklistTemplate:
    _admin(actor)
    tpl = db.get(ChecklistTemplate, template_id)
    if tpl is None or tpl.org_id != actor.org_id:
        raise NotFound("Checklist template not found.")
    return tpl


def list_templates(db: Session, actor: User) -> list[TemplateSummary]:
    _admin(actor)
    rows = tasks.ensure_default_templates(db, actor.org_id)
    order = list(STAGE_LABELS)
    rows = sorted(rows, key=lambda t: (order.index(t.stage) if t.stage in order else 99, t.name))
    return [
        TemplateSummary(
            id=t.id or 0,
            name=t.name,
            side_label=SIDE_LABELS.get(t.side, t.side),
            type_label=TYPE_LABELS.get(t.property_type, t.property_type),
            stage_label=STAGE_LABELS.get(t.stage, t.stage),
            item_count=len(t.items),
            is_active=t.is_active,
        )
        for t in rows
    ]


def get_template(db: Session, actor: User, template_id: int) -> TemplateDetail:
    tpl = _get(db, actor, template_id)
    return TemplateDetail(
        id=tpl.id or 0,
        name=tpl.name,
        side=tpl.side,
        property_type=tpl.property_type,
        stage=tpl.stage,
        is_active=tpl.is_active,
        items=[
            TemplateItem(
                key=str(i.get("key", "")),
                title=str(i.get("title", "")),
                notes=str(i.get("notes", "")),
                assignee=str(i.get("assignee", "owner")),
                due_key=str(i.get("due_key", "")),
                due_offset_days=str(i.get("due_offset_days", 0)),
            )
            for i in tpl.items
        ],
    )


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:50] or "item"


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """Validate a whole template; errors are keyed ``name``, ``items.3.title``, ..."""
    check = Collector()
    name = check.field("name", required_text, data.get("name"), 200, "Name")
    side = str(data.get("side") or "any")
    if side not in SIDE_LABELS:
        check.add("side", "Choose a side.")
    ptype = str(data.get("property_type") or "any")
    if ptype not in TYPE_LABELS:
        check.add("property_type", "Choose a property type.")
    stage = str(data.get("stage") or "")
    if stage not in STAGE_LABELS:
        check.add("stage", "Choose the stage that applies this checklist.")
    raw_items = list(data.get("items") or [])
    if not raw_items:
        check.add("items", "Add at least one task.")
    if len(raw_items) > MAX_ITEMS:
        check.add("items", f"A checklist holds at most {MAX_ITEMS} tasks.")
    due_keys = due_key_labels()
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, raw in enumerate(raw_items[:MAX_ITEMS]):
        item = dict(raw) if isinstance(raw, dict) else {}
        title = check.field(f"items.{n}.title", required_text, item.get("title"), 200, "Task")
        assignee = str(item.get("assignee") or "owner")
        if assignee not in ASSIGNEE_LABELS:
            check.add(f"items.{n}.assignee", "Choose who the task is for.")
        due_key = str(item.get("due_key") or "")
        if due_key and due_key not in due_keys:
            check.add(f"items.{n}.due_key", "Choose a date to count from, or none.")
        try:
            offset = int(str(item.get("due_offset_days") or "0").strip() or "0")
            if abs(offset) > tasks.MAX_OFFSET_DAYS:
                raise ValueError
        except ValueError:
            check.add(
                f"items.{n}.due_offset_days",
                f"Whole days, at most {tasks.MAX_OFFSET_DAYS} either way (negative = before).",
            )
            offset = 0
        # Keys identify an item on files it was applied to: keep them stable across edits.
        key = str(item.get("key") or "") or _slug(title or "")
        while key in seen:
            key = f"{key[:55]}_{len(seen)}"
        seen.add(key)
        items.append(
            {
                "key": key,
                "title": title or "",
                "notes": clean_text(item.get("notes"), 2000),
                "assignee": assignee,
                "due_key": due_key,
                "due_offset_days": offset if due_key else 0,
            }
        )
    check.raise_if_any()
    return {
        "name": name,
        "side": side,
        "property_type": ptype,
        "stage": stage,
        "is_active": bool(data.get("is_active", True)),
        "items": items,
    }


def create_template(db: Session, actor: User, data: dict[str, Any]) -> ChecklistTemplate:
    _admin(actor)
    tasks.ensure_default_templates(db, actor.org_id)
    clean = _clean(data)
    tpl = ChecklistTemplate(org_id=actor.org_id, **clean)
    db.add(tpl)
    db.flush()
    return tpl


def update_template(
    db: Session, actor: User, template_id: int, data: dict[str, Any]
) -> ChecklistTemplate:
    tpl = _get(db, actor, template_id)
    for name, value in _clean(data).items():
        setattr(tpl, name, value)
    tpl.updated_at = utcnow()
    db.add(tpl)
    db.flush()
    return tpl


def copy_template(db: Session, actor: User, template_id: int) -> ChecklistTemplate:
    tpl = _get(db, actor, template_id)
    copy = ChecklistTemplate(
        org_id=tpl.org_id,
        name=f"{tpl.name} (copy)"[:200],
        side=tpl.side,
        property_type=tpl.property_type,
        stage=tpl.stage,
        items=[dict(i) for i in tpl.items],
        is_active=False,  # a copy starts switched off, so files do not get both
    )
    db.add(copy)
    db.flush()
    return copy


def delete_template(db: Session, actor: User, template_id: int) -> None:
    tpl = _get(db, actor, template_id)
    db.delete(tpl)
    db.flush()


def empty_item() -> TemplateItem:
    return TemplateItem(
        key="", title="", notes="", assignee="owner", due_key="", due_offset_days="0"
    )
