"""The catalogs: complete in km and pt, real Khmer script, placeholders intact, nothing unextracted."""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from conversations.i18n import LOCALES_DIR, Translator

ROOT = LOCALES_DIR.parent
KHMER = re.compile("[\u1780-\u17ff]")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalog(language: str):  # type: ignore[no-untyped-def]
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=language)


def extraction_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    """Return what `make i18n` extracts: locales/babel.cfg, templates included."""
    with (LOCALES_DIR / "babel.cfg").open() as fh:
        return parse_mapping_cfg(fh)


def source_messages() -> set[str]:
    found: set[str] = set()
    method_map, options_map = extraction_map()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, options_map=options_map, keywords={"N_": None, "t": None}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", ["km", "pt", "en"])
def test_catalog_is_complete_and_not_fuzzy(language: str) -> None:
    cat = catalog(language)
    entries = [m for m in cat if m.id]
    assert entries
    assert [m.id for m in entries if not m.string] == []
    assert [m.id for m in entries if m.fuzzy] == []


def test_khmer_entries_are_written_in_khmer_script() -> None:
    for message in catalog("km"):
        if message.id:
            assert KHMER.search(message.string), f"no Khmer in the km text of {message.id!r}"


@pytest.mark.parametrize("language", ["km", "pt"])
def test_translations_keep_the_same_named_placeholders(language: str) -> None:
    for message in catalog(language):
        if message.id:
            assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(message.id)), (
                message.id
            )


def test_the_extraction_reads_the_desk_templates() -> None:
    method_map, _ = extraction_map()
    assert ("desk/templates/**.html", "jinja2") in method_map
    # A string only a template uses: were templates skipped, a missing one could never fail.
    assert "Or add to the existing household number" in source_messages()


@pytest.mark.parametrize("language", ["km", "pt", "en"])
def test_every_string_in_the_code_is_in_the_catalog(language: str) -> None:
    ids = {m.id for m in catalog(language) if m.id}
    missing = source_messages() - ids
    assert not missing, f"run `make i18n` and translate: {sorted(missing)}"


def test_catalogs_load_from_the_po_files_without_a_build_step() -> None:
    assert Translator("pt")("Programmes") == "Programas"
    assert Translator("km")("Programmes") == "កម្មវិធី"
    assert Translator("en")("Programmes") == "Programmes"


def test_numbers_and_dates_follow_the_locale() -> None:
    assert Translator("en").number(1234567.5) == "1,234,567.5"
    assert Translator("pt").number(1234567.5) == "1.234.567,5"
    assert Translator("km").number(1234567.5) == "1,234,567.5"
    day = date(2026, 11, 22)
    assert Translator("pt").date(day) == "22 nov. 2026"  # pt_MZ, not Brazil's "de nov. de"
    assert Translator("en").date(day) == "22 Nov 2026"
    assert Translator("km").date(day) == "22 វិច្ឆិកា 2026"
