"""The web application's composition root: ``create_app(settings)``.

It checks the settings, wires the runtime, installs the error mapping and security headers, and
mounts what each discovered capability declares: its API router under ``/api/v1``, its pages, its
static files under ``/static/<name>``. Nothing here runs at import; ``app_from_env`` is the factory
uvicorn calls in each worker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

import assay
from assay.platform.capabilities import Capability
from assay.platform.clock import Clock
from assay.platform.runtime import build_runtime
from assay.platform.web import health, problems
from assay.platform.web.templating import build_templates
from assay.settings import Settings

API_PREFIX = "/api/v1"
OPENAPI_URL = f"{API_PREFIX}/openapi.json"

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    capabilities: list[Capability] | None = None,
) -> FastAPI:
    """Build the Assay web app for ``settings`` (raises ConfigurationError if they are unsafe).

    ``clock`` and ``capabilities`` default to the system clock and the capabilities discovered
    under ``assay``; tests pass their own.
    """
    settings.check()
    runtime = build_runtime(settings, clock=clock, capabilities=capabilities)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for capability in runtime.capabilities:
                if capability.lifespan is not None:
                    await stack.enter_async_context(capability.lifespan(runtime))
            yield
        runtime.db.dispose()

    app = FastAPI(
        title="Assay",
        version=assay.__version__,
        summary="Compliance and trust platform for digital-asset exchanges.",
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.templates = build_templates(runtime.capabilities)
    app.state.machine_paths = tuple(p for c in runtime.capabilities for p in c.machine_paths)
    problems.install(app)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if settings.secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    app.include_router(health.router())
    for capability in runtime.capabilities:
        if capability.api:
            app.include_router(capability.api(), prefix=API_PREFIX)
        if capability.pages:
            app.include_router(capability.pages())
        if capability.static_dir:
            app.mount(
                f"/static/{capability.name}",
                StaticFiles(directory=capability.static_dir),
                name=f"static-{capability.name}",
            )
    return app


def app_from_env() -> FastAPI:
    """The app for the settings in the environment (uvicorn's factory in every worker).

    With ``ASSAY_PIN_WORKERS``, the worker first pins itself to a CPU of its own.
    """
    settings = Settings()
    if settings.pin_workers:
        from assay.platform.affinity import pin_to_free_cpu  # noqa: PLC0415

        pin_to_free_cpu(settings.data_dir / "run")
    return create_app(settings)
