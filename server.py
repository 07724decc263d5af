"""`aidcal serve`: the bureau's server, one process in front of the database, behind the
bureau's TLS reverse proxy (docs/deployment.md).

Every request names one act of engine/service.py and carries a user's token; the act is
authorised, run and audited there, exactly as a local command's. What FastAPI and uvicorn
do not bring is here: a limit on request bodies (counted as they arrive, not trusted from
Content-Length), a time limit on requests that never leaves a write half done (a write past
its deadline rolls back instead of committing), and a limit on failed authentications per
token and address. Like the CLI and the daemon, this is a shell: it reads the clock.
"""
from __future__ import annotations

import asyncio
import contextvars
import hashlib
import importlib
import json
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from aidcal import __version__, i18n
from aidcal.engine import access, audit, logs, service, store, workdays
from aidcal.engine.errors import InputError, Refused, one_line
from aidcal.engine.masking import mask_personal
from aidcal.i18n import N_, _

FAILURES_ALLOWED = 10  # failed authentications per token and per address …
FAILURE_WINDOW = 60.0  # … within this many seconds; then 429 for that token, or for tokens unknown from that address
SMALL_BODY = 64 * 1024  # a body up to this size is read before its token is checked (one hop, not two)
UNNOTICED = "X-Aidcal-Years-Without-Notice"  # the years a request's working days followed the law alone (client.py)
LINK_EVERY = 1.0  # seconds between the audit linker's runs: the longest an entry waits for its place in the chain


