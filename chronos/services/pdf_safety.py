"""PDF active content: find it, and take it out of the stored original.

Pure functions (bytes in, bytes out; no database, no storage), used by ``files``.

*Active content* is whatever a PDF reader may run or open by itself rather than show:
JavaScript (document-level scripts in ``/Names /JavaScript``, ``/OpenAction``, the
additional-actions ``/AA`` of the document, pages, annotations and form fields, annotation
and outline ``/A`` actions, ``/JS`` anywhere), actions that open programs, other files or send
data (Launch, SubmitForm, ImportData, GoToR, GoToE, and URI actions to ``javascript:``,
``vbscript:``, ``data:`` or ``file:``), embedded files (``/Names /EmbeddedFiles``,
``/EF`` of a file specification, ``/AF`` associated files, portfolios, FileAttachment
annotations), multimedia and 3D annotations (Screen, Movie, Sound, RichMedia, 3D, which run
renditions or scripts) and XFA forms (XML forms that carry their own scripts).

``remove_active_content`` walks every object reachable from the document catalog and drops
each reference to such a thing, then writes the document anew: only what is still reachable
is written, so the scripts and files themselves are gone from the bytes, together with any
earlier revision a repairing reader might dig up. Pages, their text, images, form fields and
their values, and the appearance of signatures stay as they were (a *digital* signature no
longer verifies after any rewrite; the result says so). The output is parsed again and
walked again: anything still found, or a different page count, raises ``CannotClean``.

A PDF without active content is never rewritten (its bytes are stored as uploaded).
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

JAVASCRIPT = "JavaScript"
ACTIONS = "actions that open programs or send data"
EMBEDDED = "embedded files"
MEDIA = "multimedia or 3D content"
XFA = "XFA form scripts"
# The order labels are listed in, in messages.
LABELS = (JAVASCRIPT, ACTIONS, EMBEDDED, MEDIA, XFA)

# Keys whose value is active content wherever they appear.
_DROP_KEYS = {
    "/JavaScript": JAVASCRIPT,  # the document-level name tree (in /Names)
    "/JS": JAVASCRIPT,  # the script of a JavaScript or Rendition action
    "/EmbeddedFiles": EMBEDDED,  # the embedded-files name tree (in /Names)
    "/EF": EMBEDDED,  # the embedded file streams of a file specification
    "/RF": EMBEDDED,  # related files of one
    "/AF": EMBEDDED,  # associated files (PDF 2.0, PDF/A-3)
    "/Collection": EMBEDDED,  # a portfolio: the document is its attachments
    "/XFA": XFA,  # in /AcroForm
}
_ACTION_TYPES = {
    "/JavaScript": JAVASCRIPT,
    "/Launch": ACTIONS,
    "/SubmitForm": ACTIONS,
    "/ImportData": ACTIONS,
    "/GoToR": ACTIONS,
    "/GoToE": EMBEDDED,
    "/Rendition": MEDIA,
    "/Movie": MEDIA,
    "/Sound": MEDIA,
    "/RichMediaExecute": MEDIA,
}
_ANNOTATION_TYPES = {
    "/FileAttachment": EMBEDDED,
    "/Screen": MEDIA,
    "/Movie": MEDIA,
    "/Sound": MEDIA,
    "/RichMedia": MEDIA,
    "/3D": MEDIA,
}
_SCRIPT_URI = re.compile(r"^(javascript|vbscript|data):", re.IGNORECASE)
_FILE_URI = re.compile(r"^file:", re.IGNORECASE)
_URI_NOISE = re.compile(r"[\x00-\x20\x7f]")
# Tokens of active content as they appear in uncompressed bytes: a PDF whose catalog reaches
# none of it but whose bytes hold these (an unreachable object, an earlier revision) is
# rewritten too, so nothing a repairing reader could find is kept.
_RAW_TOKENS = re.compile(
    rb"/(?:JavaScript|JS|Launch|SubmitForm|ImportData|EmbeddedFiles?|RichMedia|XFA)(?![A-Za-z0-9])"
)
_RAW_LABELS = {
    b"/JavaScript": JAVASCRIPT,
    b"/JS": JAVASCRIPT,
    b"/Launch": ACTIONS,
    b"/SubmitForm": ACTIONS,
    b"/ImportData": ACTIONS,
    b"/EmbeddedFile": EMBEDDED,
    b"/EmbeddedFiles": EMBEDDED,
    b"/RichMedia": MEDIA,
    b"/XFA": XFA,
}


class CannotClean(Exception):
    """The PDF holds active content that could not be removed with certainty."""


@dataclass
class Found:
    labels: set[str] = field(default_factory=set)
    digitally_signed: bool = False

    def ordered(self) -> list[str]:
        return [label for label in LABELS if label in self.labels]


@dataclass
class Cleaned:
    data: bytes
    removed: list[str]  # labels (``LABELS`` order); empty: the bytes are the original's
    digitally_signed: bool = False  # had a digital signature, which the rewrite invalidates


def _resolve(value: Any) -> Any:
    from pypdf.generic import IndirectObject

    if isinstance(value, IndirectObject):
        try:
            return value.get_object()
        except Exception:  # a dangling or broken reference: nothing to follow
            return None
    return value


def _classify(obj: Any) -> str | None:
    """The label of a dictionary that is itself active content (an action or annotation)."""
    from pypdf.generic import DictionaryObject

    if not isinstance(obj, DictionaryObject):
        return None
    kind = obj.get("/Type")
    action = obj.get("/S")
    if action is not None and kind in (None, "/Action"):
        if "/JS" in obj:
            return JAVASCRIPT
        label = _ACTION_TYPES.get(str(action))
        if label:
            return label
        if action == "/URI":
            uri = _URI_NOISE.sub("", str(_resolve(obj.get("/URI")) or ""))
            if _SCRIPT_URI.match(uri):
                return JAVASCRIPT
            if _FILE_URI.match(uri):
                return ACTIONS
    if kind == "/EmbeddedFile":
        return EMBEDDED
    if kind in (None, "/Annot"):
        label = _ANNOTATION_TYPES.get(str(obj.get("/Subtype")))
        if label:
            return label
    return None


def _walk(root: Any, *, remove: bool) -> Found:
    """Every object reachable from ``root``; with ``remove``, each reference to active content
    is dropped from its container as it is found."""
    from pypdf.generic import ArrayObject, DictionaryObject

    found = Found()
    seen: set[int] = set()
    stack = [root]
    with_aa: list[Any] = []  # dictionaries with additional actions (emptied ones go too)
    while stack:
        container = stack.pop()
        if id(container) in seen:
            continue
        seen.add(id(container))
        if isinstance(container, DictionaryObject):
            if "/ByteRange" in container and "/Contents" in container:
                found.digitally_signed = True
            for key in list(container.keys()):
                label = _DROP_KEYS.get(str(key))
                if label is None:
                    child = _resolve(container.raw_get(key))
                    label = _classify(child)
                else:
                    child = None
                if label is not None:
                    found.labels.add(label)
                    if remove:
                        del container[key]
                    continue
                if key == "/AA":
                    with_aa.append(container)
                if isinstance(child, (DictionaryObject, ArrayObject)):
                    stack.append(child)
        elif isinstance(container, ArrayObject):
            for index in range(len(container) - 1, -1, -1):
                child = _resolve(container[index])
                label = _classify(child)
                if label is not None:
                    found.labels.add(label)
                    if remove:
                        del container[index]
                    continue
                if isinstance(child, (DictionaryObject, ArrayObject)):
                    stack.append(child)
    if remove:
        for container in with_aa:
            if "/AA" in container and not _resolve(container.raw_get("/AA")):
                del container["/AA"]
    return found


def find_active_content(reader: Any) -> Found:
    """What active content ``reader``'s document reaches (nothing is changed)."""
    return _walk(reader.trailer["/Root"].get_object(), remove=False)


