"""THE persona access matrix for documents, through every reading and changing service call.

Five documents with different sharing on ``deal`` and on ``other_deal``; each persona may see
exactly the expected ones, by list, by id, by version, by preview and by page image; outside
parties change nothing; uploads by outside parties are shared with their own role only, on
their own open files only.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from chronos.services import documents, transactions
from chronos.services.documents import Share
from chronos.services.errors import NotFound, PermissionDenied
from chronos.services.files import inspect_upload
from tests.factories import PERSONAS, World
from tests.support.pdfs import make_pdf

MAX = 10 * 1024 * 1024
SHARINGS: dict[str, Share] = {
    "internal": Share(),
    "client": Share(client=True),
    "attorney": Share(attorney=True),
    "lender": Share(lender=True),
    "all": Share(client=True, attorney=True, lender=True),
}
# persona -> (which deals they see documents of, which sharings they see there)
EVERY = frozenset(SHARINGS)
EXPECTED: dict[str, dict[str, frozenset[str]]] = {
    "admin": {"deal": EVERY, "other_deal": EVERY},
    "agent": {"deal": EVERY, "other_deal": frozenset()},
    "coordinator": {"deal": EVERY, "other_deal": frozenset()},
    "agent2": {"deal": frozenset(), "other_deal": EVERY},
    "client": {"deal": frozenset({"client", "all"}), "other_deal": frozenset()},
    "client2": {"deal": frozenset(), "other_deal": frozenset({"client", "all"})},
    "attorney": {"deal": frozenset({"attorney", "all"}), "other_deal": frozenset()},
    "lender": {"deal": frozenset({"lender", "all"}), "other_deal": frozenset()},
    "outsider_agent": {"deal": frozenset(), "other_deal": frozenset()},
    "outsider_admin": {"deal": frozenset(), "other_deal": frozenset()},
}
SEES_FILE = {
    "deal": {"admin", "agent", "coordinator", "client", "attorney", "lender"},
    "other_deal": {"admin", "agent2", "client2"},
}
OUTSIDE = {"client", "client2", "attorney", "lender"}


def _seed(db: Session, world: World) -> dict[tuple[str, str], Any]:
    made: dict[tuple[str, str], Any] = {}
    for deal_name, owner in (("deal", world.agent), ("other_deal", world.agent2)):
        txn = getattr(world, deal_name)
        for sharing, share in SHARINGS.items():
            data = make_pdf([f"{deal_name} {sharing}"])
            doc = documents.add_document(
                db,
                owner,
                txn,
                inspect_upload(f"{deal_name}-{sharing}.pdf", data, max_bytes=MAX),
                data,
                title=f"{deal_name}:{sharing}",
                share=share,
            )
            made[(deal_name, sharing)] = doc
    db.commit()
    return made


@pytest.mark.parametrize("who", PERSONAS)
def test_the_document_matrix(db: Session, world: World, who: str) -> None:
    made = _seed(db, world)
    user = world.user(who)
    for deal_name in ("deal", "other_deal"):
        txn = getattr(world, deal_name)
        expected = EXPECTED[who][deal_name]
        if who in SEES_FILE[deal_name]:
            listed = documents.list_documents(db, user, txn.id).items
            assert {r.title for r in listed} == {f"{deal_name}:{s}" for s in expected}
        else:
            with pytest.raises(NotFound):
                documents.list_documents(db, user, txn.id)
        for sharing in SHARINGS:
            doc = made[(deal_name, sharing)]
            version = documents.current_version(db, doc)
            if sharing in expected:
                assert documents.get_document(db, user, doc.id).id == doc.id
                assert documents.get_version(db, user, version.id)[1].id == version.id
                info = documents.preview_info(db, user, doc.id)
                assert len(info.page_urls) == 1 and info.download_url
                png = documents.page_preview(db, user, version.id, 1, 480)
                assert png.startswith(b"\x89PNG")
                if who in OUTSIDE:
                    with pytest.raises(PermissionDenied):
                        documents.update_document(db, user, doc.id, title="Renamed")
                    with pytest.raises(PermissionDenied):
                        documents.update_document(db, user, doc.id, share=Share(client=True))
                    with pytest.raises(PermissionDenied):
                        documents.delete_document(db, user, doc.id)
            else:
                calls: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = [
                    (documents.get_document, (doc.id,), {}),
                    (documents.get_version, (version.id,), {}),
                    (documents.preview_info, (doc.id,), {}),
                    (documents.page_preview, (version.id, 1, 480), {}),
                    (documents.update_document, (doc.id,), {"title": "Renamed"}),
                    (documents.delete_document, (doc.id,), {}),
                ]
                for fn, args, kwargs in calls:
                    with pytest.raises(NotFound):
                        fn(db, user, *args, **kwargs)
    db.rollback()


@pytest.mark.parametrize(
    ("who", "flag"),
    [("client", "share_client"), ("attorney", "share_attorney"), ("lender", "share_lender")],
)
def test_an_outside_upload_is_shared_with_their_role_only(
    db: Session, world: World, who: str, flag: str
) -> None:
    user = world.user(who)
    doc = documents.upload(
        db,
        user,
        world.deal.id or 0,
        "mine.pdf",
        make_pdf([who]),
        share=Share(client=True, attorney=True, lender=True),  # asked for more: ignored
    )
    flags = {f: getattr(doc, f) for f in ("share_client", "share_attorney", "share_lender")}
    assert flags == {f: f == flag for f in flags}
    assert documents.get_document(db, user, doc.id or 0).id == doc.id
    others = OUTSIDE - {who, "client2"}
    for other in others:
        with pytest.raises(NotFound):
            documents.get_document(db, world.user(other), doc.id or 0)
    assert documents.get_document(db, world.agent, doc.id or 0).id == doc.id


@pytest.mark.parametrize("who", ["client2", "agent2", "outsider_agent", "outsider_admin"])
def test_nobody_uploads_to_a_file_they_are_not_on(db: Session, world: World, who: str) -> None:
    with pytest.raises(NotFound):
        documents.upload(db, world.user(who), world.deal.id or 0, "x.pdf", make_pdf(["x"]))


def test_an_outside_party_cannot_version_or_file_a_document(db: Session, world: World) -> None:
    made = _seed(db, world)
    doc = made[("deal", "all")]
    with pytest.raises(PermissionDenied):
        documents.upload(
            db, world.client, world.deal.id or 0, "v2.pdf", make_pdf(["v2"]), document_id=doc.id
        )
    with pytest.raises(PermissionDenied):
        documents.upload(db, world.client, world.deal.id or 0, "s.pdf", make_pdf(["s"]), slot_id=1)


def test_a_closed_file_refuses_outside_uploads(db: Session, world: World) -> None:
    transactions.change_stage(
        db, world.agent, world.deal.id or 0, "cancelled", reason="Buyer walked away"
    )
    for who in ("client", "attorney", "lender"):
        with pytest.raises(PermissionDenied):
            documents.upload(db, world.user(who), world.deal.id or 0, f"{who}.pdf", make_pdf([who]))
    # Staff still file the paperwork of a closed deal.
    assert documents.upload(db, world.agent, world.deal.id or 0, "final.pdf", make_pdf(["f"]))
