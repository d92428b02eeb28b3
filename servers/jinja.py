"""The Jinja2 environment for the hot fragments of the server pages (a list row, its
badge and buttons: templates/servers/_server.jinja.html).

Why a second engine: Django's renders 100 list rows in about 22 ms, Jinja2 in about
2 ms (measured with scripts/bench_list.py and the rows alone), and DESIGN.md asks for a
few milliseconds. Autoescape is on; words go through Django's gettext (installed as
`_`, `gettext` and `ngettext`), so the active language applies, and
`makemessages` finds every `{{ _("...") }}` of an .html file.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, ngettext
from jinja2 import Environment


def environment(**options: Any) -> Environment:
    options.setdefault("extensions", ["jinja2.ext.i18n"])
    # Always on, whatever the settings say: these templates hold user data.
    options.pop("autoescape", None)
    env = Environment(autoescape=True, **options)
    # Old style: `_("... %(name)s")|format(name=name)` stays findable by makemessages.
    env.install_gettext_callables(gettext, ngettext, newstyle=False)  # type: ignore[attr-defined]
    return env
