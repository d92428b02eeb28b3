"""`make screenshots`: the main pages in light and dark, desktop and phone, as PNGs.

Starts what `make run` starts, on free ports and with a database of its own (a sandbox
with its seed, the demo users of seed_demo, the panel under runserver), logs in as the
demo admin in Debian's Chromium and saves docs/screenshots/<page>-<theme>-<width>.png,
and the Portuguese ones as <page>-<theme>-<width>-pt-br.png. SHOTS_DIR, SHOTS_PAGES
(comma-separated) and SHOTS_LANGUAGE (en or pt-br: only that language) change what is
taken; by default only the few images the README shows are kept in the repository.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox import start_sandbox  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
TOKEN = "sandbox-demo-token"  # noqa: S105 - the sandbox's demo token, not a secret
PAGES = {
    "list": "/servers/",
    "detail": "/servers/12345/",
    "create": "/servers/new/",
    "members": "/team/members/",
    "activity": "/team/activity/",
    # Not in the README; for a look with SHOTS_PAGES.
    "ssh-keys": "/servers/ssh-keys/",
    "token": "/team/token/",
    # The list with the header's menu open (on a phone: the navigation inside it).
    "menu": "/servers/",
}
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
THEMES = ("light", "dark")
# The README's images: every page on a desktop in light, list and create on a phone in
# dark, list and a server on a phone in light. SHOTS_ALL=1 takes every combination (for
# a look, not for the repository).
DEFAULT = {
    ("list", "light", "desktop"),
    ("list", "dark", "desktop"),
    ("list", "dark", "phone"),
    ("list", "light", "phone"),
    ("detail", "light", "phone"),
    ("detail", "light", "desktop"),
    ("create", "light", "desktop"),
    ("create", "dark", "phone"),
    ("members", "light", "desktop"),
    ("activity", "dark", "desktop"),
}
# In Portuguese, whose longer words are the harder test of the layout: the list and the
# create form on a desktop and a phone, and the phone's menu.
DEFAULT_PT = {
    ("list", "light", "desktop"),
    ("list", "light", "phone"),
    ("create", "light", "desktop"),
    ("create", "dark", "phone"),
    ("menu", "light", "phone"),
}
LANGUAGES = {"en": DEFAULT, "pt-br": DEFAULT_PT}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our own loopback
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def log_in(page: Any, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "demo")
    page.fill("input[name=password]", "vpsorg-demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/servers/**")


def act(browser: Any, base: str) -> None:
    """A few acts through the pages, so the activity has something to show."""
    context = browser.new_context()
    page = context.new_page()
    log_in(page, base)
    page.goto(f"{base}/servers/12346/edit/")
    page.fill("input[name=name]", "db-primary-01")
    page.uncheck("input[name=backups_enabled]")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/servers/12346/")
    page.goto(f"{base}/team/members/")
    page.fill(".invite-form input[name=email]", "new.colleague@example.com")
    page.select_option(".invite-form select[name=role]", "operator")
    page.click(".invite-form button[type=submit]")
    page.wait_for_load_state()
    context.close()


def take(
    browser: Any,
    base: str,
    out: Path,
    shots: list[str],
    language: str,
    theme: str,
    width: str,
    size: tuple[int, int],
) -> None:
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        color_scheme=theme,
        locale=language,
        extra_http_headers={"Accept-Language": language},
    )
    page = context.new_page()
    log_in(page, base)
    suffix = "" if language == "en" else f"-{language}"
    for name in shots:
        if name == "menu" and width != "phone":
            continue  # a wide screen shows the navigation in the bar: the list's shot
        page.goto(f"{base}{PAGES[name]}")
        page.wait_for_load_state("networkidle")
        if name == "menu":
            page.locator(".site-menu > summary").click()
        path = out / f"{name}-{theme}-{width}{suffix}.png"
        # The first screen, as a visitor sees it; the whole of the forms on a desktop
        # (the list's first screen shows enough).
        whole = width == "desktop" and name in ("create", "detail", "members")
        page.screenshot(path=str(path), full_page=whole)
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    context.close()


def main() -> int:
    from playwright.sync_api import sync_playwright

    out = Path(os.environ.get("SHOTS_DIR", ROOT / "docs" / "screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    asked = [p for p in os.environ.get("SHOTS_PAGES", "").split(",") if p]
    wanted = asked or [*list(PAGES)[:5], "menu"]
    every = bool(os.environ.get("SHOTS_ALL"))
    one = os.environ.get("SHOTS_LANGUAGE", "").lower()  # "pt-BR" as well as "pt-br"
    languages = [one] if one else list(LANGUAGES)
    with tempfile.TemporaryDirectory() as tmp, start_sandbox(tokens=(TOKEN,)) as sandbox:
        env = {
            **os.environ,
            "DEBUG": "true",
            "SECRET_KEY": "screenshots-only-secret-key",
            "VPSORG_API_URL": sandbox.api_url,
            "DATABASE_URL": f"sqlite:///{tmp}/panel.sqlite3",
        }
        manage = [sys.executable, "manage.py"]
        run = {"cwd": ROOT, "env": env, "check": True}
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], **run)
        subprocess.run([*manage, "seed_demo", "--token", TOKEN], **run, stdout=subprocess.DEVNULL)
        port = free_port()
        panel = subprocess.Popen(
            [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/healthz")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
                )
                act(browser, base)
                for language in languages:
                    chosen = LANGUAGES.get(language, DEFAULT)
                    for theme in THEMES:
                        for width, (w, h) in WIDTHS.items():
                            shots = [
                                name for name in wanted if every or (name, theme, width) in chosen
                            ]
                            if shots:
                                take(browser, base, out, shots, language, theme, width, (w, h))
                browser.close()
        finally:
            panel.terminate()
            panel.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
