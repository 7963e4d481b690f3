"""The reserves pages: rounds, the solvency report, and the in-browser proof check.

``/reserves/verify`` is public: anyone with a proof file checks it there, in the browser, and the
file never leaves it (``static/verify.js`` does the whole check). The round pages are for
signed-in users; a customer sees their own proofs only (``permissions``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assay.platform.web.templating import render


def router() -> APIRouter:
    """The reserves page routes."""
    pages = APIRouter(prefix="/reserves", include_in_schema=False)

    @pages.get("/verify")
    def verify(request: Request) -> Response:
        return render(request, "reserves/verify.html")

    return pages
