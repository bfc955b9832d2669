from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry.areas import find_area, import_areas, list_areas
from registry.demo import DATA
from registry.errors import InvalidData
from registry.models import Area
from registry.references import check_digit, is_valid, new_reference
from registry.staff import active_chief, add_staff, deactivate_staff, list_staff

HEADER = "code,parent_code,level,name_km,name_pt,name_en\n"
GOOD = HEADER + (
    "99,,province,ខេត្ត,Província,Province\n"
    "9901,99,district,ស្រុក,Distrito,District\n"
    "990101,9901,commune,ឃុំ,Comuna,Commune\n"
    "99010101,990101,village,ភូមិ,Aldeia,Village\n"
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "areas.csv"
    path.write_text(text, encoding="utf-8")
    return path


def areas(app: Flask) -> int:
    with app.extensions["janela"].db() as session:
        return session.scalar(select(func.count()).select_from(Area)) or 0


def test_import_then_reimport_changes_nothing(make_app: Any, tmp_path: Path) -> None:
    app = make_app(catalogue=None)
    db = app.extensions["janela"].db
    first = import_areas(db, write(tmp_path, GOOD))
    assert (first.created, first.updated, first.unchanged) == (4, 0, 0)
    again = import_areas(db, write(tmp_path, GOOD))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    renamed = import_areas(db, write(tmp_path, GOOD.replace("Aldeia", "Aldeia Nova")))
    assert (renamed.created, renamed.updated) == (0, 1)
    assert [a.name for a in list_areas(db, "pt", "990101")] == ["Aldeia Nova"]


def test_children_may_refer_to_parents_already_in_the_registry(make_app: Any, tmp_path: Path) -> None:
    app = make_app(catalogue=None)
    db = app.extensions["janela"].db
    import_areas(db, write(tmp_path, GOOD))
    more = import_areas(db, write(tmp_path, HEADER + "99010102,990101,village,ភូមិថ្មី,Nova,New\n"))
    assert more.created == 1
    with pytest.raises(InvalidData) as error:
        import_areas(db, write(tmp_path, HEADER + "99010103,9901,village,ក,B,C\n"))
    assert error.value.problems == ["line 2: unknown parent 9901"]


def test_a_bad_file_names_every_bad_row_and_imports_nothing(make_app: Any, tmp_path: Path) -> None:
    app = make_app(catalogue=None)
    bad = HEADER + (
        "99,,province,ខេត្ត,Província,Province\n"
        "9901,99,district,ស្រុក,Distrito,\n"
        "9901,99,district,ស្រុក,Distrito,District\n"
        "990101,9901,parish,ឃុំ,Comuna,Commune\n"
        "99010101,77,village,ភូមិ,Aldeia,Village\n"
        "99010102,99,village,ភូមិ,Aldeia,Village\n"
    )
    with pytest.raises(InvalidData) as error:
        import_areas(app.extensions["janela"].db, write(tmp_path, bad))
    problems = error.value.problems
    assert "line 3: name_en is missing" in problems
    assert "line 4: duplicate code 9901 (first on line 3)" in problems
    assert "line 5: bad level 'parish' (use province, district, commune, village)" in problems
    assert "line 7: parent 99 is a province, not a commune" in problems
    assert areas(app) == 0
    with pytest.raises(InvalidData) as error:
        import_areas(app.extensions["janela"].db, write(tmp_path, GOOD + "99010102,77,village,ភូមិ,A,V\n"))
    assert error.value.problems == ["line 6: unknown parent 77"]
    assert areas(app) == 0


@pytest.mark.parametrize("text", ["", "code,name\n1,x\n", "\udcff"])
def test_unreadable_or_wrongly_shaped_files_are_refused(make_app: Any, tmp_path: Path, text: str) -> None:
    app = make_app(catalogue=None)
    path = tmp_path / "a.csv"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(InvalidData):
        import_areas(app.extensions["janela"].db, path)


def test_cli_areas_import_reports_line_numbers(make_app: Any, tmp_path: Path) -> None:
    app = make_app(catalogue=None)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["areas", "import", str(DATA / "areas-kh.csv")])
    assert ok.exit_code == 0 and "55 created, 0 updated, 0 unchanged." in ok.output
    bad = runner.invoke(args=["areas", "import", str(write(tmp_path, HEADER + "1,,town,a,b,c\n"))])
    assert bad.exit_code == 1 and "error: line 2: bad level 'town'" in bad.output


