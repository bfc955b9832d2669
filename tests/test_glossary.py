"""Hold the catalogs to locales/GLOSSARY.md: one word for each key term, never the wrong one."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from conversations.i18n import LOCALES_DIR

# (language, word that must never appear, what the glossary says instead)
NEVER = [
    ("km", "ទទួលស្គាល់", "ទទួល / បញ្ជាក់ថាបានទទួល"),
    ("km", "សុំលុយ", "ទារប្រាក់"),
    ("km", "មកជាមួយ", "ទៅជាមួយ បើមាន"),
    ("km", "ត្រូវបាន", "យើងបាន… (we did it), never a passive"),
    ("pt", "Eu próprio", "Para mim"),
    ("pt", "Tentativas a mais", "Demasiadas tentativas"),
    ("pt", "sem razão", "injustamente"),
    ("pt", "Tome nota", "Anote este número"),
    ("pt", "pré-cadastro", "pré-registo"),
]
# (English word in the msgid, language, the one translation it must use)
ALWAYS = [
    ("commune desk", "km", "ការិយាល័យឃុំ"),
    ("commune desk", "pt", "balcão da comuna"),
    ("village chief", "km", "មេភូមិ"),
    ("Pre-registration", "km", "ចុះឈ្មោះបឋម"),
    ("pre-registration", "pt", "pré-registo"),
    ("Reference", "km", "លេខយោង"),
    ("social-protection", "pt", "protecção social"),
]


def entries(language: str) -> list[tuple[str, str]]:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=language)
    return [(m.id, m.string) for m in catalog if m.id and isinstance(m.id, str)]


@pytest.mark.parametrize(("language", "word", "instead"), NEVER)
def test_catalogs_never_use_a_word_the_glossary_forbids(language: str, word: str, instead: str) -> None:
    wrong = [msgid for msgid, text in entries(language) if word in text]
    assert not wrong, f"{language} uses {word!r} (glossary: {instead}) in {wrong}"


@pytest.mark.parametrize(("term", "language", "word"), ALWAYS)
def test_key_terms_use_the_glossary_word(term: str, language: str, word: str) -> None:
    using = [(msgid, text) for msgid, text in entries(language) if term in msgid]
    assert using, f"no message mentions {term!r}"
    wrong = [msgid for msgid, text in using if word.lower() not in text.lower()]
    assert not wrong, f"{language}: {term!r} must be {word!r} in {wrong}"


def test_disability_is_always_a_person_with_a_disability_in_khmer() -> None:
    from registry.catalogue import DATA_DIR

    for path in DATA_DIR.glob("programmes-*.json"):
        text = path.read_text(encoding="utf-8")
        assert "ជនពិការ" not in text.replace("ជនមានពិការភាព", ""), path.name
