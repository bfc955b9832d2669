"""Load USSD hops from outside the process: janela and a bare endpoint under the same gunicorn.

    .venv/bin/python -m bench.hop_load [--workers 4] [--callers 200] [--seconds 10] [--rounds 2]
        [--warmup 3] [--peak-rate 370]

Starts janela (`app:create_app()`) and the bare Flask+Redis endpoint (bench/bare_app.py) under
gunicorn with production's settings (deploy/gunicorn.conf.py: threaded workers, keepalive,
the garbage collector frozen after start) and the same workers, then drives each in turn,
alternating, with the same concurrent callers walking the same journey with AT's cumulative
`text`, after a warm-up round against each (discarded: the first requests of a fresh worker
open connections and fill caches). Phases:

- throughput: every caller sends its next hop as soon as the last is answered (no thinking);
  the callers outnumber the workers, so latency here is mostly waiting in the queue;
- busy: the same callers, each waiting --busy-think seconds (0.25) before answering: several
  hundred hops a second, a busy evening, below saturation;
- peak: the same callers sending --peak-rate hops a second between them (the capacity plan's
  busiest minutes, 370), each on its own schedule: the p99 at that rate is the one that counts;
- latency: each caller reading its screen for --think seconds (2) before answering, as people
  do; this shows how long a hop takes when the service is not saturated.

With no thinking, latency is mostly queueing (Little's law: callers / throughput), so the p99
target is read from the peak, busy and latency phases. A hop's latency runs from its send to
its answer, the same for both endpoints; "sent late" says how far behind its schedule the load
generator itself sent (a high figure means the generator, not the server, was short of CPU).

Needs DATABASE_URL and REDIS_URL (PostgreSQL and Redis); ports come from --port (two in a row).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import runpy
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.stats import percentile

ROOT = Path(__file__).resolve().parent.parent
# Both endpoints run under production's gunicorn settings (worker class, threads, keepalive,
# the garbage collector's freeze); only the bind address, the worker count and the log differ.
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
# A caller browses programmes, reads a section page by page, goes back and home, then starts a
# complaint: the hops most people make.
JOURNEY = (
    "",
    "1",
    "1*1",
    "1*1*2",
    "1*1*2*98",
    "1*1*2*98*0",
    "1*1*2*98*0*0",
    "1*1*2*98*0*0*00",
    "1*1*2*98*0*0*00*4",
)


@dataclass
class Result:
    """What one run against one endpoint measured."""

    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    # How long after its due time each hop was sent: the load generator's own lag (one event
    # loop on the same shared cores), not the server's; latencies are counted from the send.
    lags: list[float] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        """Answered hops per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        """Latency quantile q, in ms."""
        return percentile(self.latencies, q) * 1000

    def line(self) -> str:
        """Print the run."""
        return (
            f"  {self.name:<7} {self.throughput:7.0f} hops/s   p50 {self.p(0.5):6.1f}"
            f"  p95 {self.p(0.95):6.1f}  p99 {self.p(0.99):6.1f} ms"
            f"   ({len(self.latencies)} hops, {self.errors} errors;"
            f" sent late p99 {percentile(self.lags, 0.99) * 1000:.1f} ms)"
        )


def start_gunicorn(target: str, port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start gunicorn serving target on port with production's settings; return once it answers."""
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, "-c", str(GUNICORN_CONF), "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    # The access log is written as in production, to nowhere: a line a hop would flood the output.
    command += ["--log-level", "warning", "--access-logfile", os.devnull, target]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            asyncio.run(_probe(port))
            return process
        except (aiohttp.ClientError, OSError):
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn for {target} exited with {process.returncode}") from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"gunicorn for {target} did not answer on port {port}")


async def _probe(port: int) -> None:
    async with aiohttp.ClientSession() as session:
        form = {"sessionId": "probe", "serviceCode": "*384*123#", "phoneNumber": "+85512000000", "text": ""}
        async with session.post(f"http://127.0.0.1:{port}/ussd", data=form) as response:
            await response.read()


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a gunicorn started here."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


async def drive(
    name: str,
    port: int,
    callers: int,
    seconds: float,
    think: float,
    journey: Sequence[str],
    run: str,
    rate: float = 0.0,
) -> Result:
    """Let `callers` callers walk the journey against port for `seconds`; return the timings.

    With a rate, each caller sends a hop every callers/rate seconds on its own clock (sooner
    when late), so the callers together offer that rate whatever the answers take.
    """
    result = Result(name, seconds)
    url = f"http://127.0.0.1:{port}/ussd"
    stop_at = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=callers)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def caller(n: int) -> None:
            call = 0
            rng = random.Random(n)
            interval = callers / rate if rate else 0.0
            await asyncio.sleep(rng.random() * (interval or think or 0.01))  # not all at once
            due = intended = time.perf_counter()
            while time.perf_counter() < stop_at:
                call += 1
                # Phones from the reserved benchmark range; each call a fresh session.
                form = {"serviceCode": "*384*123#", "phoneNumber": f"+8551{n % 10:1d}99{n:04d}"}
                form["sessionId"] = f"bench-{run}-{n}-{call}"
                for text in journey:
                    if time.perf_counter() >= stop_at:
                        return
                    form["text"] = text
                    begin = time.perf_counter()
                    result.lags.append(max(0.0, begin - intended))
                    try:
                        async with session.post(url, data=form) as response:
                            body = await response.text()
                        ok = response.status == 200 and body[:4] in ("CON ", "END ")
                    except aiohttp.ClientError:
                        ok = False
                    if ok:
                        result.latencies.append(time.perf_counter() - begin)
                    else:
                        result.errors += 1
                    if interval:
                        due = max(due + interval, time.perf_counter() - interval)
                        intended = due
                        await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    elif think:
                        pause = think * (0.5 + rng.random())
                        intended = time.perf_counter() + pause
                        await asyncio.sleep(pause)
                    else:
                        intended = time.perf_counter()

        started = time.perf_counter()
        await asyncio.gather(*(caller(n) for n in range(callers)))
        result.seconds = time.perf_counter() - started
    return result


