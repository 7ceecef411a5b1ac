"""Concurrent users against the real app, over Reflex's real websocket protocol.

    .venv/bin/python -m bench.load [--setups single,scaleout] [--steps 10,50,100,150,200]
                                   [--step-seconds 45] [--max-users 300] [--transactions 2000]
                                   [--think 0.5,2] [--workers N]

What it does, per setup:

1. Copies the app (``git archive HEAD`` by default, or the work tree with ``--source
   worktree``) into a temporary directory, so the run never touches this checkout's ``.web``.
2. Creates a throw-away database (SQLite file, or a fresh PostgreSQL database on loopback),
   migrates it and generates a brokerage with ``chronos.demo`` (every staff member signs in
   with the demo password; tasks, events and documents topped up to issue 7's ratios) plus a
   second brokerage that must stay invisible.
3. Starts ``reflex run --env prod --backend-only --backend-host 127.0.0.1`` there:
   - ``single``: one worker, the embedded defaults: SQLite, in-process jobs, Reflex's
     default state manager (memory, persisted to disk), in-memory rate limits;
   - ``scaleout``: ``REFLEX_REDIS_URL`` (Reflex then uses the Redis state manager),
     ``--workers`` granian workers (``GRANIAN_WORKERS``, default one per CPU; Reflex's own
     default with Redis is ``2 x CPUs + 1``), PostgreSQL, ``CHRONOS_JOBS_URL=redis://`` with
     ``CHRONOS_JOBS_IN_PROCESS=0`` and two ``chronos worker`` processes, Redis rate limits.
4. Signs every login in through the real ``POST /auth/sign-in`` (Origin header, session
   cookie from ``Set-Cookie``), then runs steps of N simulated browsers. Each one is a
   python-socketio client on ``/_event`` (engine.io v4, websocket transport, the session
   cookie in the upgrade request, a fresh Reflex client token) that sends the same events the
   compiled frontend sends (``hydrate_and_load`` with the page's router data on connect,
   ``on_load_internal`` with the new route's router data on every in-app navigation, as the
   compiled frontend does, then the page's event handlers by their full names) and loops a
   journey:

   staff (9 in 10): open /pipeline -> filter by stage -> search -> clear filters ->
   open /transactions/<id> -> complete (or reopen) a task -> start a message thread;
   client (1 in 10): open /portal -> open /portal/<id>.

   A round trip is timed from the emit to the state delta that ends it: for a page open, the
   root state's ``is_hydrated`` turning true (after every on_load handler ran); for an
   action, the delta of the state its last chained handler writes. A think time of
   0.5-2 s (``--think``) separates a user's events: a user clicking without pause; people
   reading pages click far less often. Errors: a failed connect or
   sign-in, a round trip with no answer within 15 s, a dropped socket, a delta that sets a
   page's ``error`` var, a redirect to sign-in.
5. Reports per step p50/p95/p99 of every round trip (and per event), errors, events/s,
   the server's RSS (the process tree, sampled every second; the job workers separately) and
   CPU: the server tree's CPU seconds over the step, as a share of one CPU and per round trip
   (what an event costs, whatever the queueing), and the load generator's own share.
   Steps go up until p95 > 1 s or any error (but always up to 100 users, the product plan's
   figure), ``--max-users`` or the time budget.

Loopback only: the target is always 127.0.0.1 (the server is started here). Everything is
bounded: each step runs ``--step-seconds`` (at most 60) and the users stop; servers and
workers are stopped (their process groups) and databases dropped at the end.

Writes ``bench/results/load-latest.json`` and ``bench/LOAD.md`` (previous figures beside).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_JSON = BENCH_DIR / "results" / "load-latest.json"
RESULTS_MD = BENCH_DIR / "LOAD.md"
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"  # never anything else
REDIS_URL = os.environ.get("CHRONOS_BENCH_REDIS", "redis://127.0.0.1:6379")
# Redis databases the scale-out run uses (flushed before and after): state, jobs, rate limits.
REDIS_DBS = {"state": 11, "jobs": 12, "limits": 13}
SEED = 9090
TODAY = date(2026, 3, 2)
MAX_STEP_SECONDS = 60
ANSWER_TIMEOUT = 15.0
THINK = (0.5, 2.0)  # seconds between a user's events (``--think``)
MUST_REACH = 100  # users: the product plan's load test
PASSWORD_ENV = "CHRONOS_DEMO_PASSWORD"
PASSWORD = "bench-load-password-2026"

ROOT_STATE = "reflex___state____state"
SESSION = f"{ROOT_STATE}.chronos___state___session____session_state"
PIPELINE = f"{SESSION}.chronos___pages___pipeline____pipeline_state"
TRANSACTION = f"{SESSION}.chronos___pages___transaction____transaction_state"
TASKS = f"{SESSION}.chronos___pages___transaction_tasks____task_panel_state"
MESSAGES = f"{SESSION}.chronos___pages___transaction_messages____message_panel_state"
PORTAL = f"{SESSION}.chronos___pages___portal____portal_state"
PORTAL_DEAL = f"{SESSION}.chronos___pages___portal____portal_deal_state"
HYDRATE = f"{ROOT_STATE}.hydrate_and_load"
# What the compiled frontend sends on an in-app (client-side) navigation: only the page's
# on_load chain, never a second hydrate (reflex_base/.templates/web/utils/state.js,
# ``addEvents(app.onLoadInternalEvent())`` in the location effect; Chronos keeps no
# rx.Cookie / rx.LocalStorage vars, so no ``update_vars_internal`` goes with it).
ON_LOAD = f"{ROOT_STATE}.reflex___state____on_load_internal_state.on_load_internal"
NAMESPACE = "/_event"


def _var(name: str) -> str:
    return f"{name}_rx_state_"


# ---------------------------------------------------------------- measuring


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class StepStats:
    users: int
    seconds: float
    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_examples: list[str] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    # CPU seconds (user + system) spent during the step by the server's process tree, the job
    # workers and this load generator: what one round trip costs, whatever the queueing.
    server_cpu_s: float = 0.0
    workers_cpu_s: float = 0.0
    generator_cpu_s: float = 0.0
    worker_rss_mb: list[float] = field(default_factory=list)
    connects: list[float] = field(default_factory=list)
    journeys: int = 0

    def add(self, name: str, ms: float) -> None:
        self.samples.setdefault(name, []).append(ms)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.error_examples) < 8:
            self.error_examples.append(f"{kind}: {detail[:200]}")

    @property
    def all_ms(self) -> list[float]:
        return [v for values in self.samples.values() for v in values]

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def summary(self) -> dict[str, Any]:
        every = self.all_ms

        def fig(values: list[float]) -> dict[str, Any]:
            return {
                "n": len(values),
                "p50_ms": round(percentile(values, 50), 1),
                "p95_ms": round(percentile(values, 95), 1),
                "p99_ms": round(percentile(values, 99), 1),
                "max_ms": round(max(values), 1) if values else None,
            }

        return {
            "users": self.users,
            "seconds": round(self.seconds, 1),
            "round_trips": len(every),
            "events_per_second": round(len(every) / self.seconds, 1) if self.seconds else 0,
            "journeys": self.journeys,
            "all": fig(every),
            "connect_ms": fig(self.connects),
            "events": {name: fig(values) for name, values in sorted(self.samples.items())},
            "errors": self.error_count,
            "errors_by_kind": dict(self.errors),
            "error_examples": self.error_examples,
            "server_cpu_ms_per_round_trip": round(self.server_cpu_s * 1000 / len(every), 2)
            if every
            else None,
            "server_cpu_percent": round(100 * self.server_cpu_s / self.seconds, 1)
            if self.seconds
            else None,
            "job_workers_cpu_percent": round(100 * self.workers_cpu_s / self.seconds, 1)
            if self.seconds
            else None,
            "generator_cpu_percent": round(100 * self.generator_cpu_s / self.seconds, 1)
            if self.seconds
            else None,
            "server_rss_mb_max": round(max(self.rss_mb), 1) if self.rss_mb else None,
            "server_rss_mb_end": round(self.rss_mb[-1], 1) if self.rss_mb else None,
            "job_workers_rss_mb_max": round(max(self.worker_rss_mb), 1)
            if self.worker_rss_mb
            else None,
        }


# ---------------------------------------------------------------- the simulated browser


class Refused(Exception):
    """The app answered, but not with what a working page shows (an error, a redirect)."""


class Browser:
    """One browser tab: a socket.io connection with its own Reflex token."""

    def __init__(self, base: str, cookie: str, stats: StepStats) -> None:
        import socketio

        self.base = base
        self.cookie = cookie
        self.stats = stats
        self.token = str(uuid.uuid4())
        self.sio = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.state: dict[str, dict[str, Any]] = {}
        self.path = "/"
        self.query: dict[str, str] = {}
        self.closed = False
        self.sio.on("event", self._on_event, namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)

    async def _on_event(self, update: dict[str, Any]) -> None:
        delta = update.get("delta") or {}
        for name, values in delta.items():
            self.state.setdefault(name, {}).update(values)
        await self.inbox.put(update)

    async def _on_disconnect(self, *_args: Any) -> None:
        self.closed = True
        await self.inbox.put({"disconnected": True})

    def _router(self) -> dict[str, Any]:
        data: dict[str, Any] = {"pathname": self.path, "asPath": self.path}
        if self.query:
            data["query"] = dict(self.query)
        return data

    async def _until(self, done: Callable[[dict[str, Any]], bool], what: str) -> None:
        deadline = time.perf_counter() + ANSWER_TIMEOUT
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no answer to {what} within {ANSWER_TIMEOUT:.0f}s")
            try:
                update = await asyncio.wait_for(self.inbox.get(), timeout=left)
            except TimeoutError:
                raise TimeoutError(f"no answer to {what} within {ANSWER_TIMEOUT:.0f}s") from None
            if update.get("disconnected"):
                raise ConnectionError(f"socket dropped during {what}")
            for event in update.get("events") or []:
                name = str(event.get("name", ""))
                if "redirect" in name or "call_script" in name:
                    target = json.dumps(event.get("payload", {}))[:120]
                    if "sign-in" in target:
                        raise Refused(f"{what}: redirected to sign-in ({target})")
            for name, values in (update.get("delta") or {}).items():
                err = values.get(_var("error"))
                if err and name != ROOT_STATE:
                    raise Refused(f"{what}: {name.rsplit('.', 1)[-1]} error {err!r}")
            if done(update.get("delta") or {}):
                return

    @staticmethod
    def hydrated(delta: dict[str, Any]) -> bool:
        return delta.get(ROOT_STATE, {}).get(_var("is_hydrated")) is True

    @staticmethod
    def wrote(state: str, var: str) -> Callable[[dict[str, Any]], bool]:
        return lambda delta: _var(var) in delta.get(state, {})

    async def connect(self, path: str, query: dict[str, str] | None = None) -> None:
        self.path, self.query = path, query or {}
        boot = {"name": HYDRATE, "payload": {}, "router_data": self._router()}
        started = time.perf_counter()
        await self.sio.connect(
            f"{self.base}?token={self.token}",
            socketio_path=NAMESPACE,
            namespaces=[NAMESPACE],
            transports=["websocket"],
            headers={"Cookie": self.cookie},
            auth={"event": boot},
            wait_timeout=ANSWER_TIMEOUT,
        )
        await self._until(self.hydrated, f"open {path}")
        ms = (time.perf_counter() - started) * 1000
        self.stats.connects.append(ms)
        self.stats.add(f"open {self._label(path)} (connect)", ms)

    @staticmethod
    def _label(path: str) -> str:
        parts = path.strip("/").split("/")
        return "/" + "/".join("<id>" if p.isdigit() else p for p in parts)

    async def open(self, path: str, query: dict[str, str] | None = None) -> None:
        """A client-side navigation: ``on_load_internal`` with the new route's router data.

        The frontend marks the page not hydrated locally and sends the on_load chain; the
        backend flips ``is_hydrated`` false and, after the page's loaders, true again. A full
        page load (a reload, a typed address) is ``connect``: a new socket and a hydrate.
        """
        self.path, self.query = path, query or {}
        await self._round_trip(
            f"open {self._label(path)}", ON_LOAD, {}, self.hydrated, router=self._router()
        )

    async def call(
        self,
        label: str,
        handler: str,
        payload: dict[str, Any],
        done: Callable[[dict[str, Any]], bool],
    ) -> None:
        await self._round_trip(label, handler, payload, done, router=self._router())

    async def _round_trip(
        self,
        label: str,
        name: str,
        payload: dict[str, Any],
        done: Callable[[dict[str, Any]], bool],
        *,
        router: dict[str, Any],
    ) -> None:
        while not self.inbox.empty():  # late deltas of the previous event
            update = self.inbox.get_nowait()
            if update.get("disconnected"):
                raise ConnectionError("socket dropped")
        started = time.perf_counter()
        await self.sio.emit(
            "event",
            {"name": name, "payload": payload, "router_data": router},
            namespace=NAMESPACE,
        )
        await self._until(done, label)
        self.stats.add(label, (time.perf_counter() - started) * 1000)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()


@dataclass
class Login:
    email: str
    role: str
    cookie: str = ""
    txn_ids: list[int] = field(default_factory=list)


async def staff_journey(b: Browser, login: Login, rng: random.Random, stop: float) -> None:
    words = ("Main", "Oak", "Maple", "Pine", "Park", "Hill", "Lake", "Smith", "Lee", "Garcia")
    await b.connect("/pipeline")
    while time.perf_counter() < stop:
        await think(rng, stop)
        stage = rng.choice(("under_contract", "active_listing", "clear_to_close"))
        await b.call(
            "pipeline filter",
            f"{PIPELINE}.set_stage_filter",
            {"value": stage},
            b.wrote(PIPELINE, "rows"),
        )
        await think(rng, stop)
        await b.call(
            "pipeline search",
            f"{PIPELINE}.set_query",
            {"value": rng.choice(words)},
            b.wrote(PIPELINE, "rows"),
        )
        await think(rng, stop)
        await b.call("pipeline clear", f"{PIPELINE}.clear_filters", {}, b.wrote(PIPELINE, "rows"))
        await think(rng, stop)
        txn_id = rng.choice(login.txn_ids)
        await b.open(f"/transactions/{txn_id}", {"txn_id": str(txn_id)})
        rows = b.state.get(TASKS, {}).get(_var("rows")) or []
        task = next((r for r in rows if r.get("status") in ("open", "done")), None)
        if task is not None:
            await think(rng, stop)
            await b.call(
                "complete/reopen task",
                f"{TASKS}.toggle",
                {"task_id": task["id"], "status": task["status"]},
                b.wrote(TRANSACTION, "events"),
            )
        await think(rng, stop)
        await b.call(
            "message: open form", f"{MESSAGES}.open_new", {}, b.wrote(MESSAGES, "new_open")
        )
        await b.call(
            "message: internal",
            f"{MESSAGES}.set_new_internal",
            {"value": True},
            b.wrote(MESSAGES, "new_internal"),
        )
        await b.call(
            "message: subject",
            f"{MESSAGES}.set_new_subject",
            {"value": f"Load test {rng.randrange(10**6)}"},
            b.wrote(MESSAGES, "new_subject"),
        )
        await b.call(
            "message: body",
            f"{MESSAGES}.set_new_body",
            {"value": "Checking in on the inspection report and the appraisal schedule."},
            b.wrote(MESSAGES, "new_body"),
        )
        await b.call("message: post", f"{MESSAGES}.create", {}, b.wrote(TRANSACTION, "events"))
        b.stats.journeys += 1
        await think(rng, stop)
        await b.open("/pipeline")


async def client_journey(b: Browser, login: Login, rng: random.Random, stop: float) -> None:
    await b.connect("/portal")
    while time.perf_counter() < stop:
        await think(rng, stop)
        txn_id = rng.choice(login.txn_ids)
        await b.open(f"/portal/{txn_id}", {"txn_id": str(txn_id)})
        await think(rng, stop)
        await b.open("/portal")
        b.stats.journeys += 1


class StepOver(Exception):
    """The step's time ran out while the user was thinking: they send nothing more."""


