"""The web console (docs/console.md): static files from web/ served at /app, plus the npm modules it imports.

The page itself needs no API key (it asks for one and talks to the public /v1 API like any client);
nothing is built: the browser loads ES modules, and the few npm files it needs are mapped one by one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.problems import catalogued

ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = ROOT / "web"
NODE_MODULES = ROOT / "node_modules"

#: URL under /app/vendor/ -> file in node_modules (installed by `npm ci`, never committed).
VENDOR_FILES = {
    "cytoscape.esm.mjs": "cytoscape/dist/cytoscape.esm.min.mjs",
    "echarts.esm.mjs": "echarts/dist/echarts.esm.min.mjs",
    "ethers.esm.mjs": "ethers/dist/ethers.min.js",
}


def mount_console(app: FastAPI, web_dir: Path = WEB_DIR, node_modules: Path = NODE_MODULES) -> None:
    """Serves the console at /app/ (no key needed to load it) without touching the /v1 routes."""

    @app.get("/app", include_in_schema=False)
    def console_root() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=307)

    @app.get("/", include_in_schema=False)
    def service_root() -> HTMLResponse:
        """A browser opening the service's address lands on the console; the body links the API's docs too."""
        body = (
            '<!doctype html><meta charset="utf-8"><title>SCF Chain</title>'
            '<p>SCF Chain: <a href="/app/">console</a> · <a href="/docs">API documentation</a> · '
            '<a href="/health">health</a></p>'
        )
        return HTMLResponse(body, status_code=307, headers={"Location": "/app/"})

    @app.get("/app/vendor/{name}", include_in_schema=False)
    def console_vendor(name: str) -> FileResponse:
        relative = VENDOR_FILES.get(name)
        path = node_modules / relative if relative else None
        if path is None or not path.is_file():
            raise catalogued(404, "not-found", "not-found.no-console-library", {"name": name})
        return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    if web_dir.is_dir():
        app.mount("/app", StaticFiles(directory=web_dir, html=True), name="console")
