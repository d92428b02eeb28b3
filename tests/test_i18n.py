"""Brazilian Portuguese: pages follow Accept-Language (or the footer's choice), and the
committed catalog (locale/pt_BR/LC_MESSAGES/django.po and .mo) is complete and compiled.

Updating the catalog: `manage.py makemessages -l pt_BR --ignore=.venv --ignore=.cache`,
translate the new entries, then `manage.py compilemessages --ignore=.venv` (needs gettext).
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import responses
from django.test import Client

from tests.conftest import API, client_for, page, server_json

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "pt_BR" / "LC_MESSAGES"
PT = {"HTTP_ACCEPT_LANGUAGE": "pt-BR,pt;q=0.9,en;q=0.5"}


def mock_servers(api: responses.RequestsMock) -> None:
    servers = [
        server_json(1, name="web-01", status="active"),
        server_json(2, name="db-01", status="stopped", ip_address=None),
    ]
    api.get(f"{API}/servers/", json=page(servers))
    api.get(f"{API}/plans/", json=page([]))


def button(html: str, action: str) -> str:
    """The visible word of the power button for `action` on the first row having one."""
    match = re.search(rf'<button [^>]*data-action="{action}"[^>]*>([^<]*)<', html)
    assert match, f"no {action} button"
    return match.group(1)


# --- Pages ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_in_portuguese() -> None:
    html = Client().get("/accounts/login/", **PT).content.decode()
    assert '<html lang="pt-br">' in html
    assert '<h1 id="login-title">Entrar</h1>' in html
    assert ">Nome de usuário</label>" in html
    assert ">Senha</label>" in html
    assert "Esqueceu sua senha?" in html
    assert "Log in" not in html and "Password" not in html


@pytest.mark.django_db
def test_login_page_stays_english_without_accept_language() -> None:
    html = Client().get("/accounts/login/").content.decode()
    assert '<html lang="en">' in html
    assert '<h1 id="login-title">Log in</h1>' in html
    assert ">Password</label>" in html
    assert "Senha" not in html


@pytest.mark.django_db
def test_server_list_in_portuguese_then_english(api, operator_user) -> None:
    mock_servers(api)
    browser = client_for(operator_user)
    html = browser.get("/servers/", **PT).content.decode()
    assert "<h1>Servidores</h1>" in html
    assert "Exibindo 1\u20132 de 2 servidores" in html
    assert ">Nome do host<" in html and ">Localização<" in html
    assert ">Ativo</span>" in html and ">Parado</span>" in html
    assert "ainda não atribuído" in html
    assert button(html, "start") == "Iniciar"
    assert button(html, "stop") == "Parar"
    assert button(html, "reboot") == "Reiniciar"
    assert 'data-busy-label="Reiniciando…"' in html
    assert "Parar web-01?" in html  # the confirmation names the server

    # Rows and badges are made once per language: English must not get the Portuguese ones.
    html = browser.get("/servers/").content.decode()
    assert "<h1>Servers</h1>" in html
    assert "Showing 1\u20132 of 2 servers" in html
    assert ">Active</span>" in html and "not yet assigned" in html
    assert button(html, "start") == "Start"
    assert button(html, "stop") == "Stop"
    assert button(html, "reboot") == "Reboot"
    assert "Servidores" not in html


@pytest.mark.django_db
def test_footer_language_choice_is_a_plain_labelled_form() -> None:
    html = Client().get("/accounts/login/").content.decode()
    footer = html[html.index('<footer class="site-footer">') : html.index("</footer>")]
    assert '<form method="post" action="/i18n/setlang/"' in footer
    assert '<label for="language-switch">Language</label>' in footer
    assert '<select name="language" id="language-switch">' in footer
    assert '<option value="pt-br" lang="pt-br">' in footer
    assert '<option value="en" lang="en" selected>' in footer
    assert '<button type="submit" class="button small">Change language</button>' in footer


@pytest.mark.django_db
def test_choosing_portuguese_outlasts_accept_language() -> None:
    browser = Client()
    response = browser.post("/i18n/setlang/", {"language": "pt-br", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    html = browser.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<h1 id="login-title">Entrar</h1>' in html
    assert '<option value="pt-br" lang="pt-br" selected>' in html


# --- The catalog ----------------------------------------------------------------------


def _po_entries(po: Path = LOCALE / "django.po") -> list[dict[str, object]]:
    """Each entry of django.po as {"flags": set, "msgid": str, "msgid_plural": str,
    "msgstr": [str, ...]}; the header (empty msgid) left out."""
    entries = []
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        entry: dict[str, object] = {"flags": set(), "msgstr": []}
        key = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {f.strip() for f in line[2:].split(",")}  # type: ignore[operator]
            elif line.startswith("#~"):
                key = None  # an obsolete entry: no longer in the code
                entry = {}
                break
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                assert key is not None, line
                if key == "msgstr":
                    entry["msgstr"][-1] += ast.literal_eval(line)  # type: ignore[index]
                else:
                    entry[key] += ast.literal_eval(line)  # type: ignore[operator]
            else:
                name, _, value = line.partition(" ")
                if name.startswith("msgstr"):
                    key = "msgstr"
                    entry["msgstr"].append(ast.literal_eval(value))  # type: ignore[union-attr]
                else:
                    key = name
                    entry[key] = ast.literal_eval(value)
        if entry.get("msgid"):
            entries.append(entry)
    return entries


def test_catalog_is_parsed() -> None:
    entries = _po_entries()
    assert len(entries) > 400
    assert any(e["msgid"] == "Reboot" and e["msgstr"] == ["Reiniciar"] for e in entries)


def test_catalog_has_no_untranslated_or_fuzzy_entries() -> None:
    problems = []
    for entry in _po_entries():
        if "fuzzy" in entry["flags"]:  # type: ignore[operator]
            problems.append(("fuzzy", entry["msgid"]))
        expected = 2 if "msgid_plural" in entry else 1
        strings = entry["msgstr"]
        if len(strings) != expected or not all(strings):  # type: ignore[arg-type]
            problems.append(("untranslated", entry["msgid"]))
    assert problems == []


PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sd]|%%|%s|<[^>]+>")


def test_translations_keep_placeholders_and_markup() -> None:
    problems = []
    for entry in _po_entries():
        sources = [entry["msgid"], entry.get("msgid_plural", entry["msgid"])]
        for source, text in zip(sources, entry["msgstr"], strict=False):  # type: ignore[call-overload]
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(text)):
                problems.append((source, text))
    assert problems == []


def test_power_verbs_are_the_documented_ones() -> None:
    """VPS.org's Portuguese documentation says Iniciar / Parar / Reiniciar servidor."""
    words = {e["msgid"]: e["msgstr"] for e in _po_entries()}
    assert words["Start"] == ["Iniciar"]
    assert words["Stop"] == ["Parar"]
    assert words["Reboot"] == ["Reiniciar"]
    for verb, word in (("Stop", "Parar"), ("Reboot", "Reiniciar")):
        assert words[f"{verb} %(name)s?"][0].startswith(word)


