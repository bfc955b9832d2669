"""The least a USSD webhook can do: parse AT's form, one Redis GET and one SET, answer.

Served by the same gunicorn as janela in bench.hop_load, it is the yardstick janela's hop is
measured against: `gunicorn 'bench.bare_app:create_app()'` with REDIS_URL set.
"""

from __future__ import annotations

import os

import redis
from flask import Flask, Response, request


def create_app() -> Flask:
    """Build the bare endpoint on REDIS_URL."""
    app = Flask(__name__)
    client = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=3)

    @app.post("/ussd")
    def ussd() -> Response:
        form = request.form
        key = f"bare:ussd:{form.get('sessionId', '')}"
        seen = client.get(key)
        text = form.get("text") or ""
        client.set(key, text, ex=300)
        body = f"CON {len(seen or b'')} {len(text)}\n1 One\n2 Two"
        return Response(body, mimetype="text/plain")

    return app
