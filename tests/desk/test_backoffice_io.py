"""The consolidation pages: template, upload, report, confirm once, exports scoped to my area."""

from __future__ import annotations

import io
import re
from typing import Any

from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select

from conversations.i18n import Translator
from registry.models import EnrolmentRequest, Person, RegistryImport
from tests.desk.conftest import (
    COMMUNE_DESK,
    DISTRICT,
    OTHER_DESK,
    PROVINCE,
    ask_export_on_page,
    db,
    exported,
    signed_in,
    token,
)
from tests.registry.test_consolidation import ASKING, GOOD, form

NATIONAL = "+85512999999"  # the national admin the desk fixture adds

_UPLOAD = re.compile(r'name="upload" value="([0-9a-f]+)"')


def persons(app: Flask) -> int:
    with db(app)() as session:
        return session.scalar(select(func.count(Person.id))) or 0


def test_upload_report_confirm_imports_once(desk_app: Flask) -> None:
    client = signed_in(desk_app, DISTRICT)
    page = client.get("/desk/io").get_data(as_text=True)
    assert "/desk/io/template" in page and 'enctype="multipart/form-data"' in page
    template = client.get("/desk/io/template")
    assert template.status_code == 200 and (template.mimetype or "").endswith("sheet")
    load_workbook(io.BytesIO(template.data))
    before = persons(desk_app)
    content = form([*GOOD, ["9", "17010101", "Sok Srey Pov", "F", "12/04/1990", "", "1", "", ""]], "km")
    report = client.post(
        "/desk/io/check",
        data={"csrf_token": token(client, "/desk/io"), "file": (io.BytesIO(content), "commune.xlsx")},
        content_type="multipart/form-data",
    )
    text = report.get_data(as_text=True)
    assert report.status_code == 200 and 'id="duplicates"' in text and "Sok Srey Pov" in text
    assert persons(desk_app) == before
    upload = _UPLOAD.search(text)
    assert upload
    confirm = {
        "csrf_token": token(client, "/desk/io"),
        "upload": upload.group(1),
        "file_name": "commune.xlsx",
    }
    done = client.post("/desk/io/confirm", data={**confirm, "duplicates": "keep"})
    assert done.status_code == 200 and "5" in done.get_data(as_text=True)
    assert persons(desk_app) == before + 5
    # A second click finds the upload gone: nothing more is imported.
    again = client.post("/desk/io/confirm", data={**confirm, "duplicates": "keep"})
    assert again.status_code == 302 and persons(desk_app) == before + 5
    with db(desk_app)() as session:
        assert session.scalars(select(RegistryImport.file_name)).all() == ["commune.xlsx"]


def test_a_bad_file_shows_every_problem_and_no_confirm(desk_app: Flask) -> None:
    client = signed_in(desk_app, DISTRICT)
    content = form([["1", "99999999", "", "X", "31/02/1980", "", "40", "", ""]])
    report = client.post(
        "/desk/io/check",
        data={"csrf_token": token(client, "/desk/io"), "file": (io.BytesIO(content), "bad.xlsx")},
        content_type="multipart/form-data",
    )
    text = report.get_data(as_text=True)
    assert 'id="problems"' in text and 'name="upload"' not in text
    assert text.count("<tr><td>2</td>") == 5