def test_demo_has_the_siem_reap_pilot(app: Flask) -> None:
    db = app.extensions["janela"].db
    districts = [a.name for a in list_areas(db, "en", "17")]
    assert districts == ["Angkor Chum", "Srei Snam"]
    assert "Char Chhuk" in [a.name for a in list_areas(db, "en", "1701")]
    assert len(list_areas(db, "km", "1712")) == 6
    assert find_area(db, "17010101", "km", level="village").name == "ត្រពាំងធំ"  # type: ignore[union-attr]
    chiefs = list_staff(db, "village_chief")
    desks = list_staff(db, "commune_desk")
    assert len(chiefs) == len(desks) == 13


def test_staff_are_tied_to_an_area_of_their_level(app: Flask) -> None:
    db = app.extensions["janela"].db
    with pytest.raises(InvalidData, match="a village_chief works at a village"):
        add_staff(db, "village_chief", "170101", "+85512111111", "Someone")
    with pytest.raises(InvalidData, match="unknown area"):
        add_staff(db, "commune_desk", "999999", "+85512111111", "Someone")
    with pytest.raises(InvalidData, match="role must be one of"):
        add_staff(db, "mayor", "17", "+85512111111", "Someone")
    chief = add_staff(db, "village_chief", "17010102", "+85512111111", "Ny Sokhom")
    assert active_chief(db, "+85512111111") == chief
    with pytest.raises(InvalidData, match="already an active"):
        add_staff(db, "village_chief", "17010102", "+85512111111", "Ny Sokhom")
    deactivate_staff(db, chief.id)
    assert active_chief(db, "+85512111111") is None
    assert chief.id in [s.id for s in list_staff(db, include_inactive=True)]


def test_cli_staff_add_list_deactivate(app: Flask) -> None:
    runner = app.test_cli_runner()
    added = runner.invoke(
        args=[
            "staff",
            "add",
            "--role",
            "commune_desk",
            "--area",
            "171201",
            "--phone",
            "012 999 888",
            "--name",
            "Ny Vibol",
        ]
    )
    assert added.exit_code == 0, added.output
    assert "Added commune_desk Ny Vibol (+85512999888)" in added.output
    staff_id = added.output.rsplit("staff ", 1)[1].strip(". \n")
    assert "+85512999888\tNy Vibol" in runner.invoke(args=["staff", "list", "--role", "commune_desk"]).output
    assert "Deactivated" in runner.invoke(args=["staff", "deactivate", staff_id]).output
    assert "Ny Vibol" not in runner.invoke(args=["staff", "list"]).output
    wrong = runner.invoke(
        args=[
            "staff",
            "add",
            "--role",
            "village_chief",
            "--area",
            "17",
            "--phone",
            "+85512999887",
            "--name",
            "X",
        ]
    )
    assert wrong.exit_code == 1


def test_references_carry_a_verhoeff_check_digit() -> None:
    assert check_digit("236") == "3" and is_valid("2363")
    for _ in range(300):
        reference = new_reference(7)
        assert len(reference) == 7 and reference[0] != "0" and is_valid(reference)
        for i in range(6):
            swapped = reference[:i] + reference[i + 1] + reference[i] + reference[i + 2 :]
            if swapped != reference:
                assert not is_valid(swapped)
        for i in range(7):
            for digit in "0123456789":
                typo = reference[:i] + digit + reference[i + 1 :]
                if typo != reference:
                    assert not is_valid(typo)
    assert not is_valid("12a4") and not is_valid("") and not is_valid("١٢٣")
