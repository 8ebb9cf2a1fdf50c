"""HTTP plumbing for every FastAPI app: error rendering, request metrics, health and /metrics.

Errors are always `{"error": <code>, "detail": <message or list>}`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import VocError
from shared.telemetry import LATENCY_BUCKETS

ReadyCheck = Callable[[], Awaitable[dict[str, bool]]]


class ErrorBody(BaseModel):
    error: str = Field(
        description="Machine-readable code, e.g. validation_error, unauthorized, forbidden, "
        "not_found, database_unavailable."
    )
    detail: Any = Field(
        default=None,
        description="What is wrong: a message, or for validation_error a list of "
        "{loc, msg, type}, one per invalid field.",
    )


def error_response(
    status: int, code: str, detail: Any, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in exc.errors()[:50]
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VocError)
    async def _voc(_: Request, exc: VocError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.status_code == 503 else None
        return error_response(exc.status_code, exc.code, exc.detail, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "validation_error", _validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
            415: "unsupported_media_type",
        }.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, exc.detail, dict(exc.headers or {}))


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "Invalid input: which field and why."},
}


class HttpMetrics:
    def __init__(self, service: str, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            f"voc_{service}_http_requests_total",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            f"voc_{service}_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )


def install_request_metrics(app: FastAPI, metrics: HttpMetrics) -> None:
    @app.middleware("http")
    async def _observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            # The route template, never the raw path: labels must stay bounded.
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            metrics.requests.labels(request.method, path, str(status)).inc()
            metrics.latency.labels(request.method, path).observe(time.perf_counter() - started)


def ops_router(registry: CollectorRegistry, ready: ReadyCheck) -> APIRouter:
    """/healthz (process alive), /readyz (dependencies reachable) and /metrics."""
    router = APIRouter(tags=["ops"])

    @router.get("/healthz", summary="Liveness: the process is up.")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: dependencies are reachable.",
        responses={503: {"description": "A dependency is not ready."}},
    )
    async def readyz() -> JSONResponse:
        checks = await ready()
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": checks},
            status_code=200 if ok else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics.", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
