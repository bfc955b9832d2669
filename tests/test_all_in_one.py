"""`python app.py` starts the whole service on the embedded defaults and stops it all on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> bytes:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def redis_servers_in(folder: Path) -> list[psutil.Process]:
    """Return the redis-server processes that keep their data in folder (a daemon is nobody's child)."""
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if "redis-server" in (process.info["name"] or "") and Path(process.cwd()) == folder:
                found.append(process)
        except psutil.Error:
            continue
    return found


def workers_of(process: subprocess.Popen[str]) -> list[psutil.Process]:
    """Return the live worker processes the all-in-one start runs."""
    found = []
    for child in psutil.Process(process.pid).children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "worker" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def stop(process: subprocess.Popen[str], how: str) -> None:
    """Stop the all-in-one start as a person or a service manager would."""
    if how == "Ctrl-C":  # the terminal signals the whole process group
        os.killpg(process.pid, signal.SIGINT)
    else:  # systemd, `kill`: only the main process
        process.send_signal(signal.SIGTERM)


@pytest.mark.parametrize("how", ["Ctrl-C", "SIGTERM"])
def test_all_in_one_start_serves_the_demo_and_stops_its_children(tmp_path: Path, how: str) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PORT=str(port), INSTANCE_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal gives
    )
    try:
        health = wait_for(f"http://127.0.0.1:{port}/healthz")
        assert b'"status":"ok"' in health.replace(b" ", b"")
        assert b"phone simulator" in wait_for(f"http://127.0.0.1:{port}/simulator")
        replies = []
        for text in ("", "2", "2%2A1"):  # Cambodia's languages: km, en, pt
            form = f"sessionId=s1&serviceCode=%2A384%2A123%23&phoneNumber=%2B85512345678&text={text}"
            request = urllib.request.Request(f"http://127.0.0.1:{port}/ussd", data=form.encode())
            with urllib.request.urlopen(request, timeout=10) as response:
                replies.append(response.read().decode())
        assert replies[0].startswith("CON ភាសា")
        assert replies[2].startswith("CON Programmes\n1 IDPoor")
        assert (tmp_path / "janela.db").exists()
        children = psutil.Process(process.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "worker" in names  # the RQ worker runs beside the web server
        assert len(redis_servers_in(tmp_path)) == 1  # the embedded Redis, shared by both
        if how == "SIGTERM":
            # A worker that dies is started again, without anyone at the keyboard.
            (dead,) = [c for c in children if "worker" in " ".join(c.cmdline())]
            dead.kill()
            deadline = time.monotonic() + 30
            while not [c for c in workers_of(process) if c.pid != dead.pid]:
                assert time.monotonic() < deadline, "the worker was not started again"
                time.sleep(0.2)
            children = psutil.Process(process.pid).children(recursive=True)
    finally:
        stop(process, how)
        output, _ = process.communicate(timeout=60)
    assert "phone simulator:" in output and f"http://127.0.0.1:{port}/ussd" in output
    assert "Loaded the KH demo catalogue: 8 programmes." in output
    time.sleep(1)
    assert [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE] == []
    assert redis_servers_in(tmp_path) == []  # nothing outlives the start
