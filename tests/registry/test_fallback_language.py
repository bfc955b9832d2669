"""A text missing in a person's language falls back to the deployment's DEFAULT_LANGUAGE, never to English."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from registry.models import Area, ProgrammeText
from registry.services import list_programmes, set_language
from registry.versions import CATALOGUE, bump
from tests.phones import Phone

MARIA = "+258841234501"  # holder of 1001000018 (1985) in the Mozambican demo, enrolled in PSSB


def mozambique(make_app: Any) -> Flask:
    """A Mozambican deployment whose catalogue lost its English texts."""
    app = make_app(catalogue="MZ", COUNTRY="MZ", LANGUAGES="pt,en", DEFAULT_LANGUAGE="pt")
    with app.extensions["janela"].db.begin() as session:
        session.execute(delete(ProgrammeText).where(ProgrammeText.language == "en"))
        bump(session, CATALOGUE)
    return app


def test_my_id_names_programmes_in_the_default_language_when_english_is_missing(make_app: Any) -> None:
    app = mozambique(make_app)
    set_language(app.extensions["janela"].db, MARIA, "en")
    caller = Phone(app.test_client(), MARIA)
    caller.dial()
    caller.send("3")
    caller.send("1")
    caller.send("1001000018")
    screen = caller.send("1985")
    assert screen.startswith("Maria Cossa\n")
    assert "Subsídio Social Básico (PSSB): active" in screen


def test_lists_fall_back_to_the_deployment_default(make_app: Any) -> None:
    app = mozambique(make_app)
    janela = app.extensions["janela"]
    names = [p.name for p in list_programmes(janela.db, "MZ", "en", janela.settings.default_language)]
    assert names == [p.name for p in list_programmes(janela.db, "MZ", "pt", "pt")]


def test_an_area_is_named_in_the_default_language_when_its_language_is_unknown(make_app: Any) -> None:
    app = mozambique(make_app)
    with app.extensions["janela"].db() as session:
        district = session.scalars(select(Area).where(Area.code == "1001")).one()
        assert district.name("tet", "pt") == "Chókwè"  # not the English "Chokwe"
        assert district.name("en", "pt") == "Chokwe"
        with pytest.raises(ValueError, match="no names in 'tet'"):
            district.name("tet")
