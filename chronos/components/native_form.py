"""A plain HTML <form> that the browser submits itself.

``rx.el.form`` always intercepts submit (it adds ``preventDefault`` when no ``on_submit`` is
given), but sign-in and sign-out must be real navigations so the API can answer with an
HttpOnly Set-Cookie and a 303.
"""

from __future__ import annotations

from reflex.vars import Var
from reflex_components_core.el.elements.base import BaseHTML


class NativeForm(BaseHTML):
    tag = "form"

    action: Var[str]
    method: Var[str]
    # "multipart/form-data" for file uploads (React's encType).
    enc_type: Var[str]


native_form = NativeForm.create