class BodyLimit:
    """ASGI middleware: a request body larger than `limit` bytes is refused (413) as soon
    as it is known to be, without reading the rest."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await _answer(send, 413, _("the request is larger than the server's limit of {mb} MB").format(
                mb=self.limit // (1024 * 1024)))
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge()
            return message
        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _answer(send, 413, _("the request is larger than the server's limit of {mb} MB").format(
                mb=self.limit // (1024 * 1024)))


class _TooLarge(Exception):
    pass


async def _answer(send, status: int, problem: str) -> None:
    body = json.dumps({"problems": [problem]}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class Failures:
    """Failed authentications, remembered per key (a token's hash, an address) for a window."""

    def __init__(self):
        self.seen: dict[str, deque] = defaultdict(deque)

    def blocked(self, keys, now: float) -> bool:
        for key in keys:
            times = self.seen.get(key)
            while times and now - times[0] > FAILURE_WINDOW:
                times.popleft()
            if times is not None and not times:
                del self.seen[key]  # random made-up tokens must not grow the table without end
        return any(len(self.seen.get(k, ())) >= FAILURES_ALLOWED for k in keys)

    def add(self, keys, now: float) -> None:
        for key in keys:
            self.seen[key].append(now)


def create(url: str, max_body_mb: int = 60, timeout: float = 60.0, today=None, keys=None) -> FastAPI:
    """The server's application on the database at `url`; `today` is its clock; `keys` seal
    and open the personal data (engine/sealing.py), read once at start."""
    from aidcal.commands.shell import today as beijing_today
    engine = store.connect(url)
    today = today or beijing_today
    failures = Failures()
    for module in service.ACT_MODULES:
        importlib.import_module(f"aidcal.engine.acts.{module}")
    # Writes on SQLite wait for one another anyway: they go to one thread of their own, in turn,
    # rather than to many threads that would fight for the GIL and the write lock; reads (and
    # PostgreSQL's writes, which run side by side) go to the pool.
    writer = ThreadPoolExecutor(1, thread_name_prefix="aidcal-writer") if store.serialised(engine) else None

    async def linking():
        """The audit linker (engine/audit.py `link`), every LINK_EVERY seconds: its digests read in the
        pool, its links made in the writers' lane."""
        loop, failing = asyncio.get_running_loop(), None
        while True:
            try:
                while pending := await loop.run_in_executor(None, audit.digested, engine):  # reads: the pool
                    linked = await loop.run_in_executor(writer, audit.link_digested, engine, pending)
                    if len(pending) < audit.BATCH or not linked:
                        break  # what waited is linked (or another linker took it); the rest in a second, as `link`
                if failing is not None:
                    logs.get(__name__).info("audit linking resumed")
                failing = None
            except Exception as exc:  # logged without locals, once while it keeps failing the same way
                if one_line(exc) != failing:
                    failing = one_line(exc)
                    logs.get(__name__).error("audit linking failed", error=failing)
            await asyncio.sleep(LINK_EVERY)

    @asynccontextmanager
    async def lifespan(_app):
        linker = asyncio.create_task(linking())
        try:
            yield
        finally:
            linker.cancel()
            try:
                await asyncio.get_running_loop().run_in_executor(writer, audit.link, engine)  # nothing left unlinked
            except Exception as exc:  # the entries stay as written; the next linker links them
                logs.get(__name__).error("audit linking failed", error=one_line(exc))

    app = FastAPI(title="aidcal", version=__version__, docs_url=None, redoc_url=None,  # no CDN: the schema alone
                  lifespan=lifespan)

    def error(status: int, problems) -> JSONResponse:
        return JSONResponse({"problems": [mask_personal(p) for p in problems]}, status_code=status)

    @app.get("/health")
    def health():
        return {"status": "ok", "version": __version__}

    @app.post("/api/{name}")
    async def act(name: str, request: Request):
        i18n.use("en" if request.headers.get("x-aidcal-lang") == "en" else "zh")
        address = request.client.host if request.client else "?"
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        asker = (f"token:{hashlib.sha256(token.encode()).hexdigest()[:16]}", f"address:{address}")
        def held_off() -> JSONResponse:
            return error(429, [_("too many failed logins from this token or address; wait a minute")])

        if failures.blocked(asker[:1], time.monotonic()):
            return held_off()
        actor = None
        deadline = time.monotonic() + timeout
        spec = service.OPS.get(name)  # every act module is imported at start: nothing is imported on the loop
        # A sheet's parsing (`prepare`) must not hold the writer thread: those acts go to the pool.
        lane = writer if spec is not None and spec.writes and spec.prepare is None else None
        declared = request.headers.get("content-length", "")
        try:
            if failures.blocked(asker[1:], time.monotonic()):
                # Schools behind one NAT share an address: one school's stale token must not lock out the rest.
                # From a held-off address a known token still passes (one indexed read); a guess is not recorded.
                try:
                    actor = await run_in_threadpool(_authenticated, engine, token)
                except _Unknown:
                    return held_off()
            if actor is None and not (declared.isdigit() and int(declared) <= SMALL_BODY):  # a large body: a known user's only
                actor = await run_in_threadpool(_authenticated, engine, token)
            body = await request.body()
            result, unnoticed = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(
                lane, contextvars.copy_context().run, _answer_request, engine, actor or token, body, name, today(),
                lambda: time.monotonic() > deadline, keys), timeout + 5)
        except _Unknown:
            failures.add(asker, time.monotonic())
            why = N_("the token is unknown or revoked; ask the bureau for a new one")
            await run_in_threadpool(audit.refused, engine, audit.Entry(f"unknown@{address}", name), i18n.in_chinese(why))
            return error(401, [_(why)])
        except _NotJSON:
            return error(400, [_("the request is not JSON with a \"params\" object")])
        except InputError as exc:
            return error(400, exc.problems)
        except Refused as exc:
            return error(403, [str(exc)])
        except TimeoutError:
            return error(504, [_("the request took longer than {s} s; nothing was written").format(s=int(timeout))])
        except _TooLarge:
            raise  # BodyLimit answers 413
        except Exception as exc:  # a bug or the database: one line, no locals, no SQL
            return error(500, [one_line(exc)])
        return JSONResponse(result, headers={UNNOTICED: ",".join(map(str, unnoticed))} if unnoticed else None)

    app.add_middleware(BodyLimit, limit=max_body_mb * 1024 * 1024)
    return app


class _Unknown(Exception):
    """The request's token is no active user's."""


class _NotJSON(Exception):
    """The request's body is not JSON with a params object."""


def _authenticated(engine, token: str) -> access.Actor:
    """The token's active user; _Unknown if there is none."""
    actor = None
    if token.startswith(access.TOKEN_PREFIX):
        with store.reading(engine) as conn:
            actor = access.authenticate(conn, token)
    if actor is None:
        raise _Unknown
    return actor


def _answer_request(engine, asker, body: bytes, name: str, today, expired, keys):
    """In a worker thread, in one hop from the event loop: who asks (a token, or the user a large
    request's token was already found to be), what is asked, the act."""
    actor = asker if isinstance(asker, access.Actor) else _authenticated(engine, asker)
    try:
        params = json.loads(body).get("params", {})
    except (ValueError, AttributeError):
        raise _NotJSON from None
    if not isinstance(params, dict):
        raise _NotJSON
    result = service.call(engine, actor, name, params, today, expired, keys)
    return result, workdays.years_without_notice()  # this request's own (its context's): the client warns of them
