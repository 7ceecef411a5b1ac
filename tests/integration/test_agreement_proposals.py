"""Reading an uploaded agreement through the gated service: staff only, upload checks first."""

from __future__ import annotations

import pytest

from chronos.services import agreement_reader as ar
from chronos.services.errors import PermissionDenied, ValidationFailed
from tests.support import agreements, pdfs


def test_an_agent_gets_proposals_from_an_uploaded_agreement(db, agent) -> None:
    reading = ar.propose_from_uploads(db, agent, ("contract.pdf", agreements.flat_agreement()))
    assert reading.proposals["price"].value == "725500"
    assert reading.proposals["closing_date"].page == 2


def test_an_agreement_with_a_script_is_read_after_the_script_is_removed(db, agent) -> None:
    hostile = pdfs.hostile_pdf("open_action", agreements.flat_agreement())
    reading = ar.propose_from_uploads(db, agent, ("contract.pdf", hostile))
    assert reading.proposals["address"].value.startswith("48 Orchard Lane")


@pytest.mark.parametrize("persona", ["client", "attorney", "lender"])
def test_non_staff_may_not_have_an_agreement_read(db, request, persona: str) -> None:
    actor = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        ar.propose_from_uploads(db, actor, ("contract.pdf", agreements.flat_agreement()))


def test_an_oversized_agreement_is_refused_by_the_upload_cap(db, agent) -> None:
    with pytest.raises(ValidationFailed, match="largest file accepted"):
        ar.propose_from_uploads(
            db, agent, ("contract.pdf", agreements.flat_agreement()), max_bytes=100
        )


def test_a_photo_is_not_read_as_an_agreement(db, agent) -> None:
    with pytest.raises(ValidationFailed) as caught:
        ar.propose_from_uploads(db, agent, ("contract.jpg", pdfs.jpeg()))
    assert "not a PDF" in caught.value.errors["agreement"]


def test_five_addenda_are_refused(db, agent) -> None:
    extra = ("addendum.pdf", agreements.addendum("Lender: X"))
    with pytest.raises(ValidationFailed) as caught:
        ar.propose_from_uploads(db, agent, ("c.pdf", agreements.flat_agreement()), [extra] * 5)
    assert "at most 4" in caught.value.errors["addenda"]