def test_compiled_catalog_matches_the_po() -> None:
    """The committed .mo was compiled from this .po (CI has no gettext to compile it)."""
    with (LOCALE / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = []
    for entry in _po_entries():
        msgid, strings = entry["msgid"], entry["msgstr"]
        if "msgid_plural" in entry:
            got = [compiled.ngettext(msgid, entry["msgid_plural"], n) for n in (1, 2)]  # type: ignore[arg-type]
        else:
            got = [compiled.gettext(msgid)]  # type: ignore[arg-type]
        if got != strings:
            stale.append(msgid)
    assert stale == []
    assert compiled.info()["plural-forms"] == "nplurals=2; plural=(n > 1);"


def test_catalog_covers_every_string_of_the_code(tmp_path: Path) -> None:
    """makemessages on a copy of the project finds no string the committed catalog lacks."""
    if not shutil.which("xgettext"):
        if os.environ.get("CI"):
            pytest.fail("CI must check the catalog, but gettext's xgettext is not installed")
        pytest.skip("gettext's xgettext is not installed (apt-get install gettext)")
    root = LOCALE.parents[2]
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        if (root / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, tmp_path / name)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "pt_BR", "-v0"],
        cwd=tmp_path,
        env={**os.environ, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "panel.settings"},
        check=True,
    )
    fresh = {e["msgid"] for e in _po_entries(tmp_path / "locale/pt_BR/LC_MESSAGES/django.po")}
    committed = {e["msgid"] for e in _po_entries()}
    assert sorted(fresh - committed) == []
