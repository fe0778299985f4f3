"""The Starlette application: the page, its assets and the HTTP API (docs/serve.md).

Handlers turn a JSON request into a call of the library's own explain, fit and
check code and the result into JSON; the page renders what they send. The
explainer runs in worker threads, off the event loop, under a time limit, and
an unchanged request is answered from a small cache.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..explain import builtin_names, load_builtin
from ..explain.problems import ProblemError
from . import limits
from .datasets import DATASETS
from .errors import RequestError
from .exercises import answers_from, check_json, worksheet_json
from .explaining import FORMATS, explain_fields, explanation_for, render
from .guard import Guard
from .sample import explain_sample
from .training import ACTIVATIONS, LOSSES, MODES, OPTIMIZERS, Sessions, settings_from

__all__ = ["create_app"]

log = logging.getLogger("chainrule.serve")

#: The files the app serves, by the name in its URL: a client names one of these, never a path.
_ASSETS = {
    "app.css": ("chainrule.serve.assets", "app.css", "text/css; charset=utf-8"),
    "app.js": ("chainrule.serve.assets", "app.js", "text/javascript; charset=utf-8"),
}


def _asset_bytes(name: str) -> bytes:
    package, file, _ = _ASSETS[name]
    return resources.files(package).joinpath(file).read_bytes()


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class _Api:
    """The handlers, with the state they share: worker threads, the explanation cache, training sessions."""

    def __init__(self):
        self.workers = ThreadPoolExecutor(max_workers=limits.EXPLAIN_WORKERS, thread_name_prefix="chainrule-explain")
        self.cache: OrderedDict[str, tuple[bytes, str]] = OrderedDict()  # responses, by request
        self.explanations: OrderedDict = OrderedDict()  # explanations, by request without its format
        self.sessions = Sessions()
        self.pending = 0  # explanations waiting for a worker thread or running in one (read on the event loop)

    # -- helpers ---------------------------------------------------------------------------------------

    async def _json_body(self, request: Request) -> dict:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise RequestError("send the request as JSON (Content-Type: application/json)", 415)
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            raise RequestError("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise RequestError("the request body must be a JSON object")
        return body

    async def _off_loop(self, function, *args):
        """Run ``function`` in a worker thread; past the time limit the client gets 503 (the thread finishes alone).

        At most ``MAX_PENDING_EXPLANATIONS`` wait or run at once: past that a request is answered 503 at once,
        so a flood of heavy problems cannot queue minutes of work behind the learners' requests."""
        if self.pending >= limits.MAX_PENDING_EXPLANATIONS:
            raise RequestError(f"the server is busy ({self.pending} explanations are waiting); try again in a "
                               "moment", 503)
        self.pending += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(self.workers, function, *args)
            return await asyncio.wait_for(future, timeout=limits.EXPLAIN_TIMEOUT_S)
        except TimeoutError:
            raise RequestError(f"the explanation took longer than {limits.EXPLAIN_TIMEOUT_S:g} s; explain a smaller "
                               "problem (fewer steps, values or samples)", 503) from None
        finally:
            self.pending -= 1

    def _remember(self, key: str, content: bytes, media: str) -> None:
        self.cache[key] = (content, media)
        self.cache.move_to_end(key)
        while len(self.cache) > limits.EXPLAIN_CACHE_ENTRIES:
            self.cache.popitem(last=False)

    @staticmethod
    def _client(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    # -- the page ----------------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        html = resources.files("chainrule.serve.assets").joinpath("app.html").read_bytes()
        return Response(html, media_type="text/html; charset=utf-8", headers={"cache-control": "no-store"})

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _ASSETS:
            raise RequestError("no such file", 404)
        return Response(_asset_bytes(name), media_type=_ASSETS[name][2], headers={"cache-control": "no-cache"})

    async def info(self, request: Request) -> Response:
        examples = []
        for name in builtin_names():
            try:
                examples.append({"name": name, "title": load_builtin(name).title})
            except ProblemError:
                continue  # a training problem, for `chainrule train`
        return JSONResponse({
            "examples": examples, "formats": list(FORMATS), "explain_fields": list(explain_fields()),
            "training": {"datasets": list(DATASETS), "activations": list(ACTIVATIONS), "losses": list(LOSSES),
                         "optimizers": list(OPTIMIZERS), "modes": list(MODES)},
            "limits": {name.lower(): value for name, value in vars(limits).items() if name.isupper()},
        })

    # -- explain, worksheet, check ---------------------------------------------------------------------

    async def explain(self, request: Request) -> Response:
        body = await self._json_body(request)
        fmt = body.pop("format", None) or "json"
        if fmt not in FORMATS:
            raise RequestError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
        key = json.dumps(body, sort_keys=True, ensure_ascii=False) + "\n" + fmt
        if key in self.cache:
            self.cache.move_to_end(key)
            content, media = self.cache[key]
            return Response(content, media_type=media)
        explanation = await self._explanation(body)

        def work():
            text, media = render(explanation, fmt)
            return text.encode("utf-8"), media

        content, media = await self._off_loop(work)
        self._remember(key, content, media)
        return Response(content, media_type=media)

    async def _explanation(self, body: dict):
        """The explanation of a request without its format: one explanation serves every format it is shown in."""
        key = json.dumps(body, sort_keys=True, ensure_ascii=False)
        if key in self.explanations:
            self.explanations.move_to_end(key)
            return self.explanations[key]
        explanation = await self._off_loop(explanation_for, body)
        self.explanations[key] = explanation
        while len(self.explanations) > limits.EXPLAIN_CACHE_ENTRIES // 4:
            self.explanations.popitem(last=False)
        return explanation

    async def worksheet(self, request: Request) -> Response:
        body = await self._json_body(request)
        explanation = await self._explanation(body)
        return JSONResponse(await self._off_loop(worksheet_json, explanation))

    async def check(self, request: Request) -> Response:
        body = await self._json_body(request)
        answers = answers_from(body)
        explanation = await self._explanation({k: v for k, v in body.items() if k != "answers"})
        return JSONResponse(await self._off_loop(check_json, explanation, answers))

    # -- training ----------------------------------------------------------------------------------------

    async def train(self, request: Request) -> Response:
        settings = settings_from(await self._json_body(request))
        session = await asyncio.get_running_loop().run_in_executor(
            None, self.sessions.start, settings, self._client(request))
        return JSONResponse({"id": session.id, "data": session.data()}, status_code=201)

    def _session(self, request: Request):
        return self.sessions.get(request.path_params["id"], self._client(request))

    async def train_state(self, request: Request) -> Response:
        session = self._session(request)
        since = request.query_params.get("since", "0")
        return JSONResponse(session.state(int(since) if since.isdigit() else 0))

    async def train_control(self, request: Request) -> Response:
        session = self._session(request)
        action = (await self._json_body(request)).get("action")
        if action not in ("pause", "resume", "step"):
            raise RequestError(f"action: expected pause, resume or step, got {action!r}")
        session.control(action)
        return JSONResponse(session.state(session.step))

    async def train_stop(self, request: Request) -> Response:
        self.sessions.remove(request.path_params["id"], self._client(request))
        return JSONResponse({"stopped": True})

    async def train_events(self, request: Request) -> Response:
        session = self._session(request)

        async def events():
            since, last, quiet = 0, None, 0
            try:
                while True:
                    session.touch()
                    state = session.state(since)
                    seen = (state["step"], state["paused"], state["done"], state["error"])
                    if seen != last:
                        since += len(state["losses"])
                        last = seen
                        quiet = 0
                        yield f"data: {json.dumps(state)}\n\n"
                        if state["done"]:
                            return
                    else:
                        quiet += 1
                        if quiet % 20 == 0:
                            yield ": still here\n\n"  # a closed connection shows itself on the next write
                    await asyncio.sleep(0.1)
            finally:
                if not session.done:
                    session.stop()  # the client went away

        return StreamingResponse(events(), media_type="text/event-stream", headers={"cache-control": "no-store"})

    async def train_explain(self, request: Request) -> Response:
        session = self._session(request)
        body = await self._json_body(request)
        which = body.get("set", "train")
        if which not in ("train", "validation"):
            raise RequestError(f"set: expected train or validation, got {which!r}")
        index = body.get("index")
        if isinstance(index, bool) or not isinstance(index, int):
            raise RequestError("index: expected the number of a sample")
        fmt = body.get("format", "json")
        if fmt not in FORMATS:
            raise RequestError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
        text, media = await self._off_loop(lambda: render(explain_sample(session, which, index), fmt))
        return Response(text.encode("utf-8"), media_type=media)


def _handled(handler):
    """A handler whose refusals become ``{"error": …}`` with their status."""
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except RequestError as error:
            return _error(str(error), error.status)
    return wrapped


def create_app(*, host: str = "127.0.0.1", token: str | None = None):
    """The app, wrapped in its guard (Host, Origin, token, body size); ``token`` is required when given."""
    api = _Api()
    routes = [
        Route("/", _handled(api.page), methods=["GET"]),
        Route("/assets/{name}", _handled(api.asset), methods=["GET"]),
        Route("/favicon.ico", lambda request: Response(status_code=204), methods=["GET"]),
        Route("/api/info", _handled(api.info), methods=["GET"]),
        Route("/api/explain", _handled(api.explain), methods=["POST"]),
        Route("/api/worksheet", _handled(api.worksheet), methods=["POST"]),
        Route("/api/check", _handled(api.check), methods=["POST"]),
        Route("/api/train", _handled(api.train), methods=["POST"]),
        Route("/api/train/{id}", _handled(api.train_state), methods=["GET"]),
        Route("/api/train/{id}", _handled(api.train_stop), methods=["DELETE"]),
        Route("/api/train/{id}/events", _handled(api.train_events), methods=["GET"]),
        Route("/api/train/{id}/control", _handled(api.train_control), methods=["POST"]),
        Route("/api/train/{id}/explain", _handled(api.train_explain), methods=["POST"]),
    ]

    async def http_error(request: Request, error: HTTPException) -> Response:
        message = {404: "no such page", 405: "method not allowed"}.get(error.status_code, error.detail)
        return _error(message, error.status_code)

    async def internal_error(request: Request, error: Exception) -> Response:
        log.error("internal error on %s %s: %s: %s", request.method, request.url.path, type(error).__name__, error)
        return _error(f"internal error: {type(error).__name__}", 500)

    async def shutdown():
        api.sessions.stop_all()
        api.workers.shutdown(wait=False, cancel_futures=True)

    @asynccontextmanager
    async def lifespan(app):
        yield
        await shutdown()

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: internal_error},
                    lifespan=lifespan)
    guarded = Guard(app, host=host, token=token)
    guarded.api = api  # for tests and the load benchmark: the sessions and the cache
    return guarded
