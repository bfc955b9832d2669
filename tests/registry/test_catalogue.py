from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from registry.catalogue import demo_catalogue, import_catalogue, load_catalogue
from registry.errors import InvalidData
from registry.models import Programme
from registry.services import get_programme, list_programmes


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def entry(code: str, **overrides: Any) -> dict[str, Any]:
    texts = {"km": "កម្មវិធី", "pt": "Programa", "en": "Programme"}
    item: dict[str, Any] = {"code": code}
    for field in ("name", "summary", "eligibility", "benefits", "how_to_apply"):
        item[field] = dict(texts)
    item.update(overrides)
    return item


@pytest.mark.parametrize("country", ["KH", "MZ"])
def test_demo_catalogues_are_valid_and_complete(country: str) -> None:
    data = load_catalogue(demo_catalogue(country))
    assert data["country"] == country
    assert len(data["programmes"]) >= 4


def test_cambodian_demo_has_the_programmes_of_the_pilot() -> None:
    codes = [p["code"] for p in load_catalogue(demo_catalogue("KH"))["programmes"]]
    assert codes == [
        "idpoor",
        "family-package",
        "scholarship",
        "disability-allowance",
        "older-persons-allowance",
        "health-equity-fund",
        "nssf",
        "public-works",
    ]
    codes = [p["code"] for p in load_catalogue(demo_catalogue("MZ"))["programmes"]]
    assert codes == ["pssb", "pasd", "pasp", "prosas"]


def test_import_creates_then_reimport_changes_nothing(make_app: Any) -> None:
    app: Flask = make_app(catalogue=None)
    db = app.extensions["janela"].db
    first = import_catalogue(db, demo_catalogue("MZ"))
    assert (first.created, first.updated, first.unchanged) == (4, 0, 0)
    again = import_catalogue(db, demo_catalogue("MZ"))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    names = [p.name for p in list_programmes(db, "MZ", "pt", "pt")]
    assert names[0] == "Subsídio Social Básico (PSSB)"
    assert list_programmes(db, "MZ", "pt", "pt")[0].label == "Subsídio Social Básico"
    info = get_programme(db, "MZ", "pasp", "km", "pt")
    assert info.name.endswith("(PASP)")


def test_import_updates_changed_texts_and_order(make_app: Any, tmp_path: Path) -> None:
    app: Flask = make_app(catalogue=None)
    db = app.extensions["janela"].db
    import_catalogue(db, write(tmp_path, {"country": "ZZ", "programmes": [entry("a"), entry("b")]}))
    changed = entry("a", summary={"km": "ថ្មី", "pt": "Novo", "en": "New"})
    result = import_catalogue(db, write(tmp_path, {"country": "ZZ", "programmes": [entry("b"), changed]}))
    assert (result.created, result.updated, result.unchanged) == (0, 2, 0)
    assert [p.code for p in list_programmes(db, "ZZ", "en", "pt")] == ["b", "a"]
    assert get_programme(db, "ZZ", "a", "pt", "pt").summary == "Novo"


def test_a_bad_file_reports_every_problem_and_imports_nothing(make_app: Any, tmp_path: Path) -> None:
    app: Flask = make_app(catalogue=None)
    db = app.extensions["janela"].db
    bad = {
        "country": "Cambodia",
        "programmes": [
            entry("ok"),
            entry("Bad Code"),
            entry("ok"),
            entry("no-khmer", name={"km": "Name", "pt": "Nome", "en": "Name"}),
            entry("missing", benefits={"km": "ក", "en": "x"}),
        ],
    }
    with pytest.raises(InvalidData) as error:
        import_catalogue(db, write(tmp_path, bad))
    problems = "\n".join(error.value.problems)
    assert "country must be a two-letter code" in problems
    assert "programme 2: code must be" in problems
    assert "programme 3: code 'ok' appears twice" in problems
    assert "programme 'no-khmer': name km text is not in Khmer script" in problems
    assert "programme 'missing': benefits has no pt text" in problems
    with db() as session:
        assert session.scalars(select(Programme)).all() == []


def test_labels_must_fit_one_menu_line_and_names_never_nest_colons(make_app: Any, tmp_path: Path) -> None:
    app: Flask = make_app(catalogue=None)
    long_label = {"km": "កម្មវិធី", "pt": "Um rótulo curto demais para caber numa linha", "en": "Short"}
    bad = {
        "country": "KH",
        "programmes": [
            entry("long-label", label=long_label),
            entry("colon-label", label={"km": "កម្មវិធី", "pt": "Apoio: idosos", "en": "Elders"}),
            entry(
                "colon-name",
                name={"km": "កម្មវិធី", "pt": "INAS: Subsídio Social Básico", "en": "Basic Social Subsidy"},
                label={"km": "កម្មវិធី", "pt": "Subsídio básico", "en": "Basic subsidy"},
            ),
        ],
    }
    with pytest.raises(InvalidData) as error:
        import_catalogue(app.extensions["janela"].db, write(tmp_path, bad))
    problems = "\n".join(error.value.problems)
    assert "programme 'long-label': label pt is" in problems and "more than one menu line" in problems
    assert "programme 'colon-label': label pt must not hold a colon" in problems
    assert "programme 'colon-name': name pt must not hold a colon" in problems
    assert "'long-label': label en" not in problems


@pytest.mark.parametrize("content", ["", "{", "[]", '{"country": "KH"}', "\udcff"])
def test_unreadable_files_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(InvalidData):
        load_catalogue(path)


def test_cli_import_prints_what_changed_and_fails_on_a_bad_file(make_app: Any, tmp_path: Path) -> None:
    app: Flask = make_app(catalogue=None)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["programmes", "import", str(demo_catalogue("KH"))])
    assert result.exit_code == 0, result.output
    assert "KH: 8 created, 0 updated, 0 unchanged." in result.output
    listing = runner.invoke(args=["programmes", "list", "--language", "pt"])
    assert "idpoor\tIDPoor (Cartão de Equidade)" in listing.output
    result = runner.invoke(args=["programmes", "import", str(write(tmp_path, {"country": "KH"}))])
    assert result.exit_code == 1
    assert "error: programmes must be a non-empty list" in result.output
