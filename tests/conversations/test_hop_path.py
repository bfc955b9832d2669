"""The hop's fast path: two Redis round trips, the lock, the AT adapter and resume offers."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis
from flask import Flask

from conversations.engine import Engine
from conversations.errors import SessionBusy
from conversations.gateways import AfricasTalkingUssd, AtHop
from conversations.resume import ResumeOffer, offer_resume, resume_offers
from conversations.session import LOCK, Frame, SessionState, SessionStore
from registry.services import set_language

KH = "+85512345678"


class CountingRedis(redis.Redis):
    """A real Redis client that counts the commands it sends (each is one round trip here)."""

    sent: list[str]

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Count, then send."""
        self.sent.append(str(args[0]))
        return super().execute_command(*args, **options)


def counting_client(app: Flask) -> CountingRedis:
    client = CountingRedis.from_url(app.config["REDIS_URL"])
    client.sent = []
    return client  # type: ignore[return-value]


def test_a_hop_of_a_live_session_makes_two_redis_round_trips(app: Flask) -> None:
    janela = app.extensions["janela"]
    set_language(janela.db, KH, "en")
    client = counting_client(app)
    engine = Engine(client, janela.db, janela.settings)
    engine.handle(AtHop("trips-1", KH, ""))
    engine.handle(AtHop("trips-1", KH, "1"))  # scripts are loaded by now
    client.sent.clear()
    reply = engine.handle(AtHop("trips-1", KH, "1*1"))
    assert not reply.final
    assert client.sent == ["EVALSHA", "EVALSHA"]


def test_a_repeated_hop_gets_the_same_reply_in_two_round_trips_and_changes_nothing(app: Flask) -> None:
    janela = app.extensions["janela"]
    set_language(janela.db, KH, "en")
    client = counting_client(app)
    engine = Engine(client, janela.db, janela.settings)
    engine.handle(AtHop("repeat-1", KH, ""))
    first = engine.handle(AtHop("repeat-1", KH, "1"))
    state_before = client.get("janela:ussd:session:repeat-1")
    client.sent.clear()
    again = engine.handle(AtHop("repeat-1", KH, "1"))
    assert again == first
    assert client.sent == ["EVALSHA", "EVALSHA"]
    assert client.get("janela:ussd:session:repeat-1") == state_before
    assert client.get(LOCK.format("repeat-1")) is None


def test_a_second_hop_waits_for_the_first_and_gives_up_politely(app: Flask) -> None:
    store = SessionStore(app.extensions["janela"].redis, ttl=60)
    first = store.open("busy-1")
    with pytest.raises(SessionBusy):
        store.open("busy-1", wait=0.1)
    done = threading.Event()
    opened: list[Any] = []

    def second() -> None:
        opened.append(store.open("busy-1", wait=5))
        done.set()

    thread = threading.Thread(target=second)
    thread.start()
    state = SessionState(KH, "en", [Frame("main")])
    store.close("busy-1", first, state)
    assert done.wait(5)
    thread.join()
    assert opened[0].state is not None and opened[0].state.language == "en"
    store.close("busy-1", opened[0], None)


def test_a_late_hop_whose_lock_expired_does_not_release_the_next_holder(app: Flask) -> None:
    client = app.extensions["janela"].redis
    store = SessionStore(client, ttl=60, lock_timeout=0.05)
    late = store.open("late-1")
    client.delete(LOCK.format("late-1"))  # it expired while the late hop worked
    store_next = SessionStore(client, ttl=60)
    current = store_next.open("late-1", wait=0.5)
    store.close("late-1", late, None)
    assert client.get(LOCK.format("late-1")) == current.token.encode()
    with pytest.raises(SessionBusy):
        store_next.open("late-1", wait=0.1)
    store_next.close("late-1", current, None)
    assert client.get(LOCK.format("late-1")) is None


def test_a_failing_hop_lets_go_of_the_lock_and_keeps_the_old_state(app: Flask) -> None:
    janela = app.extensions["janela"]
    set_language(janela.db, KH, "en")
    engine = Engine(janela.redis, janela.db, janela.settings)
    engine.handle(AtHop("fail-1", KH, ""))
    before = janela.redis.get("janela:ussd:session:fail-1")

    class Broken(AtHop):
        def inputs_after(self, seen: int) -> tuple[tuple[str, ...], int]:
            raise RuntimeError("the gateway sent nonsense")

    with pytest.raises(RuntimeError):
        engine.handle(Broken("fail-1", KH, "1"))
    assert janela.redis.get(LOCK.format("fail-1")) is None
    assert janela.redis.get("janela:ussd:session:fail-1") == before


def test_the_at_adapter_keeps_a_typed_star_inside_one_input() -> None:
    hop = AtHop("s", KH, "2*Sok*Dara")
    assert hop.inputs_after(1) == (("Sok*Dara",), 3)
    assert hop.inputs_after(2) == (("Dara",), 3)
    # A gateway oddity (no new part): the last part is acted on, as before.
    assert hop.inputs_after(3) == (("Dara",), 3)
    assert AtHop("s", KH, "").inputs_after(0) == ((), 0)


def test_the_at_adapter_reads_dial_string_digits_as_separate_choices() -> None:
    adapter = AfricasTalkingUssd("KH")
    hop = adapter.parse({"sessionId": "d-1", "phoneNumber": KH, "text": "1*2"})
    assert hop.dialled() == (("1", "2"), 2)
    assert hop.fingerprint == AtHop("d-1", KH, "1*2").fingerprint
    assert hop.fingerprint != AtHop("d-1", KH, "1*3").fingerprint


def test_an_engine_offers_to_resume_whatever_flow_registered_an_offer(app: Flask) -> None:
    janela = app.extensions["janela"]
    set_language(janela.db, KH, "en")
    janela.redis.set("janela:draft:survey:" + KH, "{}")
    offers = [ResumeOffer("survey", "language"), *resume_offers()]
    engine = Engine(janela.redis, janela.db, janela.settings, offers=offers)
    reply = engine.handle(AtHop("offer-1", KH, ""))
    assert reply.text.startswith("ភាសា / Idioma / Language")
    # Without that flow's draft, the call starts at the main menu.
    janela.redis.delete("janela:draft:survey:" + KH)
    assert engine.handle(AtHop("offer-2", KH, "")).text.startswith("Social protection")


def test_registering_an_offer_twice_keeps_one() -> None:
    before = resume_offers()
    offer_resume(before[0].flow, before[0].screen)
    assert resume_offers() == before


def test_a_hop_while_redis_is_gone_gets_an_apology_not_an_error(app: Flask, make_app: Any) -> None:
    set_language(app.extensions["janela"].db, KH, "en")
    app = make_app(REDIS_URL="redis://127.0.0.1:19399/0")  # nothing listens there
    response = app.test_client().post(
        "/ussd", data={"sessionId": "gone-1", "serviceCode": "*384*123#", "phoneNumber": KH, "text": ""}
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("END Sorry, the service is not available")
