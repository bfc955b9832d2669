"""Translations and locale formatting for the languages janela speaks."""

from __future__ import annotations

import gettext
import io
from datetime import date
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"

# The locale each language's dates are written in: the countries janela serves (not Brazil's pt).
DATE_LOCALES = {"pt": "pt_MZ", "km": "km_KH", "en": "en"}

# Each language's name written in that language, for the language menu.
NATIVE_NAMES = {"km": "ខ្មែរ", "pt": "Português", "en": "English"}


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated later, in the person's language."""
    return message


@cache
def translations(language: str) -> gettext.NullTranslations:
    """Load a language's catalog, compiling the .po in memory when no fresh .mo is there."""
    folder = LOCALES_DIR / language / "LC_MESSAGES"
    po, mo = folder / "messages.po", folder / "messages.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translator:
    """Translate and format for one language."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._catalog = translations(language)

    def __call__(self, message: str, **values: object) -> str:
        """Translate message and fill its named placeholders."""
        text = self._catalog.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, **values: object) -> str:
        """Translate a message whose form depends on the count n."""
        text = self._catalog.ngettext(singular, plural, n)
        return text.format(n=self.number(n), **values)

    def number(self, value: int | float) -> str:
        """Format a number the way this language writes it."""
        return format_decimal(value, locale=Locale.parse(self.language))

    def date(self, value: date) -> str:
        """Format a date the way this language writes it, with the month unambiguous."""
        locale = Locale.parse(DATE_LOCALES.get(self.language, self.language))
        return babel_format_date(value, format="d MMM y", locale=locale)
