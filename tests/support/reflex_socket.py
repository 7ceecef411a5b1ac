"""A browser tab as an attacker sees it: Reflex's socket.io protocol spoken by hand.

Any client can open the event socket with any token, Origin and cookie and send any event
with any payload; these helpers do exactly that against a running app, and record every
frame the server sends back so a test can search them for data that must not be there.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx

NAMESPACE = "/_event"
ROOT = "reflex___state____state"
SESSION = f"{ROOT}.chronos___state___session____session_state"
HYDRATE = f"{ROOT}.hydrate_and_load"


def state_name(module: str, cls: str) -> str:
    """The full name of a page state under SessionState (``chronos.pages.account``,
    ``AccountState``)."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in cls).lstrip("_")
    return f"{SESSION}.{module.replace('.', '___')}____{snake}"


def var(name: str) -> str:
    return f"{name}_rx_state_"


def sign_in(base_url: str, email: str, password: str) -> str:
    """The ``Cookie`` header value of a fresh session, through the real sign-in form route."""
    with httpx.Client(base_url=base_url, follow_redirects=False) as http:
        answer = http.post(
            "/auth/sign-in",
            data={"email": email, "password": password},
            headers={"Origin": base_url},
        )
        token = answer.cookies.get("chronos_session")
    if answer.status_code != 303 or not token:
        raise AssertionError(f"sign-in as {email} failed: {answer.status_code} {answer.headers}")
    return f"chronos_session={token}"


def sign_out(base_url: str, cookie: str) -> None:
    with httpx.Client(base_url=base_url, follow_redirects=False) as http:
        answer = http.post("/auth/sign-out", headers={"Origin": base_url, "Cookie": cookie})
    assert answer.status_code == 303, answer.status_code


class Tab:
    """One tab: a socket.io connection with a client token, an Origin and maybe a cookie."""

    def __init__(
        self,
        base_url: str,
        *,
        cookie: str | None = None,
        origin: str | None = None,
        token: str | None = None,
    ) -> None:
        import socketio

        self.base_url = base_url
        self.token = token or str(uuid.uuid4())
        self.headers: dict[str, str] = {"Origin": origin or base_url}
        if cookie:
            self.headers["Cookie"] = cookie
        self.frames: list[dict[str, Any]] = []
        self.state: dict[str, dict[str, Any]] = {}
        self.path = "/"
        self.query: dict[str, str] = {}
        self._sio = socketio.AsyncClient(reconnection=False)
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._sio.on("event", self._on_event, namespace=NAMESPACE)

    async def _on_event(self, update: dict[str, Any]) -> None:
        self.frames.append(update)
        for name, values in (update.get("delta") or {}).items():
            self.state.setdefault(name, {}).update(values)
        await self._inbox.put(update)

    def _router(self) -> dict[str, Any]:
        return {"pathname": self.path, "asPath": self.path, "query": dict(self.query)}

    async def connect(self, path: str, query: dict[str, str] | None = None) -> None:
        """Open the socket the way the compiled frontend does (hydrate in the CONNECT auth).
        ``query`` carries a dynamic route's parameters too (``{"txn_id": "5"}``)."""
        self.path, self.query = path, dict(query or {})
        boot = {"name": HYDRATE, "payload": {}, "router_data": self._router()}
        await self._sio.connect(
            f"{self.base_url}?token={self.token}",
            socketio_path=NAMESPACE,
            namespaces=[NAMESPACE],
            transports=["websocket"],
            headers=self.headers,
            auth={"event": boot},
            wait_timeout=15,
        )

    async def send(self, handler: str, payload: dict[str, Any] | None = None) -> None:
        await self._sio.emit(
            "event",
            {"name": handler, "payload": payload or {}, "router_data": self._router()},
            namespace=NAMESPACE,
        )

    async def settle(self, quiet: float = 1.5, limit: float = 20.0) -> None:
        """Wait until the server has sent nothing for ``quiet`` seconds."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                await asyncio.wait_for(self._inbox.get(), timeout=quiet)
            except TimeoutError:
                return

    async def until(self, state: str, name: str, accept: Any = None, limit: float = 20.0) -> Any:
        """The value of ``state``'s var ``name`` once a frame has set it (to a value that
        ``accept`` takes, when given: the hydrate sends defaults before the loaders run)."""
        deadline = time.monotonic() + limit

        def ready() -> bool:
            values = self.state.get(state, {})
            return var(name) in values and (accept is None or accept(values[var(name)]))

        while not ready():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{state}.{name} never arrived")
            try:
                await asyncio.wait_for(self._inbox.get(), timeout=left)
            except TimeoutError:
                raise TimeoutError(f"{state}.{name} never arrived") from None
        return self.state[state][var(name)]

    def text(self) -> str:
        """Every frame received, as one JSON string to search."""
        return json.dumps(self.frames)

    async def close(self) -> None:
        await self._sio.disconnect()
