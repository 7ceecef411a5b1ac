"""The domain: framework-free functions that take a DB session and the acting user.

Authorization lives here (through ``access``), so the Reflex UI and the REST API cannot disagree.
Services flush but never commit: the caller's ``db.session_scope()`` is the unit of work, so a
change and the Event that records it land in the same database transaction.
"""