def test_a_commune_desk_exports_its_commune_only_and_cannot_import(desk_app: Flask) -> None:
    client = signed_in(desk_app, COMMUNE_DESK)
    page = client.get("/desk/io").get_data(as_text=True)
    assert "/desk/io/check" not in page and 'value="170101"' in page
    export = exported(desk_app, client, area="170101", format="xlsx")
    assert export.status_code == 200
    assert len(load_workbook(io.BytesIO(export.data)).sheetnames) == 5
    csv = exported(desk_app, client, area="170101", format="csv", sheet="cases", since="2020-01-01")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert ask_export_on_page(client, area="171201").status_code == 404
    other = signed_in(desk_app, OTHER_DESK)
    assert ask_export_on_page(other, area="170101").status_code == 404
    refused = client.post(
        "/desk/io/check",
        data={"csrf_token": token(client, "/desk/io"), "file": (io.BytesIO(form(GOOD)), "f.xlsx")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 302


def test_an_upload_without_its_csrf_token_is_refused(desk_app: Flask) -> None:
    client = signed_in(desk_app, DISTRICT)
    refused = client.post(
        "/desk/io/check",
        data={"file": (io.BytesIO(form(GOOD)), "f.xlsx")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400


def test_without_redis_an_upload_is_not_kept_and_the_officer_is_told(desk_app: Flask, make_app: Any) -> None:
    # A second app on the same database whose Redis is gone (nothing listens on port 1).
    gone = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    client = signed_in(gone, DISTRICT)
    before = persons(gone)
    response = client.post(
        "/desk/io/check",
        data={"csrf_token": token(client, "/desk/io"), "file": (io.BytesIO(form(GOOD)), "f.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    told = Translator("km")("Sorry, the service is not available right now. Please try again later.")
    assert told in response.get_data(as_text=True)
    assert persons(gone) == before


def test_an_export_is_named_in_the_audit_log(desk_app: Flask) -> None:
    client = signed_in(desk_app, PROVINCE)
    assert exported(desk_app, client, area="17", format="csv", sheet="households").status_code == 200
    page = client.get("/desk/audit").get_data(as_text=True)
    assert Translator("km")("Exported an area") in page and "export:17" in page


def test_the_national_level_exports_the_whole_country_from_the_page(desk_app: Flask) -> None:
    client = signed_in(desk_app, NATIONAL)
    page = client.get("/desk/io").get_data(as_text=True)
    assert 'value="KH"' in page and Translator("km")("The whole country") in page
    export = exported(desk_app, client, area="KH", format="csv", sheet="persons")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert 'filename="janela-KH-persons-' in export.headers["Content-Disposition"]
    rows = export.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert len(rows) == persons(desk_app) + 1
    province = signed_in(desk_app, PROVINCE)
    assert 'value="KH"' not in province.get("/desk/io").get_data(as_text=True)
    assert ask_export_on_page(province, area="KH").status_code == 404


def test_programmes_asked_on_a_form_reach_the_district_enrolment_requests(desk_app: Flask) -> None:
    client = signed_in(desk_app, DISTRICT)
    content = form(ASKING, "km")
    report = client.post(
        "/desk/io/check",
        data={"csrf_token": token(client, "/desk/io"), "file": (io.BytesIO(content), "asking.xlsx")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    km = Translator("km")
    assert (
        km(
            "The form asks for {count} programmes: each request goes to the district, to approve or decline."
        ).format(count=4)
        in report
    )
    upload = _UPLOAD.search(report)
    assert upload
    confirm = {"csrf_token": token(client, "/desk/io"), "upload": upload.group(1), "file_name": "asking.xlsx"}
    done = client.post("/desk/io/confirm", data={**confirm, "duplicates": "keep"}).get_data(as_text=True)
    assert km("{count} enrolment requests wait for the district to decide.").format(count=4) in done
    with db(desk_app)() as session:
        done_import = session.scalars(select(RegistryImport)).one()
        first = session.scalars(
            select(EnrolmentRequest.id).where(EnrolmentRequest.import_id == done_import.id)
        ).first()
    page = client.get("/desk/enrolments").get_data(as_text=True)
    assert km("Commune form, import {number}").format(number=done_import.id) in page
    assert page.count('action="/desk/enrolments/') >= 4
    approved = client.post(
        f"/desk/enrolments/{first}",
        data={"csrf_token": token(client, "/desk/enrolments"), "decision": "approve"},
    )
    assert approved.status_code == 302
    with db(desk_app)() as session:
        assert session.get_one(EnrolmentRequest, first).status == "approved"
    # A commune desk reads the page but cannot decide.
    commune = signed_in(desk_app, COMMUNE_DESK)
    assert 'action="/desk/enrolments/' not in commune.get("/desk/enrolments").get_data(as_text=True)