def raw_labels(data: bytes) -> set[str]:
    return {_RAW_LABELS[m.group(0)] for m in _RAW_TOKENS.finditer(data)}


def remove_active_content(data: bytes) -> Cleaned:
    """``data`` as it is when it holds no active content; else a copy without it. Raises
    ``CannotClean`` when the copy cannot be made or checked (and ``pypdf`` errors for a file
    it cannot read at all; ``files`` has refused those before)."""
    from pypdf import PdfReader, PdfWriter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = PdfReader(io.BytesIO(data), strict=False)
        pages = len(reader.pages)
        found = find_active_content(reader)
        leftovers = raw_labels(data)
        if not found.labels and not leftovers:
            return Cleaned(data, [])
        root = reader.trailer["/Root"].get_object()
        _walk(root, remove=True)
        try:
            writer = PdfWriter(clone_from=reader)
            out = io.BytesIO()
            writer.write(out)
            cleaned = out.getvalue()
            check = PdfReader(io.BytesIO(cleaned), strict=False)
            again = find_active_content(check)
            same_pages = len(check.pages) == pages
        except Exception as exc:
            raise CannotClean(str(exc)) from exc
    if again.labels or not same_pages:
        raise CannotClean(f"still found {sorted(again.labels)}, pages {same_pages}")
    if not found.labels:
        # Nothing reachable: the tokens were in unreachable objects (gone now), or in page
        # content where they are only text (still there): keep the original then.
        gone = leftovers - raw_labels(cleaned)
        if not gone:
            return Cleaned(data, [])
        found.labels = gone
    return Cleaned(cleaned, found.ordered(), found.digitally_signed)


SEPARATOR = "; "  # between labels where they are stored as one string


def describe(removed: list[str]) -> str:
    """Plain words for what was removed ("" for nothing)."""
    if not removed:
        return ""
    what = ", ".join(removed[:-1]) + " and " + removed[-1] if len(removed) > 1 else removed[0]
    return f"active content ({what}) was removed"


def note(removed: list[str], *, signature_invalidated: bool = False) -> str:
    """What the user is told about an upload that was cleaned ("" for nothing)."""
    said = describe(removed)
    if not said:
        return ""
    said += "; its pages and form fields are unchanged"
    if signature_invalidated:
        said += " (its digital signature no longer verifies: keep the original if you need it)"
    return said
