"""The example static site (examples/site/) on its own port, as a site owner's server would serve it.

`formloop run` starts it as a child process: `python -m formloop_cli.example_site --port 8002 --app URL`.
Its pages name Formloop at http://127.0.0.1:8000, as a newcomer would paste it; when `formloop run` serves the
app elsewhere (FORMLOOP_PORT, FORMLOOP_HOST), the pages are served with the address the app really has.
"""
from __future__ import annotations

import argparse
import functools
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from chalicelib.core.config import PROJECT_ROOT

SITE_DIR = PROJECT_ROOT / "examples" / "site"
DEFAULT_PORT = 8002
# The address the pages are written with: Formloop's default under `make run`.
WRITTEN_APP_URL = "http://127.0.0.1:8000"


def site_origins(port: int) -> list[str]:
    """The origins a browser sends when it posts from the example site served on this port."""
    return [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]


class ExampleSiteHandler(SimpleHTTPRequestHandler):
    """Static files from examples/site/; HTML pages point at the app this run serves."""

    app_url = WRITTEN_APP_URL

    def __init__(self, *args: Any, app_url: str = WRITTEN_APP_URL, **kwargs: Any) -> None:
        self.app_url = app_url.rstrip("/")
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        """Serve the file; an HTML page with the running app's address in place of the written one."""
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix != ".html" or not path.is_file() or self.app_url == WRITTEN_APP_URL:
            super().do_GET()
            return
        body = path.read_text(encoding="utf-8").replace(WRITTEN_APP_URL, self.app_url).encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self) -> None:
        # Edits to the example pages show on the next reload, as with the form definitions.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: `chalice local` already logs every request that reaches Formloop."""


def serve(host: str, port: int, app_url: str, site_dir: Path = SITE_DIR) -> None:
    """Serve the example site until the process is stopped."""
    handler = functools.partial(ExampleSiteHandler, directory=str(site_dir), app_url=app_url)
    with ThreadingHTTPServer((host, port), handler) as server:
        server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    """`python -m formloop_cli.example_site --port N --app URL`."""
    parser = argparse.ArgumentParser(prog="python -m formloop_cli.example_site", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--app", default=WRITTEN_APP_URL, help="where Formloop runs (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        serve(args.host, args.port, args.app)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
