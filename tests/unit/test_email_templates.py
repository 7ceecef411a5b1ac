"""Email templates: merge fields, flagged fields, escaping of hostile values, visibility."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from chronos.models import KeyDate, Participant
from chronos.models.message import EmailTemplate
from chronos.services import email_templates as et
from chronos.services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.factories import World, participant_of

HOSTILE = "<script>alert(1)</script> {{ agent.email }} }} {{ \"quotes\" & 'apostrophes'"


def _values(db: Session, world: World, recipient: Participant | None = None) -> dict[str, str]:
    return et.merge_values(db, world.deal, recipient=recipient, sender=world.agent)


# ------------------------------------------------------------------------- merge and check


def test_merge_values_cover_the_file_its_parties_and_key_dates(db: Session, world: World) -> None:
    db.add(
        KeyDate(
            org_id=world.harbor.id or 0,
            transaction_id=world.deal.id or 0,
            key="inspection",
            label="Inspection",
            computed_date=date(2024, 1, 20),
        )
    )
    db.flush()
    values = _values(db, world, participant_of(db, world.deal, world.client))
    assert values["address"].startswith("12 Harbor View Rd")
    assert values["price"] == "$450,000"
    assert values["mls"] == "MLS-1001"
    assert values["agent.name"] == "Alice Agent"
    assert values["client.first_name"] == "Cora"
    assert values["recipient.first_name"] == "Cora"
    assert values["lender.name"] == "Leo Lender"
    assert values["seller.name"] == "Sally Seller"
    assert values["inspector.email"] == "ivan@inspect.example.com"
    assert values["coordinator.name"] == "Cody Coordinator"
    assert values["key_date.inspection"] == et.format_date(date(2024, 1, 20))
    assert values["closing_date"] == et.format_date(date(2024, 2, 20))


def test_check_flags_unknown_and_empty_fields(db: Session, world: World) -> None:
    values = _values(db, world)
    flags = et.check(
        "Hi {{ client.first_name }} {{ client.nickname }} {{address}} {{ title.name }} "
        "{{ key_date.appraisal }} {{ block.nope }}",
        values,
    )
    assert flags.unknown == ["block.nope", "client.nickname"]
    # No title company on the file, no appraisal key date: empty, not blank.
    assert flags.empty == ["title.name", "key_date.appraisal"]
    assert not flags.ok


def test_a_stray_brace_is_flagged(db: Session, world: World) -> None:
    flags = et.check("Hello {{ client.name", _values(db, world))
    assert flags.unknown == ["{{ or }} without a field"]
    assert et.check("done }}", _values(db, world)).unknown


def test_render_refuses_unknown_and_empty_fields(db: Session, world: World) -> None:
    values = _values(db, world)
    with pytest.raises(ValidationFailed) as exc:
        et.render("About {{ address }}", "Hi {{ title.first_name }}", values)
    assert "title.first_name" in exc.value.errors["body"]
    with pytest.raises(ValidationFailed) as exc:
        et.render("About {{ adress }}", "Hi", values)
    assert "adress" in exc.value.errors["subject"]
    with pytest.raises(ValidationFailed):
        et.render("", "body", values)


def test_render_fills_fields_and_makes_safe_html(db: Session, world: World) -> None:
    values = _values(db, world)
    out = et.render(
        "Closing {{ closing_date }}",
        "Hi {{ client.first_name }},\nsee https://example.com/a?b=1&c=2.\n\nBye",
        values,
    )
    assert out.subject == f"Closing {values['closing_date']}"
    assert out.text.startswith("Hi Cora,\nsee https://example.com/a?b=1&c=2.")
    assert out.html.count("<p") == 2
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer">' in out.html
    assert "<br>" in out.html


def test_hostile_merge_values_are_escaped_and_never_re_merged(db: Session, world: World) -> None:
    values = _values(db, world) | {"client.first_name": HOSTILE}
    out = et.render("Hi {{ client.first_name }}", "Dear {{ client.first_name }}", values)
    assert "<script" not in out.html
    assert "&lt;script&gt;" in out.html
    # Quotes stay text (no attribute is ever built from a value); & is escaped.
    assert "\"quotes\" &amp; 'apostrophes'" in out.html
    assert out.html.count("<") == out.html.count("</p>") + 1  # only the paragraph's own tags
    # The value's own {{ agent.email }} stays text: substitution is one pass.
    assert "alice.agent@harbor.example.com" not in out.html
    assert "{{ agent.email }}" in out.text
    assert out.subject.startswith("Hi <script>")  # plain text subject: never shown as HTML


def test_the_senders_own_html_is_text_not_markup(db: Session, world: World) -> None:
    out = et.render(
        "s",
        '<img src=x onerror=alert(1)> <a href="javascript:alert(1)">x</a> javascript:alert(1)',
        _values(db, world),
    )
    assert "<img" not in out.html and '<a href="javascript' not in out.html
    assert "&lt;img" in out.html


def test_blocks_are_inserted_and_their_fields_merged(db: Session, world: World) -> None:
    values = _values(db, world)
    blocks = {"sign-off": "Best,\n{{ agent.name }}", "nested": "{{ block.sign-off }}"}
    out = et.render("s", "Hello\n\n{{ block.sign-off }}", values, blocks)
    assert out.text.endswith("Best,\nAlice Agent\n")
    flags = et.check("{{ block.nested }}", values, blocks)
    assert flags.unknown == ["block.sign-off"]


def test_preview_marks_missing_fields(db: Session, world: World) -> None:
    p = et.preview(
        db, world.agent, world.deal.id or 0, "For {{ recipient.name }}", "{{ title.name }}"
    )
    assert p.subject == "For Cora Client"  # the client by default
    assert p.body == "[missing: title.name]"
    assert p.empty == ["title.name"] and p.unknown == []


@pytest.mark.parametrize("persona", ["client", "attorney", "lender"])
def test_outside_parties_cannot_preview(db: Session, world: World, persona: str) -> None:
    with pytest.raises(PermissionDenied):
        et.preview(db, world.user(persona), world.deal.id or 0, "s", "b")


@pytest.mark.parametrize("persona", ["agent2", "outsider_agent", "outsider_admin"])
def test_preview_needs_a_file_the_actor_can_see(db: Session, world: World, persona: str) -> None:
    with pytest.raises(NotFound):
        et.preview(db, world.user(persona), world.deal.id or 0, "s", "b")


# ------------------------------------------------------------------------------ templates


def test_starters_are_copied_into_a_brokerage_once(db: Session, world: World) -> None:
    names = [t.name for t in et.list_templates(db, world.agent)]
    assert {"Inspection scheduled", "Under contract: what happens next", "Closing reminder"} <= set(
        names
    )
    et.list_templates(db, world.admin)
    count = len(db.exec(select(EmailTemplate).where(EmailTemplate.org_id == world.harbor.id)).all())
    assert count == len(et.STARTERS)
    # The other brokerage gets its own copies, not Harbor's rows.
    summit = et.list_templates(db, world.outsider_agent)
    assert {t.id for t in summit}.isdisjoint({t.id for t in et.list_templates(db, world.agent)})


def test_the_starters_only_use_known_fields() -> None:
    for _, subject, body in et.STARTERS:
        for name in et.field_names(subject + body):
            assert et.is_known_name(name), name


def test_admins_edit_brokerage_templates_staff_their_own(db: Session, world: World) -> None:
    data = {"kind": "template", "name": "Hello", "subject": "Hi", "body": "Hi {{ address }}"}
    with pytest.raises(PermissionDenied):
        et.create_template(db, world.agent, {**data, "scope": "brokerage"})
    shared = et.create_template(db, world.admin, {**data, "scope": "brokerage"})
    mine = et.create_template(db, world.agent, {**data, "scope": "personal", "name": "Mine"})
    assert shared.owner_id is None and mine.owner_id == world.agent.id
    # Everyone on staff uses the brokerage's; nobody else sees a personal one.
    assert shared.id in {t.id for t in et.list_templates(db, world.coordinator)}
    for persona in ("coordinator", "agent2", "admin"):
        assert mine.id not in {t.id for t in et.list_templates(db, world.user(persona))}
        with pytest.raises(NotFound):
            et.get_template(db, world.user(persona), mine.id or 0)
        with pytest.raises(NotFound):
            et.update_template(db, world.user(persona), mine.id or 0, data)
    with pytest.raises(PermissionDenied):
        et.update_template(db, world.agent, shared.id or 0, data)
    with pytest.raises(PermissionDenied):
        et.delete_template(db, world.coordinator, shared.id or 0)
    et.update_template(db, world.agent, mine.id or 0, {**data, "name": "Renamed"})
    assert et.get_template(db, world.agent, mine.id or 0).name == "Renamed"
    et.delete_template(db, world.agent, mine.id or 0)
    with pytest.raises(NotFound):
        et.get_template(db, world.agent, mine.id or 0)


@pytest.mark.parametrize("persona", ["client", "attorney", "lender"])
def test_outside_parties_have_no_templates(db: Session, world: World, persona: str) -> None:
    with pytest.raises(PermissionDenied):
        et.list_templates(db, world.user(persona))
    with pytest.raises(PermissionDenied):
        et.create_template(db, world.user(persona), {"name": "x", "subject": "x", "body": "x"})


def test_another_brokerage_cannot_reach_a_template(db: Session, world: World) -> None:
    shared = et.create_template(
        db,
        world.admin,
        {"scope": "brokerage", "name": "Ours", "subject": "s", "body": "b"},
    )
    for persona in ("outsider_admin", "outsider_agent"):
        with pytest.raises(NotFound):
            et.get_template(db, world.user(persona), shared.id or 0)
        with pytest.raises(NotFound):
            et.delete_template(db, world.user(persona), shared.id or 0)


def test_saving_refuses_unknown_fields_and_missing_text(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as exc:
        et.create_template(
            db, world.agent, {"name": "x", "subject": "{{ adress }}", "body": "{{ foo }} {{"}
        )
    assert "adress" in exc.value.errors["subject"]
    assert "foo" in exc.value.errors["body"] and "without a field" in exc.value.errors["body"]
    with pytest.raises(ValidationFailed) as exc:
        et.create_template(db, world.agent, {"name": "", "subject": "", "body": ""})
    assert set(exc.value.errors) == {"name", "subject", "body"}


def test_blocks_are_named_by_slug_and_usable_in_templates(db: Session, world: World) -> None:
    et.create_template(
        db,
        world.admin,
        {"kind": "block", "scope": "brokerage", "name": "Wire fraud warning", "body": "Call us."},
    )
    with pytest.raises(ValidationFailed):  # same slug
        et.create_template(
            db, world.agent, {"kind": "block", "name": "Wire  fraud warning!", "body": "x"}
        )
    with pytest.raises(ValidationFailed):  # no blocks inside blocks
        et.create_template(
            db,
            world.agent,
            {"kind": "block", "name": "Other", "body": "{{ block.wire-fraud-warning }}"},
        )
    t = et.create_template(
        db,
        world.agent,
        {"name": "Wire", "subject": "s", "body": "{{ block.wire-fraud-warning }}"},
    )
    assert t.id
    assert et.blocks_for(db, world.coordinator) == {"wire-fraud-warning": "Call us."}
    assert [b.slug for b in et.list_templates(db, world.agent, kind="block")] == [
        "wire-fraud-warning"
    ]
