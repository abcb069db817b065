"""The Nurture web app (FastAPI). Routers live in their own modules; the web-app capability
adds more with ``app.include_router``.

Run it with ``nurture web`` (uvicorn) or any ASGI server: ``uvicorn --factory
nurture.web.app:create_app``.
"""

from __future__ import annotations

from fastapi import FastAPI

from nurture.web import unsubscribe

__all__ = ["create_app"]


def create_app() -> FastAPI:
    """A new application with every router mounted."""
    app = FastAPI(title="Nurture", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(unsubscribe.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
