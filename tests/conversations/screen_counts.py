"""Count the screens a person reads to finish each flow, pressing 98 until the option they want shows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from conversations.country import country_words
from conversations.i18n import Translator
from conversations.prereg import SEXES
from phonetext.encoding import fold_to_gsm7
from registry.services import list_programmes, set_language
from tests.phones import Phone

OPTION = re.compile(r"^(\d+) (.*)$")
MORE = "98"


@dataclass(frozen=True)
class Country:
    """What a flow needs to know about a country's demo."""

    code: str
    phone: str
    village: str
    sp_id: str
    birth_year: str


COUNTRIES = {
    "KH": Country("KH", "+85512340077", "17010102", "1701000010", "1990"),
    "MZ": Country("MZ", "+258841230077", "10010101", "1001000018", "1985"),
}


class Reader:
    """A person on a phone who reads every page and counts the screens."""

    def __init__(self, app: Any, country: Country, language: str) -> None:
        set_language(app.extensions["janela"].db, country.phone, language)
        self.phone = Phone(app.test_client(), country.phone)
        self.t = Translator(language)
        self.screens = 0

    def dial(self) -> None:
        self.phone.dial()
        self.screens = 1

    def send(self, key: str) -> str:
        self.screens += 1
        return self.phone.send(key)

    def choose(self, label: str, translate: bool = True) -> None:
        """Turn pages until the option shows, then press its number."""
        wanted = fold_to_gsm7(self.t(label) if translate else label)
        for _ in range(20):
            for line in self.phone.screen.split("\n"):
                m = OPTION.match(line)
                if m and m.group(1) != MORE and fold_to_gsm7(m.group(2)).lstrip("*") == wanted:
                    self.send(m.group(1))
                    return
            assert f"\n{MORE} " in self.phone.screen, f"{wanted!r} not offered:\n{self.phone.screen}"
            self.send(MORE)
        raise AssertionError(f"{wanted!r} never shows")

    def read(self) -> None:
        """Read a text to its last page."""
        while f"\n{MORE} " in self.phone.screen and not self.phone.ended:
            self.send(MORE)


def first_programme(app: Any, country: Country, language: str) -> str:
    return list_programmes(app.extensions["janela"].db, country.code, language, "en")[0].label


def preregistration(app: Any, country: Country, language: str) -> int:
    """Pre-register with the village by code and one programme."""
    r = Reader(app, country, language)
    r.dial()
    r.choose("Pre-registration")
    r.choose("I agree")
    r.send("Srey Pov Chan")
    r.choose(SEXES["F"])
    r.send("15031992")
    words = country_words(country.code)
    by_code = r.t("Type the {village_code}", village_code=words.word(words.village_code, language))
    r.choose(by_code, translate=False)
    r.send(country.village)
    r.send("4")
    r.choose(first_programme(app, country, language), translate=False)
    r.choose("Done")
    r.choose("Confirm")
    r.read()
    assert r.phone.ended, r.phone.screen
    return r.screens


def complaint(app: Any, country: Country, language: str) -> int:
    """File a complaint about one programme, anonymously, choosing the village by code."""
    r = Reader(app, country, language)
    r.dial()
    r.choose("Complaints")
    r.choose("Payment missing")
    r.choose(first_programme(app, country, language), translate=False)
    r.send("Nao recebi o dinheiro deste mes")
    r.choose("No, stay anonymous")
    r.choose("No")
    r.send(country.village)
    r.choose("Send")
    r.read()
    assert r.phone.ended, r.phone.screen
    return r.screens


def id_lookup(app: Any, country: Country, language: str) -> int:
    """Look up an ID and read the holder's programmes."""
    r = Reader(app, country, language)
    r.dial()
    r.choose("My ID and status")
    r.choose("My ID and programmes")
    r.send(country.sp_id)
    r.send(country.birth_year)
    r.read()
    return r.screens


def programme(app: Any, country: Country, language: str, label: str) -> int:
    """Read every section of one programme to its end, coming back to its menu between them."""
    r = Reader(app, country, language)
    r.dial()
    r.choose("Programmes")
    r.choose(label, translate=False)
    for section in ("About", "Who can get it", "Benefits", "How to apply"):
        r.choose(section)
        r.read()
        about = fold_to_gsm7(f"1 {r.t('About')}")
        while about not in fold_to_gsm7(r.phone.screen):
            r.send("0")  # back page by page, then to the programme's menu
    return r.screens


FLOWS = {"pre-registration": preregistration, "complaint": complaint, "ID lookup": id_lookup}
