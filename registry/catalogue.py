"""The programme catalogue: a JSON data file per country, imported into the registry."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from phonetext.encoding import units
from registry.errors import InvalidData
from registry.models import PROGRAMME_FIELDS, Programme, ProgrammeText
from registry.services import Db
from registry.versions import CATALOGUE, bump

DATA_DIR = Path(__file__).resolve().parent / "data"
REQUIRED_LANGUAGES = ("km", "pt", "en")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_KHMER = re.compile("[\u1780-\u17ff]")
# A menu line on a basic phone: a programme's label (or its name, when it has none) must fit.
LABEL_MAX_UNITS = 24


@dataclass(frozen=True)
class ImportResult:
    """What an import changed."""

    country: str
    created: int
    updated: int
    unchanged: int


def demo_catalogue(country: str) -> Path:
    """Return the shipped demo catalogue of a country."""
    return DATA_DIR / f"programmes-{country.lower()}.json"


def _check(data: Any) -> list[str]:
    problems: list[str] = []
    if not isinstance(data, dict):
        return ["the file must hold a JSON object"]
    country = data.get("country")
    if not (isinstance(country, str) and re.fullmatch(r"[A-Z]{2}", country)):
        problems.append("country must be a two-letter code such as KH")
    programmes = data.get("programmes")
    if not isinstance(programmes, list) or not programmes:
        return [*problems, "programmes must be a non-empty list"]
    seen: set[str] = set()
    for n, item in enumerate(programmes, start=1):
        where = f"programme {n}"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be an object")
            continue
        code = item.get("code")
        if not (isinstance(code, str) and _CODE.match(code)):
            problems.append(f"{where}: code must be lower-case letters, digits, - or _")
        elif code in seen:
            problems.append(f"{where}: code {code!r} appears twice")
        else:
            seen.add(code)
            where = f"programme {code!r}"
        for field in PROGRAMME_FIELDS:
            texts = item.get(field)
            if not isinstance(texts, dict):
                problems.append(f"{where}: {field} must give the text in {', '.join(REQUIRED_LANGUAGES)}")
                continue
            for lang in REQUIRED_LANGUAGES:
                value = texts.get(lang)
                if not (isinstance(value, str) and value.strip()):
                    problems.append(f"{where}: {field} has no {lang} text")
                elif lang == "km" and not _KHMER.search(value):
                    problems.append(f"{where}: {field} km text is not in Khmer script")
                elif field == "name" and len(value) > 200:
                    problems.append(f"{where}: name {lang} is longer than 200 characters")
        problems += _check_label(where, item)
    return problems


def _check_label(where: str, item: dict[str, Any]) -> list[str]:
    """A short label, per language, must fit one menu line; without one, the name must."""
    labels = item.get("label", {})
    if not isinstance(labels, dict):
        return [f"{where}: label must give the short name per language"]
    problems = []
    for lang in REQUIRED_LANGUAGES:
        label = labels.get(lang)
        name = item.get("name", {}).get(lang) if isinstance(item.get("name"), dict) else None
        shown = label if label is not None else name
        if label is not None and not (isinstance(label, str) and label.strip()):
            problems.append(f"{where}: label {lang} is empty")
        elif isinstance(shown, str) and units(shown.strip()) > LABEL_MAX_UNITS:
            what = "label" if label is not None else "name (give a shorter label)"
            problems.append(
                f"{where}: {what} {lang} is {units(shown.strip())} units, more than one menu line "
                f"({LABEL_MAX_UNITS})"
            )
        if isinstance(label, str) and ": " in label:
            problems.append(f"{where}: label {lang} must not hold a colon (a menu line is one phrase)")
        if isinstance(name, str) and ": " in name:
            # A name sits after "Programme: " in summaries and SMS: a colon inside it nests.
            problems.append(f"{where}: name {lang} must not hold a colon; write 'Name (ACRONYM)'")
    return problems


def load_catalogue(path: Path) -> dict[str, Any]:
    """Read and validate a catalogue file; raise InvalidData listing every problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidData([f"{path}: {exc}"]) from exc
    problems = _check(data)
    if problems:
        raise InvalidData(problems)
    return data


def import_catalogue(db: Db, path: Path) -> ImportResult:
    """Create or update a country's programmes from a catalogue file, in one transaction."""
    data = load_catalogue(path)
    country = data["country"]
    created = updated = unchanged = 0
    with db.begin() as session:
        existing = {
            p.code: p
            for p in session.scalars(
                select(Programme).where(Programme.country == country).options(selectinload(Programme.texts))
            )
        }
        for position, item in enumerate(data["programmes"]):
            programme = existing.get(item["code"])
            if programme is None:
                programme = Programme(country=country, code=item["code"])
                session.add(programme)
                created += 1
            elif _apply(programme, item, position, dry_run=True):
                updated += 1
            else:
                unchanged += 1
            _apply(programme, item, position, dry_run=False)
        bump(session, CATALOGUE)
    return ImportResult(country, created, updated, unchanged)


def _apply(programme: Programme, item: dict[str, Any], position: int, dry_run: bool) -> bool:
    """Bring a programme in line with its catalogue entry; return True if anything differs."""
    changed = programme.position != position or not programme.active
    if not dry_run:
        programme.position, programme.active = position, True
    for lang in REQUIRED_LANGUAGES:
        text = programme.text(lang)
        wanted = {field: item[field][lang].strip() for field in PROGRAMME_FIELDS}
        wanted["label"] = item.get("label", {}).get(lang, "").strip()
        if text is None:
            changed = True
            if not dry_run:
                programme.texts.append(ProgrammeText(language=lang, **wanted))
            continue
        for field, value in wanted.items():
            if getattr(text, field) != value:
                changed = True
                if not dry_run:
                    setattr(text, field, value)
    return changed
