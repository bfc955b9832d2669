"""A country's own words: its area levels, its local leader, its desk, an example village code.

They come from registry/data/country-<cc>.json, so that Mozambique speaks of postos
administrativos and líderes comunitários, not of Cambodian communes and village chiefs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from registry.catalogue import DATA_DIR

Words = Mapping[str, str]


@dataclass(frozen=True)
class CountryWords:
    """The words one country uses, per language."""

    levels: Mapping[str, Words]
    leader: Words
    desk: Words
    desk_subject: Words
    village_code: Words
    example_village_code: str

    def level(self, level: str, language: str) -> str:
        """Name an area level (province, district, commune, village) as the country does."""
        return _pick(self.levels[level], language)

    def word(self, words: Words, language: str) -> str:
        """Return one of the country's words in a language (English if it lacks one)."""
        return _pick(words, language)

    def placeholders(self, language: str) -> dict[str, str]:
        """Return the words texts name by placeholder: leader, desk, desk_subject, village_code."""
        return {
            "leader": _pick(self.leader, language),
            "desk": _pick(self.desk, language),
            "desk_subject": _pick(self.desk_subject, language),
            "village_code": _pick(self.village_code, language),
        }


def _pick(words: Words, language: str) -> str:
    return words.get(language) or words.get("en") or next(iter(words.values()))


@cache
def country_words(country: str) -> CountryWords:
    """Load a country's words; a country without a file speaks as Cambodia's demo does."""
    path = DATA_DIR / f"country-{country.lower()}.json"
    if not path.exists():
        path = DATA_DIR / "country-kh.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return CountryWords(
        levels=data["levels"],
        leader=data["leader"],
        desk=data["desk"],
        desk_subject=data["desk_subject"],
        village_code=data["village_code"],
        example_village_code=data["example_village_code"],
    )
