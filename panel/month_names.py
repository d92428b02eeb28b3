"""Month names for the panel's own catalog, which takes precedence over Django's.

Django's Brazilian Portuguese catalog capitalises the months ("2 de Dezembro de 2026");
Portuguese writes them in lower case ("2 de dezembro de 2026"). The dates keep using
Django's formats (DATE_FORMAT, DATETIME_FORMAT): only the names change, through these
msgids, which makemessages collects into locale/pt_BR/LC_MESSAGES/django.po. Nothing
imports this module; its strings are the same objects Django's dates.py translates.
"""

from django.utils.translation import gettext_noop, pgettext_lazy

# django.utils.dates.MONTHS (the "F" format) and MONTHS_ALT (the "E" format).
MONTHS = (
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
)
MONTHS_ALT = (
    pgettext_lazy("alt. month", "January"),
    pgettext_lazy("alt. month", "February"),
    pgettext_lazy("alt. month", "March"),
    pgettext_lazy("alt. month", "April"),
    pgettext_lazy("alt. month", "May"),
    pgettext_lazy("alt. month", "June"),
    pgettext_lazy("alt. month", "July"),
    pgettext_lazy("alt. month", "August"),
    pgettext_lazy("alt. month", "September"),
    pgettext_lazy("alt. month", "October"),
    pgettext_lazy("alt. month", "November"),
    pgettext_lazy("alt. month", "December"),
)
