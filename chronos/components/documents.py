"""Document pieces shared by the staff panel and the portal: the native upload form, the
in-app preview (PDF pages as images, photos as themselves) and a document row's badges."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import Var

from chronos.components.native_form import native_form
from chronos.components.once import once_attrs, once_input
from chronos.components.ui import native_select
from chronos.services.files import ACCEPT_ATTR

REVIEW_COLORS = {"pending": "amber", "accepted": "grass", "returned": "red"}
# Uploads are per-file (api/file_routes.py): said once under every multi-file picker.
BATCH_HINT = "Each file is saved on its own; you'll see which were saved."


def file_inputs(label: str = "Files") -> rx.Component:
    """A multi-file picker (PDFs and photos) plus, on phones, a camera button."""
    return rx.flex(
        rx.el.label(
            rx.text(label, size="2", weight="medium"),
            rx.el.input(
                type="file",
                name="file",
                multiple=True,
                accept=ACCEPT_ATTR,
                style={"fontSize": "16px", "maxWidth": "100%"},
            ),
            style={"display": "flex", "flexDirection": "column", "gap": "4px"},
        ),
        rx.box(
            rx.el.label(
                rx.flex(
                    rx.icon("camera", size=16),
                    rx.text("Take a photo", size="2"),
                    align="center",
                    spacing="1",
                ),
                rx.el.input(
                    type="file",
                    name="file",
                    accept="image/*",
                    capture="environment",
                    style={"fontSize": "16px", "maxWidth": "100%"},
                ),
                style={"display": "flex", "flexDirection": "column", "gap": "4px"},
            ),
            # Phones only: desktops have no camera picker, and the first input covers them.
            display=rx.breakpoints(initial="block", md="none"),
        ),
        direction="column",
        spacing="3",
    )


def upload_form(
    action: Var | str,
    transaction_id: Var | int,
    *,
    categories: dict[str, str] | None = None,
    slots: Var | None = None,
    sharing: bool = False,
    document_id: Var | int | None = None,
    submit_label: str = "Upload",
    hint: str = "PDF or photo, up to 25 MB each. Several files at once are fine.",
    batch_hint: str = BATCH_HINT,
    origin: str = "documents",
) -> rx.Component:
    """A real multipart form the browser posts itself to ``/files/upload`` (see
    api/file_routes.py), then comes back to this page with the outcome. ``origin`` names the
    panel that shows the outcome (a page may hold several upload forms)."""
    children: list[rx.Component] = [
        rx.el.input(type="hidden", name="transaction_id", value=transaction_id),
        rx.el.input(type="hidden", name="origin", value=origin),
        once_input(),
    ]
    if document_id is not None:
        children.append(rx.el.input(type="hidden", name="document_id", value=document_id))
    children.append(file_inputs())
    if document_id is None:
        children.append(
            rx.el.label(
                rx.text("Name (optional, for one file)", size="2", weight="medium"),
                rx.el.input(
                    name="title",
                    max_length=200,
                    placeholder="e.g. Signed purchase agreement",
                    class_name="rt-TextFieldInput",
                    style={
                        "padding": "8px",
                        "borderRadius": "6px",
                        "border": f"1px solid {rx.color('gray', 7)}",
                        "fontSize": "16px",
                    },
                ),
                style={"display": "flex", "flexDirection": "column", "gap": "4px"},
            )
        )
    if categories:
        children.append(
            rx.el.label(
                rx.text("Category", size="2", weight="medium"),
                native_select("category", categories, "other"),
                style={"display": "flex", "flexDirection": "column", "gap": "4px"},
            )
        )
    if slots is not None:
        children.append(
            rx.cond(
                slots.length() > 0,  # type: ignore[attr-defined]
                rx.el.label(
                    rx.text("Required document it fills (optional)", size="2", weight="medium"),
                    rx.el.select(
                        rx.el.option("None", value=""),
                        rx.foreach(slots, lambda s: rx.el.option(s.name, value=s.id)),
                        name="slot_id",
                        default_value="",
                        style={
                            "padding": "8px",
                            "borderRadius": "6px",
                            "border": f"1px solid {rx.color('gray', 7)}",
                            "background": rx.color("gray", 1),
                            "color": rx.color("gray", 12),
                            "fontSize": "16px",
                        },
                    ),
                    style={"display": "flex", "flexDirection": "column", "gap": "4px"},
                ),
            )
        )
    if sharing:
        children.append(
            rx.el.fieldset(
                rx.el.legend(rx.text("Share with (otherwise internal)", size="2", weight="medium")),
                rx.flex(
                    *[
                        rx.el.label(
                            rx.el.input(type="checkbox", name=f"share_{role}"),
                            rx.text(label, size="2"),
                            style={"display": "flex", "gap": "6px", "alignItems": "center"},
                        )
                        for role, label in (
                            ("client", "Client"),
                            ("attorney", "Attorney"),
                            ("lender", "Lender"),
                        )
                    ],
                    spacing="4",
                    wrap="wrap",
                ),
                style={"border": "none", "padding": 0, "margin": 0},
            )
        )
    children.append(rx.text(hint, size="1", color_scheme="gray"))
    if document_id is None and batch_hint:
        children.append(rx.text(batch_hint, size="1", color_scheme="gray"))
    children.append(
        rx.flex(
            rx.button(rx.icon("upload", size=16), submit_label, type="submit", size="3"),
            justify="end",
        )
    )
    return native_form(
        rx.flex(*children, direction="column", spacing="3"),
        action=action,
        method="post",
        enc_type="multipart/form-data",
        custom_attrs=once_attrs("upload", native=True),
    )


def upload_outcome(saved: Var, errors: Var) -> rx.Component:
    """What happened to each file of the last upload (from the signed ``?upload=`` token):
    ``saved`` holds one line per saved file (``documents.saved_lines``: its title, and what
    active content was removed if any), ``errors`` one per file that was not."""
    return rx.fragment(
        rx.cond(
            saved.length() > 0,  # type: ignore[attr-defined]
            rx.callout.root(
                rx.callout.icon(rx.icon("circle_check")),
                rx.box(
                    rx.text("Saved:", size="2"),
                    rx.el.ul(
                        rx.foreach(saved, lambda line: rx.el.li(rx.text(line, size="2"))),
                        style={"margin": 0, "paddingLeft": "1.2em"},
                    ),
                ),
                color_scheme="grass",
                role="status",
                width="100%",
            ),
        ),
        rx.foreach(
            errors,
            lambda e: rx.callout(
                e, icon="triangle_alert", color_scheme="red", role="alert", width="100%"
            ),
        ),
    )


def preview_pages(page_urls: Var, image_url: Var, title: Var) -> rx.Component:
    """The document itself, inside the app: each PDF page as an image (lazy, full width; every
    phone shows them), or the photo."""
    return rx.cond(
        image_url != "",
        rx.image(
            src=image_url,
            alt=title,
            width="100%",
            height="auto",
            border_radius="6px",
            border=f"1px solid {rx.color('gray', 5)}",
        ),
        rx.flex(
            rx.foreach(
                page_urls,
                lambda url, i: rx.el.img(
                    src=url,
                    alt=rx.Var.create("Page ") + (i + 1).to_string(),  # type: ignore[operator]
                    loading="lazy",
                    width="100%",
                    style={
                        "width": "100%",
                        "height": "auto",
                        "aspectRatio": "8.5 / 11",
                        "background": "white",
                        "borderRadius": "4px",
                        "border": f"1px solid {rx.color('gray', 6)}",
                    },
                ),
            ),
            direction="column",
            spacing="3",
        ),
    )


def review_badge(status: Var, label: Var) -> rx.Component:
    return rx.match(
        status,
        *[
            (key, rx.badge(label, color_scheme=color, variant="soft"))  # type: ignore[arg-type]
            for key, color in REVIEW_COLORS.items()
        ],
        rx.fragment(),
    )


def doc_icon(is_pdf: Var) -> rx.Component:
    return rx.cond(
        is_pdf,
        rx.icon("file_text", size=20, color=rx.color("red", 9), flex_shrink="0"),
        rx.icon("image", size=20, color=rx.color("blue", 9), flex_shrink="0"),
    )


def meta_line(*parts: Any) -> rx.Component:
    return rx.text(*parts, size="1", color_scheme="gray")
