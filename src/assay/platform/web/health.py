"""Liveness and readiness probes, for load balancers and orchestrators.

With sign-in, static files and the OpenAPI document, the only routes that answer anonymous
callers; they reveal nothing but status, version and database backend.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

import assay
from assay.platform import migrate
from assay.platform.web.deps import RuntimeDep


def router() -> APIRouter:
    """``/healthz`` (the process answers) and ``/readyz`` (the database answers and is current)."""
    health = APIRouter(tags=["health"])

    @health.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok", "version": assay.__version__}

    @health.get("/readyz", responses={503: {"description": "database unreachable or behind"}})
    def readyz(runtime: RuntimeDep) -> JSONResponse:
        """The database is reachable and its schema is current."""
        runtime.db.ping()
        migrate.require_current(runtime.db, runtime.capabilities)
        return JSONResponse({"status": "ready", "database": runtime.db.backend})

    return health
