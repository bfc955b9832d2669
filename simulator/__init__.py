"""A phone simulator page: dial the service as Africa's Talking would, text it, and read its SMS."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from desk.protection import csrf
from phonetext.cleaning import clean_text
from registry.errors import InvalidData
from registry.inbound import MAX_TEXT, store_inbound
from registry.outbox import list_sms
from registry.phones import normalise_phone

blueprint = Blueprint("simulator", __name__, template_folder="templates")

DEMO_PHONES = {"KH": "+85512345678", "MZ": "+258841234567"}


@blueprint.get("/simulator")
def page() -> str:
    """Serve the simulator page."""
    country = current_app.config["COUNTRY"]
    codes = current_app.config["USSD_SERVICE_CODES"]
    return render_template(
        "simulator.html",
        phone=DEMO_PHONES.get(country, "+85512345678"),
        service_code=codes[0] if codes else "*384*123#",
        max_gsm7=current_app.config["USSD_MAX_GSM7"],
        max_ucs2=current_app.config["USSD_MAX_UCS2"],
    )


def _phone(raw: str) -> str | None:
    try:
        return normalise_phone(raw, current_app.config["COUNTRY"])
    except InvalidData:
        return None


@blueprint.get("/simulator/sms")
def sms() -> tuple[Response, int]:
    """Return the SMS written for a phone number, newest first, with their delivery status."""
    phone = _phone(request.args.get("phone", ""))
    if phone is None:
        return jsonify({"error": "not a phone number"}), 400
    janela = current_app.extensions["janela"]
    messages = [
        {
            "id": m.id,
            "body": m.body,
            "purpose": m.purpose,
            "status": m.status,
            "encoding": m.encoding,
            "segments": m.segments,
            "part": m.part,
            "parts": m.parts,
            "error": m.last_error,
            "created_at": m.created_at.isoformat(),
        }
        for m in list_sms(janela.db, phone=phone)
    ]
    return jsonify({"phone": phone, "messages": messages}), 200


@blueprint.post("/simulator/sms")
def send_sms() -> tuple[Response, int]:
    """Text the service as the chosen number: the message takes the real inbound path."""
    # Another site's page must not be able to text the service as a chief through this browser.
    csrf.protect()
    phone = _phone(request.form.get("phone", ""))
    if phone is None:
        return jsonify({"error": "not a phone number"}), 400
    store_inbound(
        current_app.extensions["janela"].db,
        provider_id=f"sim-{uuid.uuid4().hex}",
        sender=phone,
        text=clean_text(request.form.get("text"), MAX_TEXT),
        to="simulator",
        link_id=None,
        network_code="99999",
    )
    return jsonify({"ok": True}), 202
