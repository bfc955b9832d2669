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
    ("km", "គូសធីក", "គូសសញ្ញា (tick)"),
    ("km", "ចូលកម្មវិធី", "ចុះឈ្មោះក្នុងកម្មវិធី (enrolled in)"),
    ("pt", "Eu próprio", "Para mim"),
    ("pt", "Tentativas a mais", "Demasiadas tentativas"),
    ("pt", "sem razão", "injustamente"),
    ("pt", "Tome nota", "Anote este número"),
    ("pt", "pré-cadastro", "pré-registo"),
    ("pt", "gabinete da comuna", "balcão da comuna"),
]
# (English word in the msgid, language, the one translation it must use). The pt catalog is
# shared by Cambodia and Mozambique, so a desk, a leader or a village code it names comes from
# registry/data/country-<cc>.json by placeholder (held below), not from one country's phrase.
ALWAYS = [
    ("commune desk", "km", "ការិយាល័យឃុំ"),
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


# (country file, word, language, the glossary's one word)
COUNTRY_WORDS = [
    ("kh", "desk", "km", "ការិយាល័យឃុំ"),
    ("kh", "desk", "pt", "balcão da comuna"),
    ("kh", "leader", "km", "មេភូមិ"),
    ("kh", "leader", "pt", "chefe da aldeia"),
    ("mz", "desk", "pt", "serviço distrital"),
    ("mz", "leader", "pt", "líder comunitário"),
]
PLACEHOLDERS = ("{leader}", "{desk}", "{desk_subject}", "{village_code}")


@pytest.mark.parametrize(("country", "word", "language", "glossary"), COUNTRY_WORDS)
def test_country_words_are_the_glossary_words(country: str, word: str, language: str, glossary: str) -> None:
    from conversations.country import country_words

    words = country_words(country)
    assert glossary.lower() in words.placeholders(language)[word].lower()


@pytest.mark.parametrize("language", ["km", "pt", "en"])
def test_a_message_naming_country_words_keeps_their_placeholders(language: str) -> None:
    dropped = [
        (msgid, text)
        for msgid, text in entries(language)
        if text and any(p in msgid and p not in text for p in PLACEHOLDERS)
    ]
    assert not dropped, f"{language} writes one country's word where the msgid has a placeholder: {dropped}"


def test_the_cambodian_catalogue_says_balcao_da_comuna() -> None:
    from registry.catalogue import DATA_DIR

    text = (DATA_DIR / "programmes-kh.json").read_text(encoding="utf-8")
    assert "gabinete da comuna" not in text and "balcão da comuna" in text


def test_disability_is_always_a_person_with_a_disability_in_khmer() -> None:
    from registry.catalogue import DATA_DIR

    for path in DATA_DIR.glob("programmes-*.json"):
        text = path.read_text(encoding="utf-8")
        assert "ជនពិការ" not in text.replace("ជនមានពិការភាព", ""), path.name
