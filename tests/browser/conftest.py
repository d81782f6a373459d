"""The browser tier: Formloop served over real HTTP (Chalice's local server, in this process, on the test
session's DynamoDB Local) and driven by Debian's headless Chromium through ChromeDriver."""
from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def site(services: Any) -> Iterator[str]:
    """The app at http://127.0.0.1:<port>, as `chalice local` serves it, over the test's fresh tables."""
    from chalice.config import Config
    from chalice.local import LocalDevServer

    import app as app_module
    app_module.use_services(services)
    port = _free_port()
    server = LocalDevServer(app_module.app, Config.create(chalice_stage="local", app_name="formloop",
                                                          project_dir=str(ROOT)), "127.0.0.1", port)
    # shutdown() waits for the serving loop to look again: every 50 ms rather than the default 500 ms.
    thread = threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server.server_close()
        app_module.use_services(None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium; `make test` installs Debian's chromium and chromium-driver when they are missing."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory(prefix="formloop-chromium-") as profile:
        # No sandbox (tests may run as root); no background traffic (the machine may have no way out).
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-quic", f"--user-data-dir={profile}", "--window-size=1200,2400"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()
