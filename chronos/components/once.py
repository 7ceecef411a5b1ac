"""Submit once: the control is disabled in the browser at the first click, before the round trip.

A form or button marked ``data-once="<key>"`` ignores a second submit or click until its key
changes (the server rotates the key when it has handled the first) or 15 s pass. The key travels
with the submit (a hidden ``once_key`` input, or the handler's argument), so a repeat that still
reaches the server (no script, a replayed event, a retried POST) is answered with the first
result by ``services.idempotency``. Native forms (``native=True``: the browser posts them and
navigates) get a fresh key from the browser at their first submit instead.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chronos.services import idempotency

ONCE_FIELD = idempotency.FORM_FIELD

ONCE_SCRIPT = """
(function () {
  var SUBMITS = 'button[type=submit], button:not([type]), input[type=submit]';
  function lock(el, controls, ms) {
    el.setAttribute('data-once-busy', el.getAttribute('data-once') || '');
    setTimeout(function () {
      controls.forEach(function (c) {
        if (!c.disabled) {
          c.disabled = true;
          c.setAttribute('data-once-disabled', '1');
          c.setAttribute('aria-busy', 'true');
        }
      });
    }, 0);
    clearTimeout(el._chronosOnce);
    el._chronosOnce = setTimeout(function () { unlock(el); }, ms);
  }
  function unlock(el) {
    clearTimeout(el._chronosOnce);
    el.removeAttribute('data-once-busy');
    var held = Array.prototype.slice.call(el.querySelectorAll('[data-once-disabled]'));
    if (el.hasAttribute('data-once-disabled')) held.push(el);
    held.forEach(function (c) {
      c.disabled = false;
      c.removeAttribute('data-once-disabled');
      c.removeAttribute('aria-busy');
    });
  }
  function block(e) { e.preventDefault(); e.stopImmediatePropagation(); }
  document.addEventListener('submit', function (e) {
    var f = e.target;
    if (!f || !f.hasAttribute || !f.hasAttribute('data-once')) return;
    if (f.hasAttribute('data-once-busy')) return block(e);
    var native = f.getAttribute('data-once-native') === '1';
    if (native) {
      var k = f.querySelector('input[name=once_key]');
      if (k && !k.value) {
        k.value = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
          : String(Date.now()) + Math.random().toString(36).slice(2);
      }
    }
    lock(f, Array.prototype.slice.call(f.querySelectorAll(SUBMITS)), native ? 120000 : 15000);
  }, true);
  document.addEventListener('click', function (e) {
    var b = e.target && e.target.closest && e.target.closest('[data-once]');
    if (!b || b.tagName === 'FORM') return;
    if (b.hasAttribute('data-once-busy') || b.disabled) return block(e);
    lock(b, [b], 15000);
  }, true);
  new MutationObserver(function (changes) {
    changes.forEach(function (m) {
      var el = m.target;
      if (el.hasAttribute('data-once-busy') &&
          el.getAttribute('data-once') !== el.getAttribute('data-once-busy')) unlock(el);
    });
  }).observe(document.documentElement,
    {attributes: true, subtree: true, attributeFilter: ['data-once']});
})();
"""


def once_attrs(key: Any, *, native: bool = False) -> dict[str, Any]:
    """``custom_attrs`` for a form or button that submits once per ``key`` (a state var)."""
    attrs: dict[str, Any] = {"data-once": key}
    if native:
        attrs["data-once-native"] = "1"
    return attrs


def once_input(key: Any = None) -> rx.Component:
    """The hidden field that carries the form's key with its data (no ``key``: a native form's,
    filled by the browser at the first submit)."""
    if key is None:
        return rx.el.input(type="hidden", name=ONCE_FIELD)
    return rx.el.input(type="hidden", name=ONCE_FIELD, value=key)