async def think(rng: random.Random, stop: float) -> None:
    """A user reading the page. If the step ends first, the user stops there: waking every
    thinking user at the step's end to send one more event at the same instant would measure
    a burst no real traffic has (it put ~800 ms on every step's p95-p99 before)."""
    pause = rng.uniform(*THINK)
    if time.perf_counter() + pause >= stop:
        await asyncio.sleep(max(0.0, stop - time.perf_counter()))
        raise StepOver
    await asyncio.sleep(pause)


async def one_user(
    base: str, login: Login, stats: StepStats, rng: random.Random, start_delay: float, stop: float
) -> None:
    await asyncio.sleep(start_delay)
    browser = Browser(base, login.cookie, stats)
    journey = client_journey if login.role == "client" else staff_journey
    try:
        await journey(browser, login, rng, stop)
    except StepOver:
        pass
    except TimeoutError as exc:
        stats.error("timeout", str(exc))
    except Refused as exc:
        stats.error("refused", str(exc))
    except (ConnectionError, OSError) as exc:
        stats.error("connection", f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a benchmark counts every failure, whatever its kind
        stats.error(type(exc).__name__, str(exc))
    finally:
        await browser.close()


# ---------------------------------------------------------------- processes


def _tree_sum(pids: list[int], measure: Callable[[Any], float]) -> float:
    """``measure`` summed over these processes and their children (gone ones count 0)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += measure(p)
        except psutil.Error:
            continue
    return total


def _cpu_seconds(proc: Any) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def tree_rss_mb(pids: list[int]) -> float:
    return _tree_sum(pids, lambda p: p.memory_info().rss) / 1024 / 1024


def tree_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and their children, so far."""
    return _tree_sum(pids, _cpu_seconds)


def own_cpu_seconds() -> float:
    """User + system CPU seconds of this process alone (the load generator), so far."""
    import psutil

    return _cpu_seconds(psutil.Process())


async def sample_rss(stats: StepStats, server: int, workers: list[int], stop: float) -> None:
    while time.perf_counter() < stop:
        stats.rss_mb.append(tree_rss_mb([server]))
        if workers:
            stats.worker_rss_mb.append(tree_rss_mb(workers))
        await asyncio.sleep(1.0)


async def run_step(
    base: str, logins: list[Login], users: int, seconds: float, server: int, workers: list[int]
) -> StepStats:
    stats = StepStats(users=users, seconds=seconds)
    rng = random.Random(SEED + users)
    cpu_start = (
        tree_cpu_seconds([server]),
        tree_cpu_seconds(workers),
        own_cpu_seconds(),
    )
    started = time.perf_counter()
    ramp = min(5.0, seconds / 4)
    stop = started + seconds
    staff = [login for login in logins if login.role != "client"]
    clients = [login for login in logins if login.role == "client"]
    chosen = []
    for i in range(users):
        pool = clients if clients and i % 10 == 9 else staff
        chosen.append(pool[i % len(pool)])
    # Users sharing a login get disjoint files, so two of them never race for the same task
    # (the app would rightly refuse the second toggle as out of date).
    sharing = {id(login): sum(1 for c in chosen if c is login) for login in chosen}
    seen: dict[int, int] = {}
    tasks = []
    for i, login in enumerate(chosen):
        k = seen[id(login)] = seen.get(id(login), -1) + 1
        files = login.txn_ids[k :: sharing[id(login)]] or login.txn_ids
        login = replace(login, txn_ids=files)
        tasks.append(
            asyncio.create_task(
                one_user(
                    base,
                    login,
                    stats,
                    random.Random(rng.random()),
                    ramp * i / max(1, users),
                    stop,
                )
            )
        )
    sampler = asyncio.create_task(sample_rss(stats, server, workers, stop))
    # Bounded: the users stop at ``stop``; an unanswered round trip ends after ANSWER_TIMEOUT.
    await asyncio.wait(tasks, timeout=seconds + ANSWER_TIMEOUT + 10)
    for task in tasks:
        if not task.done():
            task.cancel()
            stats.error("stuck", "a user was still waiting after the step ended")
    await asyncio.gather(*tasks, return_exceptions=True)
    await sampler
    stats.seconds = time.perf_counter() - started
    stats.server_cpu_s = tree_cpu_seconds([server]) - cpu_start[0]
    stats.workers_cpu_s = tree_cpu_seconds(workers) - cpu_start[1]
    stats.generator_cpu_s = own_cpu_seconds() - cpu_start[2]
    return stats


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def copy_app(source: str, into: Path) -> None:
    if source == "head":
        archive = subprocess.run(
            ["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        import io

        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(into, filter="data")
    else:
        skip = {".web", ".venv", "var", ".git", ".states", "test-artifacts", "node_modules"}
        for item in ROOT.iterdir():
            if item.name in skip or item.name.endswith("_cache"):
                continue
            if item.is_dir():
                shutil.copytree(
                    item, into / item.name, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy2(item, into / item.name)


@contextlib.contextmanager
def process_group(cmd: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> Iterator[int]:
    """Start a command in its own process group; stop that whole group afterwards."""
    handle = log.open("wb")
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield proc.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        handle.close()


def wait_for(url: str, seconds: float, pid: int) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            raise RuntimeError(f"the server exited before answering {url}") from None
        time.sleep(0.5)
    raise RuntimeError(f"no answer from {url} within {seconds:.0f}s")


def flush_redis() -> None:
    import redis

    for db in REDIS_DBS.values():
        redis.Redis.from_url(f"{REDIS_URL}/{db}").flushdb()


def redis_unavailable() -> str | None:
    import redis

    from bench.run import _loopback_reason

    reason = _loopback_reason(REDIS_URL.replace("redis://", "postgresql://", 1))
    if reason:
        return reason.replace("CHRONOS_BENCH_PG_DSN", "CHRONOS_BENCH_REDIS")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # any failure to connect means: skip, and say why
        return f"no Redis answers at {REDIS_URL}: {exc}"
    return None


# ---------------------------------------------------------------- data


def prepare_data(url: str, transactions: int) -> tuple[list[Login], dict[str, int]]:
    from sqlalchemy import func, text
    from sqlmodel import col, select

    from chronos.db import make_engine, session_scope
    from chronos.demo import add_bulk_volume, generate_brokerage
    from chronos.migrate import upgrade
    from chronos.models import Participant, Role, Task, Transaction, User

    upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as db:
            main = generate_brokerage(
                db,
                seed=SEED,
                transactions=transactions,
                name="Load Test Realty",
                slug="load-main",
                today=TODAY,
                with_logins=True,
                use_services=False,
                demo_roles=tuple(Role),
            )
            volume = add_bulk_volume(
                db,
                main.org_id,
                seed=SEED,
                today=TODAY,
                tasks_total=20 * transactions,
                events_total=30 * transactions,
                documents=5 * transactions,
                key_dates=True,
            )
            other = generate_brokerage(
                db,
                seed=SEED + 1,
                transactions=max(10, transactions // 20),
                name="Load Other Homes",
                slug="load-other",
                today=TODAY,
                with_logins=True,
                use_services=False,
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
        logins: list[Login] = []
        with session_scope(engine) as db:
            agents = db.exec(
                select(User)
                .where(User.org_id == main.org_id, User.role == Role.AGENT.value)
                .order_by(col(User.id))
            ).all()
            for agent in agents:
                owned = db.exec(
                    select(Transaction.id)
                    .join(Task, col(Task.transaction_id) == Transaction.id)
                    .where(Transaction.owner_id == agent.id)
                    .group_by(col(Transaction.id))
                    .having(func.count() > 0)
                    .order_by(col(Transaction.id))
                    .limit(60)
                ).all()
                if owned:
                    logins.append(Login(agent.email, "agent", txn_ids=[int(t) for t in owned]))
            client = db.exec(
                select(User).where(User.org_id == main.org_id, User.role == Role.CLIENT.value)
            ).first()
            if client is not None:
                files = db.exec(
                    select(Participant.transaction_id).where(Participant.user_id == client.id)
                ).all()
                if files:
                    logins.append(Login(client.email, "client", txn_ids=[int(t) for t in files]))
        sizes = {
            "transactions": main.transactions,
            "people": main.people,
            "users": main.users,
            "tasks": volume.tasks_total,
            "events": volume.events_total,
            "documents": volume.documents,
            "other_transactions": other.transactions,
            "agent_logins": sum(1 for login in logins if login.role == "agent"),
        }
        return logins, sizes
    finally:
        engine.dispose()


async def sign_in_all(base: str, logins: list[Login]) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for login in logins:
            # A fresh jar each time: the sign-in route ends the session the browser sends.
            http.cookies.clear()
            response = await http.post(
                "/auth/sign-in",
                data={"email": login.email, "password": PASSWORD},
                headers={"Origin": base},
            )
            cookies = [
                h.split(";", 1)[0]
                for h in response.headers.get_list("set-cookie")
                if "Max-Age=0" not in h and '=""' not in h.split(";", 1)[0]
            ]
            location = response.headers.get("location", "")
            if response.status_code != 303 or not cookies or "/sign-in" in location:
                raise RuntimeError(
                    f"sign-in of {login.email} failed: {response.status_code} "
                    f"{response.headers.get('location')}"
                )
            login.cookie = "; ".join(cookies)


# ---------------------------------------------------------------- one setup


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'load.db'}"
        return
    from bench.run import fresh_database

    with fresh_database("postgresql") as url:
        yield url


def run_setup(setup: str, args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"chronos-load-{setup}-"))
    app_dir = folder / "app"
    app_dir.mkdir()
    steps_out: list[dict[str, Any]] = []
    try:
        copy_app(args.source, app_dir)
        kind = "sqlite" if setup == "single" else "postgresql"
        with database(kind, folder) as url:
            env = {
                **os.environ,
                "REFLEX_USE_SYSTEM_BUN": "1",
                "REFLEX_TELEMETRY_ENABLED": "false",
                "DATABASE_URL": url,
                "CHRONOS_VAR_DIR": str(folder / "var"),
                "CHRONOS_SECRET_KEY": uuid.uuid4().hex * 2,
                PASSWORD_ENV: PASSWORD,
                "CHRONOS_DEV_MAILBOX": "0",
                "CHRONOS_LOG_LEVEL": "WARNING",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
            env.pop("REFLEX_REDIS_URL", None)
            if setup == "scaleout":
                flush_redis()
                env.update(
                    {
                        "REFLEX_REDIS_URL": f"{REDIS_URL}/{REDIS_DBS['state']}",
                        "CHRONOS_JOBS_URL": f"{REDIS_URL}/{REDIS_DBS['jobs']}",
                        "CHRONOS_JOBS_IN_PROCESS": "0",
                        # Reflex's default with Redis is 2 x CPUs + 1 (sized for blocking
                        # workers); these are asyncio workers, so one per CPU (README).
                        "GRANIAN_WORKERS": str(args.workers),
                        "CHRONOS_RATE_LIMIT_STORAGE": f"{REDIS_URL}/{REDIS_DBS['limits']}",
                    }
                )
            os.environ[PASSWORD_ENV] = PASSWORD  # the generator hashes this password
            from chronos.settings import get_settings

            get_settings.cache_clear()
            print(f"[{setup}] generating {args.transactions:,} transactions on {kind} ...")
            started = time.perf_counter()
            logins, sizes = prepare_data(url, args.transactions)
            print(f"[{setup}] data ready in {time.perf_counter() - started:.0f}s: {sizes}")
            port = free_port()
            base = f"http://{HOST}:{port}"
            server_cmd = [
                str(VENV_BIN / "reflex"),
                "run",
                "--env",
                "prod",
                "--backend-only",
                "--backend-host",
                HOST,
                "--backend-port",
                str(port),
                "--loglevel",
                "warning",
            ]
            worker_cmd = [str(VENV_BIN / "python"), "-m", "chronos.cli", "worker"]
            with contextlib.ExitStack() as stack:
                server = stack.enter_context(
                    process_group(server_cmd, cwd=app_dir, env=env, log=folder / "server.log")
                )
                workers: list[int] = []
                if setup == "scaleout":
                    for i in range(2):
                        cmd = worker_cmd + ([] if i == 0 else ["--no-periodic"])
                        workers.append(
                            stack.enter_context(
                                process_group(
                                    cmd, cwd=app_dir, env=env, log=folder / f"worker{i}.log"
                                )
                            )
                        )
                wait_for(f"{base}/ping", 180, server)
                time.sleep(2)
                processes = _describe_processes(server)
                print(f"[{setup}] server up at {base}: {processes}")
                asyncio.run(sign_in_all(base, logins))
                idle_rss = tree_rss_mb([server])
                for users in args.steps:
                    if users > args.max_users:
                        break
                    if time.monotonic() > args.deadline:
                        print(f"[{setup}] time budget spent; stopping before {users} users")
                        break
                    stats = asyncio.run(
                        run_step(base, logins, users, args.step_seconds, server, workers)
                    )
                    summary = stats.summary()
                    summary["load_average_1m"] = round(os.getloadavg()[0], 2)
                    steps_out.append(summary)
                    a = summary["all"]
                    print(
                        f"[{setup}] {users:>4} users: {summary['round_trips']:>6} round trips "
                        f"({summary['events_per_second']}/s)  p50 {a['p50_ms']} p95 {a['p95_ms']} "
                        f"p99 {a['p99_ms']} ms  errors {summary['errors']}  "
                        f"RSS {summary['server_rss_mb_max']} MB  server CPU "
                        f"{summary['server_cpu_percent']}% "
                        f"({summary['server_cpu_ms_per_round_trip']} ms/round trip)  "
                        f"generator CPU {summary['generator_cpu_percent']}%"
                    )
                    for example in summary["error_examples"][:3]:
                        print(f"         {example}")
                    # The product plan's figure is 100 users: always measured, then stop at
                    # the first step that breaks (p95 over 1 s or any error).
                    if (a["p95_ms"] > 1000 or summary["errors"]) and users >= MUST_REACH:
                        print(f"[{setup}] stopping: p95 > 1 s or errors at {users} users")
                        break
                log_tail = (folder / "server.log").read_text(errors="replace")[-3000:]
            if setup == "scaleout":
                flush_redis()
        return {
            "setup": setup,
            "database": kind,
            "processes": processes,
            "sizes": sizes,
            "idle_rss_mb": round(idle_rss, 1),
            "steps": steps_out,
            "server_log_tail": log_tail if any(s["errors"] for s in steps_out) else "",
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _describe_processes(server: int) -> str:
    import psutil

    procs = [psutil.Process(server), *psutil.Process(server).children(recursive=True)]
    names = [" ".join(p.cmdline()[:3])[-60:] for p in procs if p.is_running()]
    return f"{len(procs)} processes in the server tree ({'; '.join(names[:8])})"


# ---------------------------------------------------------------- reporting


def write_markdown(report: dict[str, Any], previous: dict[str, Any] | None) -> None:
    prev_steps: dict[tuple[str, int], dict[str, Any]] = {}
    for setup in (previous or {}).get("setups", {}).values():
        for step in setup.get("steps", []):
            prev_steps[(setup["setup"], step["users"])] = step
    m = report["machine"]
    out = [
        "# Load test: simulated browsers over Reflex's websocket",
        "",
        "Generated by `python -m bench.load` (`make bench-load`); figures also in "
        "`bench/results/load-latest.json`. How it works: the docstring of `bench/load.py`.",
        "",
        f"- Date: {report['date']}; machine: {m['cpu_count']} CPUs, {m['platform']}, "
        f"Python {m['python']}; load average {m['load_average_start']} at the start "
        "(other work on this machine shares the 2 CPUs with the server AND the load generator)",
        f"- Each step: N users ramped up over the first 5 s, then {report['config']['step_seconds']} s "
        f"in all; think time {report['config']['think_seconds'][0]}-"
        f"{report['config']['think_seconds'][1]} s between a user's events; 9 in 10 users are "
        "staff (pipeline, filter, search, transaction, task, message), 1 in 10 a client (portal)",
        "- Round trip: emit -> the state delta that completes the event (page opens include every "
        "on_load handler); all figures in ms",
    ]
    if previous:
        out.append(f"- prev: the previous run ({previous.get('date', '?')})")
    out += [""]
    headers = [
        "setup",
        "users",
        "round trips",
        "events/s",
        "p50",
        "p95",
        "p99",
        "max",
        "errors",
        "server RSS MB",
        "server CPU % (ms/round trip)",
        "prev p95",
        "prev errors",
    ]
    rows = []
    for setup in report["setups"].values():
        if "skipped" in setup:
            out.append(f"{setup['setup']}: skipped ({setup['skipped']})")
            continue
        for step in setup["steps"]:
            a = step["all"]
            prev = prev_steps.get((setup["setup"], step["users"]))
            rss = f"{step['server_rss_mb_max']}"
            if step.get("job_workers_rss_mb_max"):
                rss += f" (+ job workers {step['job_workers_rss_mb_max']})"
            rows.append(
                [
                    setup["setup"],
                    str(step["users"]),
                    str(step["round_trips"]),
                    str(step["events_per_second"]),
                    str(a["p50_ms"]),
                    str(a["p95_ms"]),
                    str(a["p99_ms"]),
                    str(a["max_ms"]),
                    str(step["errors"]),
                    rss,
                    f"{step.get('server_cpu_percent', '-')} "
                    f"({step.get('server_cpu_ms_per_round_trip', '-')})",
                    str(prev["all"]["p95_ms"]) if prev else "-",
                    str(prev["errors"]) if prev else "-",
                ]
            )
    out += [
        "## Steps, side by side",
        "",
        "| " + " | ".join(headers) + " |",
        "| --- | " + " | ".join("---:" for _ in headers[1:]) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]
    for setup in report["setups"].values():
        if "skipped" in setup:
            continue
        out += [
            "",
            f"## {setup['setup']}: {setup['database']}, {setup['processes']}",
            "",
            f"Data: {setup['sizes']}. Idle server RSS after start and sign-ins: "
            f"{setup['idle_rss_mb']} MB.",
        ]
        for step in setup["steps"]:
            out += [
                "",
                f"### {step['users']} users ({step['journeys']} journeys, load average "
                f"{step['load_average_1m']} at the end)",
                "",
                "| event | n | p50 | p95 | p99 | max |",
                "| --- | ---: | ---: | ---: | ---: | ---: |",
            ]
            for name, f in step["events"].items():
                out.append(
                    f"| {name} | {f['n']} | {f['p50_ms']} | {f['p95_ms']} | {f['p99_ms']} | "
                    f"{f['max_ms']} |"
                )
            if step["errors"]:
                out += ["", f"Errors: {step['errors_by_kind']}", ""]
                out += [f"- `{e}`" for e in step["error_examples"]]
    RESULTS_MD.write_text("\n".join(out) + "\n", encoding="utf-8")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--setups", default="single,scaleout")
    parser.add_argument("--steps", default="10,50,100,150,200,300")
    parser.add_argument("--step-seconds", type=float, default=45)
    parser.add_argument("--max-users", type=int, default=300)
    parser.add_argument("--transactions", "-n", type=int, default=2000)
    parser.add_argument(
        "--think",
        default=f"{THINK[0]},{THINK[1]}",
        help="MIN,MAX seconds a user waits between events (default %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="scaleout: backend worker processes (GRANIAN_WORKERS; default one per CPU)",
    )
    parser.add_argument(
        "--source", choices=("head", "worktree"), default="head", help="which code to serve"
    )
    parser.add_argument(
        "--budget-minutes", type=float, default=30, help="stop stepping after this long"
    )
    args = parser.parse_args(argv)
    args.setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    if set(args.setups) - {"single", "scaleout"}:
        parser.error("--setups: single and/or scaleout")
    args.steps = sorted({int(s) for s in args.steps.split(",") if s.strip()})
    if not args.steps or min(args.steps) < 1 or max(args.steps) > 1000:
        parser.error("--steps: user counts between 1 and 1000")
    if not 5 <= args.step_seconds <= MAX_STEP_SECONDS:
        parser.error(f"--step-seconds must be between 5 and {MAX_STEP_SECONDS}")
    if not 1 <= args.max_users <= 1000:
        parser.error("--max-users must be between 1 and 1000")
    try:
        low, high = (float(x) for x in args.think.split(","))
    except ValueError:
        parser.error("--think: MIN,MAX seconds, e.g. 0.5,2")
    if not 0 <= low <= high <= 120:
        parser.error("--think: 0 <= MIN <= MAX <= 120 seconds")
    args.think = (low, high)
    if not 1 <= args.workers <= 16:
        parser.error("--workers must be between 1 and 16")
    if not 10 <= args.transactions <= 20_000:
        parser.error("--transactions must be between 10 and 20000")
    args.deadline = time.monotonic() + args.budget_minutes * 60
    return args


def main(argv: list[str] | None = None) -> int:
    global THINK
    args = parse_args(argv)
    THINK = args.think
    # SIGTERM unwinds like Ctrl-C: servers, workers and databases are still cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from bench.run import postgres_unavailable

    load_start = round(os.getloadavg()[0], 2)
    previous = None
    if RESULTS_JSON.exists():
        with contextlib.suppress(ValueError):
            previous = json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
    setups: dict[str, Any] = {}
    for setup in args.setups:
        if setup == "scaleout":
            reason = redis_unavailable() or postgres_unavailable()
            if reason:
                print(f"[scaleout] skipped: {reason}")
                setups[setup] = {"setup": setup, "skipped": reason}
                continue
        setups[setup] = run_setup(setup, args)
    report = {
        "schema": 1,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(terse=True),
            "python": platform.python_version(),
            "load_average_start": load_start,
            "load_average_end": round(os.getloadavg()[0], 2),
        },
        "config": {
            "steps": args.steps,
            "step_seconds": args.step_seconds,
            "max_users": args.max_users,
            "transactions": args.transactions,
            "scaleout_workers": args.workers,
            "think_seconds": list(THINK),
            "source": args.source,
        },
        "setups": setups,
    }
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    write_markdown(report, previous)
    print(f"Wrote {RESULTS_JSON} and {RESULTS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