def gunicorn_settings() -> str:
    """Describe the production settings both servers run with."""
    conf = runpy.run_path(str(GUNICORN_CONF))
    return f"{conf['worker_class']} x {conf['threads']} threads, keepalive {conf['keepalive']} s"


def prepare(env: dict[str, str]) -> None:
    """Migrate janela's database and load the demo, in a process of its own."""
    code = "from app import create_app; from cli import prepare_database; a = create_app(); "
    code += "ctx = a.app_context(); ctx.push(); prepare_database(a)"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def bench_env() -> dict[str, str]:
    """Return the environment both servers run in."""
    env = dict(os.environ)
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not env.get(name)]
    if missing:
        raise SystemExit(f"bench.hop_load needs {' and '.join(missing)} (PostgreSQL and Redis)")
    env.update({"COUNTRY": "KH", "WEBHOOK_TOKEN": "", "USSD_SERVICE_CODES": "", "SMS_BACKEND": "outbox"})
    env.update({"SIMULATOR": "", "AT_API_KEY": ""})
    return env


def run(
    workers: int,
    callers: int,
    seconds: float,
    rounds: int,
    think: float,
    port: int,
    busy_think: float = 0.25,
    warmup: float = 3.0,
    peak_rate: float = 370.0,
) -> dict[str, list[Result]]:
    """Start both servers, drive them alternately, print and return every run."""
    env = bench_env()
    prepare(env)
    janela = start_gunicorn("app:create_app()", port, workers, env)
    bare = start_gunicorn("bench.bare_app:create_app()", port + 1, workers, env)
    results: dict[str, list[Result]] = {"throughput": [], "busy": [], "peak": [], "latency": []}
    try:
        print(
            f"hop load: gunicorn {workers} workers each, {gunicorn_settings()}; {callers} concurrent "
            f"callers; {len(JOURNEY)}-hop journey with AT's cumulative text"
        )
        if warmup:
            for name, target in (("janela", port), ("bare", port + 1)):
                asyncio.run(drive(name, target, callers, warmup, 0.0, JOURNEY, "warmup"))
            print(f" warm-up: {warmup:g} s against each, not counted")
        phases = (("throughput", 0.0, 0.0), ("busy", busy_think, 0.0), ("peak", 0.0, peak_rate))
        for phase, wait, rate in (*phases, ("latency", think, 0.0)):
            if rate:
                label = f"{rate:g} hops/s offered in all, each caller on its own schedule"
            elif wait:
                label = f"each caller thinks {wait:g} s (0.5-1.5x) between hops"
            else:
                label = "no thinking"
            print(f" {phase} ({label}), {rounds} alternating rounds of {seconds:g} s:")
            for r in range(rounds):
                for name, target in (("janela", port), ("bare", port + 1)):
                    result = asyncio.run(
                        drive(name, target, callers, seconds, wait, JOURNEY, f"{phase}{r}", rate)
                    )
                    results[phase].append(result)
                    print(result.line())
            print(summary(results[phase]))
    finally:
        stop(janela)
        stop(bare)
    return results


def summary(results: list[Result]) -> str:
    """Pool each endpoint's runs and print the ratio of janela to bare."""
    pooled = {}
    for name in ("janela", "bare"):
        runs = [r for r in results if r.name == name]
        pooled[name] = Result(name, sum(r.seconds for r in runs), [x for r in runs for x in r.latencies])
        pooled[name].errors = sum(r.errors for r in runs)
        pooled[name].lags = [x for r in runs for x in r.lags]
    j, b = pooled["janela"], pooled["bare"]
    ratio = j.throughput / b.throughput if b.throughput else 0.0
    return (
        f"  => janela {j.throughput:.0f} hops/s vs bare {b.throughput:.0f}: ratio {ratio:.2f}x; "
        f"p99 janela {j.p(0.99):.1f} ms vs bare {b.p(0.99):.1f} ms; sends late p99 "
        f"{percentile(j.lags, 0.99) * 1000:.1f} and {percentile(b.lags, 0.99) * 1000:.1f} ms"
    )


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--think", type=float, default=2.0, help="seconds a caller reads a screen")
    parser.add_argument("--busy-think", type=float, default=0.25, help="the busy phase's thinking")
    parser.add_argument("--port", type=int, default=19300)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds against each, not counted")
    parser.add_argument("--peak-rate", type=float, default=370.0, help="hops/s offered in the peak phase")
    args = parser.parse_args()
    run(
        args.workers,
        args.callers,
        args.seconds,
        args.rounds,
        args.think,
        args.port,
        args.busy_think,
        args.warmup,
        args.peak_rate,
    )


if __name__ == "__main__":
    main()
