"""A phone simulator page: dial the service as Africa's Talking would, and read the SMS a number got."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from registry.errors import InvalidData
from registry.phones import normalise_phone
from registry.services import list_sms_to

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
        token=current_app.config["WEBHOOK_TOKEN"],
        max_gsm7=current_app.config["USSD_MAX_GSM7"],
        max_ucs2=current_app.config["USSD_MAX_UCS2"],
    )


@blueprint.get("/simulator/sms")
def sms() -> tuple[Response, int]:
    """Return the SMS written for a phone number, newest first."""
    try:
        phone = normalise_phone(request.args.get("phone", ""), current_app.config["COUNTRY"])
    except InvalidData:
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
            "created_at": m.created_at.isoformat(),
        }
        for m in list_sms_to(janela.db, phone)
    ]
    return jsonify({"phone": phone, "messages": messages}), 200
