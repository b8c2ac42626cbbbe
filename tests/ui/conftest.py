"""The browser tests' fixtures: one real `jojomart dev` over a fresh data dir
for the whole run, Debian's Chromium driven by Playwright (headless, flags
that work as root on a closed network), a fresh browser context per test, and
`check(page, name)`: axe-core on the page (no serious or critical violation)
and a screenshot under target/screenshots/.

Run by scripts/test.sh (`scripts/ui-test.sh`); by hand:
  scripts/ui-test.sh            # builds nothing: uses target/debug/jojomart
  scripts/ui-test.sh -k checkout
"""

import json
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("JOJOMART_BIN", ROOT / "target" / "debug" / "jojomart"))
CHROMIUM = os.environ.get("JOJOMART_CHROMIUM", "/usr/bin/chromium")
AXE = Path(os.environ.get("JOJOMART_AXE", ROOT / ".cache" / "ui" / "node_modules" / "axe-core" / "axe.min.js"))
SCREENSHOTS = ROOT / "target" / "screenshots"
ADMIN_EMAIL = "admin@example.com"
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Shop:
    """The running `jojomart dev`: its base URL and API helpers for setting up
    state a test is not about (the UI is what the tests drive)."""

    def __init__(self, base: str):
        self.base = base

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def call(self, method: str, path: str, body=None, token: str | None = None, headers=None):
        """Calls the API and returns (status, parsed JSON or None)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url(path), data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, (json.loads(raw) if raw else None)

    def run_function(self, name: str):
        """Runs a queue or timer function now (the in-process host's admin endpoint)."""
        status, _ = self.call("POST", f"/admin/functions/{name}", {"input": ""})
        assert status == 202, f"{name}: {status}"

    def register(self, email: str | None = None, name: str = "Test Shopper"):
        """Registers through the API: (email, access token)."""
        email = email or unique_email()
        status, body = self.call("POST", "/api/auth/register", {"email": email, "password": PASSWORD, "name": name})
        assert status == 201, body
        return email, body["accessToken"]

    def admin_token(self) -> str:
        """An access token of the dev admin (registered on first use)."""
        status, body = self.call("POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": PASSWORD})
        if status == 200:
            return body["accessToken"]
        return self.register(ADMIN_EMAIL, "Shop Owner")[1]


def unique_email(prefix: str = "shopper") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture(scope="session")
def shop():
    assert BINARY.exists(), f"{BINARY} is missing: cargo build first (scripts/test.sh does)"
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        # every test registers shoppers from 127.0.0.1: lift the per-client
        # registration limit (10 an hour), as tests/api's harness does
        env = dict(os.environ, JOJOMART_LOG="warn", JOJOMART_ADMIN_EMAILS=ADMIN_EMAIL, JOJOMART_REGISTER_MAX_PER_CLIENT="0")
        proc = subprocess.Popen(
            [str(BINARY), "dev", "--port", str(port), "--data-dir", data],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, "jojomart dev exited"
            assert time.monotonic() < deadline, "jojomart dev did not answer within 60 s"
            time.sleep(0.2)
        try:
            yield Shop(base)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, shop, request) -> Page:
    """A fresh context (no session, no cart) with the shop as base URL."""
    context = browser.new_context(base_url=shop.base, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=SCREENSHOTS / f"FAILED-{request.node.name}.png", full_page=True)
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def check(page: Page, name: str) -> None:
    """axe-core over the page as it is now (no serious or critical violation,
    WCAG 2 A/AA rules and best practices), then a full-page screenshot
    `target/screenshots/<name>.png`."""
    page.wait_for_load_state("networkidle")
    if not page.evaluate("() => !!window.axe"):
        # evaluated through the DevTools protocol, so the page's own content
        # security policy (which forbids inline scripts) stays in force
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    assert not bad, f"{name}: axe violations: " + json.dumps(
        [{"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["html"][:200] for n in v["nodes"][:3]]} for v in bad],
        indent=1,
    )


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Signs in through the storefront's sign-in page."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.get_by_role("button", name="Sign out").wait_for()
