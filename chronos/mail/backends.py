"""Where a rendered message goes: the outbox (store only) or Resend, chosen by settings.

A backend takes one :class:`OutgoingEmail` and returns the provider's id for it, or raises a
:class:`DeliveryError` that says whether trying again later can help (``transient``: the
provider is down, slow, unreachable or rate-limiting us) or not (any other refusal, such as an
invalid address or a rejected sender). ``chronos.mail.delivery`` turns that into the row's
status and the retry schedule.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import resend
from resend.exceptions import ResendError
from resend.http_client_requests import RequestsClient

from chronos.settings import Settings

# Resend answers 409 with this type while a request with the same idempotency key is still
# being processed: the first one may yet succeed, so ours is worth retrying.
_RESEND_IN_PROGRESS = "concurrent_idempotent_requests"
# The SDK reports a request that never got an answer (timeout, refused connection, DNS) as
# code 500 with this type.
_RESEND_NO_ANSWER = "HttpClientError"


@dataclass(frozen=True)
class OutgoingEmail:
    message_id: int
    to: str
    subject: str
    text: str
    html: str
    created_at: datetime

    @property
    def idempotency_key(self) -> str:
        """The same key for every attempt at this message, distinct across deployments.

        A retry after a lost answer (timeout) must not send the message twice; the id alone
        would collide between two databases sharing one Resend account.
        """
        seed = f"{self.message_id}|{self.to}|{self.created_at.isoformat()}"
        return f"chronos-{self.message_id}-{hashlib.sha256(seed.encode()).hexdigest()[:24]}"


class DeliveryError(Exception):
    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.message = message[:1000]
        self.transient = transient


class Backend(Protocol):
    name: str

    def send(self, email: OutgoingEmail) -> str:
        """Hand ``email`` over; return the provider's id for it or raise DeliveryError."""
        ...


class OutboxBackend:
    """Sends nothing: the stored row is the message (read it at /dev/mailbox)."""

    name = "outbox"

    def send(self, email: OutgoingEmail) -> str:
        return f"outbox-{email.message_id}"


def is_transient_status(code: int) -> bool:
    """5xx, 429 (rate limit or quota) and 408 clear up by themselves; other 4xx do not."""
    return code >= 500 or code in (408, 429)


def classify_resend_error(exc: ResendError) -> DeliveryError:
    try:
        code = int(str(exc.code))
    except ValueError:
        code = 500
    if exc.error_type == _RESEND_NO_ANSWER:
        return DeliveryError(f"Resend did not answer: {exc.message}", transient=True)
    transient = is_transient_status(code) or exc.error_type == _RESEND_IN_PROGRESS
    return DeliveryError(f"Resend {code} {exc.error_type}: {exc.message}", transient=transient)


# The resend SDK reads its key, URL and HTTP client from module globals when a request is
# made; the lock keeps two backends configured differently (tests, a settings change) from
# sending with each other's configuration.
_resend_lock = threading.Lock()


class ResendBackend:
    name = "resend"

    def __init__(self, *, api_key: str, api_url: str, sender: str, timeout_seconds: float) -> None:
        self.api_key = api_key
        self.api_url = api_url.rstrip("/")
        self.sender = sender
        self.timeout_seconds = timeout_seconds
        # requests applies the timeout to connecting and to each wait for bytes.
        self._http = RequestsClient(timeout=timeout_seconds)  # type: ignore[arg-type]

    def send(self, email: OutgoingEmail) -> str:
        if not self.api_key:
            raise DeliveryError("RESEND_API_KEY is not set.", transient=False)
        params: Any = {
            "from": self.sender,
            "to": [email.to],
            "subject": email.subject,
            "html": email.html,
            "text": email.text,
        }
        with _resend_lock:
            resend.api_key = self.api_key
            resend.api_url = self.api_url
            resend.default_http_client = self._http
            try:
                response = resend.Emails.send(params, {"idempotency_key": email.idempotency_key})
            except ResendError as exc:
                raise classify_resend_error(exc) from exc
        # Accepted: even without an id the provider has it, so it must not be sent again.
        return str(response.get("id") or "")


def backend_from_settings(settings: Settings) -> Backend:
    if settings.mail_backend == "resend":
        return ResendBackend(
            api_key=settings.resend_api_key,
            api_url=settings.resend_api_url,
            sender=settings.mail_from,
            timeout_seconds=settings.mail_timeout_seconds,
        )
    return OutboxBackend()
