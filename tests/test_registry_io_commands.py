"""`flask registry template|import|export`: the form from the command line, round trip."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from flask import Flask
from openpyxl import load_workbook

from tests.desk.conftest import COMMUNE_DESK, DISTRICT


def test_template_import_and_export_round_trip(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    template = tmp_path / "form.xlsx"
    result = runner.invoke(args=["registry", "template", "-o", str(template), "--language", "pt"])
    assert result.exit_code == 0, result.output
    book = load_workbook(template)
    sheet = book.worksheets[0]
    assert sheet["C1"].value == "Nome completo"
    sheet.append(["1", "17010101", "Mao Sokha", "F", "02/03/1991", "", "2", "", ""])
    sheet.append(["1", "17010101", "Mao Rith", "M", "", "2019", "", "", ""])
    book.save(template)

    checked = runner.invoke(args=["registry", "import", str(template), "--by", DISTRICT, "--check"])
    assert checked.exit_code == 0 and "2 rows in 1 households" in checked.output
    refused = runner.invoke(args=["registry", "import", str(template), "--by", COMMUNE_DESK])
    assert refused.exit_code != 0 and "only district" in refused.output
    done = runner.invoke(args=["registry", "import", str(template), "--by", DISTRICT])
    assert done.exit_code == 0 and "Imported 1 households, 2 persons" in done.output, done.output
    again = runner.invoke(args=["registry", "import", str(template), "--by", DISTRICT])
    assert again.exit_code == 0 and "Already imported" in again.output

    out = tmp_path / "area.csv"
    exported = runner.invoke(
        args=["registry", "export", "--area", "170101", "-o", str(out), "--language", "en"]
    )
    assert exported.exit_code == 0, exported.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0][4] == "Full name" and {"Mao Sokha", "Mao Rith"} <= {r[4] for r in rows[1:]}
    xlsx = tmp_path / "area.xlsx"
    result = runner.invoke(
        args=["registry", "export", "--area", "1701", "--since", "2020-01-01", "-o", str(xlsx)]
    )
    assert result.exit_code == 0, result.output
    assert len(load_workbook(xlsx).sheetnames) == 5
    # Without --by, the whole country; the output is written whole or not at all.
    country = tmp_path / "kh.csv"
    result = runner.invoke(args=["registry", "export", "--area", "KH", "-o", str(country)])
    assert result.exit_code == 0 and "persons" in result.output, result.output
    assert {"Mao Sokha", "Mao Rith"} <= {
        r[4] for r in csv.reader(io.StringIO(country.read_text("utf-8-sig")))
    }
    missing = tmp_path / "none.csv"
    refused = runner.invoke(args=["registry", "export", "--area", "KH", "--by", DISTRICT, "-o", str(missing)])
    assert (
        refused.exit_code != 0
        and not missing.exists()
        and sorted(tmp_path.iterdir()) == sorted([template, out, xlsx, country])
    )


def test_a_bad_form_is_reported_by_line_and_column(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    template = tmp_path / "form.xlsx"
    runner.invoke(args=["registry", "template", "-o", str(template), "--language", "en"])
    book = load_workbook(template)
    book.worksheets[0].append(["1", "99999999", "Mao Sokha", "F", "02/13/1991", "", "2", "", ""])
    book.save(template)
    result = runner.invoke(args=["registry", "import", str(template), "--by", DISTRICT])
    assert result.exit_code != 0
    assert "line 2, Village code: There is no village 99999999." in result.output
    assert "line 2, Date of birth (DD/MM/YYYY): This is not a date" in result.output
