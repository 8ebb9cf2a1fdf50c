"""The BI API as `make bench-api` serves it: `python -m benchmarks.api_server --port P`.

The real app (`services.api.app.create_app`, settings from the `API_*` environment, auth off
with `API_AUTH__ENABLED=false`) under uvicorn like `python -m services.api`, with one addition
so the benchmark can split database time from the rest: every response carries
`Server-Timing: sql;dur=<ms>;desc="<statements>", app;dur=<ms>`, where sql is the time spent in
SQLAlchemy's cursor executes (send, execute on the server, fetch every row) and app the whole
request inside the server. Requests sent with `X-Bench-Capture: 1` also append their statements
and parameters to the `--capture` file, for EXPLAIN ANALYZE afterwards.
"""

from __future__ import annotations

import argparse
import contextvars
import json
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import Engine

from services.api.app import create_app
from services.api.settings import ApiSettings
from shared.telemetry import configure_logging


class RequestTiming:
    def __init__(self, capture: bool) -> None:
        self.sql_s = 0.0
        self.statements = 0
        self.capture = capture
        self.captured: list[dict[str, Any]] = []


_current: contextvars.ContextVar[RequestTiming | None] = contextvars.ContextVar(
    "bench_request_timing", default=None
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def install_sql_timing() -> None:
    """Time every cursor execute of every engine; SQLAlchemy's async greenlets carry the
    request's context, so the timing lands on the request that ran the statement."""

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):  # type: ignore[no-untyped-def]
        conn.info["bench_t0"] = time.perf_counter()

    @event.listens_for(Engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):  # type: ignore[no-untyped-def]
        timing = _current.get()
        if timing is None:
            return
        timing.sql_s += time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        timing.statements += 1
        if timing.capture:
            timing.captured.append({"sql": statement, "params": _jsonable(params)})


class ServerTiming:
    """ASGI middleware adding the Server-Timing header described in the module docstring."""

    def __init__(self, app: Any, capture_file: Path | None) -> None:
        self.app, self.capture_file = app, capture_file

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        timing = RequestTiming(capture=headers.get(b"x-bench-capture") == b"1")
        token = _current.set(timing)
        t0 = time.perf_counter()

        async def send_with_timing(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                app_ms = (time.perf_counter() - t0) * 1000
                value = (
                    f'sql;dur={timing.sql_s * 1000:.3f};desc="{timing.statements}", '
                    f"app;dur={app_ms:.3f}"
                )
                message["headers"] = [
                    *message.get("headers", []),
                    (b"server-timing", value.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            _current.reset(token)
            if timing.capture and self.capture_file is not None:
                path = scope.get("path", "")
                query = scope.get("query_string", b"").decode()
                line = json.dumps({"path": path, "query": query, "statements": timing.captured})
                with self.capture_file.open("a") as f:
                    f.write(line + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.api_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--capture", type=Path, help="JSONL of statements of capture requests")
    args = parser.parse_args()
    settings = ApiSettings()
    configure_logging(settings.service_name, env=settings.env, level=settings.log_level)
    install_sql_timing()
    app = ServerTiming(create_app(settings), args.capture)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
