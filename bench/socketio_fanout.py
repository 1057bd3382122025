"""1000 Socket.IO clients receiving one event emitted by another process through Redis.

    python bench/socketio_fanout.py [--clients 1000] [--rounds 5]

MediaNest: the production web process (gunicorn + gevent, ``medianest run``
with REDIS_URL), 1000 signed-in clients (the household room); the event is
emitted the way a Celery worker emits it — a write-only Socket.IO manager on
the Redis message queue in another process.  Baseline, in the same run: a bare
python-socketio server under gunicorn with MediaNest's gunicorn settings and
its own Redis manager, 1000 clients of its own, the same kind of emit.  Both
sets of clients stay connected together and the rounds alternate between the
servers (the order flipping each round), so a busy moment of the machine lands
on both rather than on whichever server was measured then.

Prints per-client latency (emit -> received) p50/p99 for both and the ratio
of the p99s (target <= 1.2).  The clients run in processes of their own, from
a virtualenv of their own (``bench/fanout_clients.py``), made on first use.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import socketio  # noqa: E402
from stack import percentile, production_stack, wait_http  # noqa: E402

BARE_SERVER = """
import os
import socketio

manager = socketio.RedisManager(os.environ["BARE_REDIS_URL"], channel="bare-fanout")
sio = socketio.Server(async_mode="gevent", client_manager=manager, cors_allowed_origins=[])
app = socketio.WSGIApp(sio)
"""


CLIENTS_VENV = HERE / ".venv-fanout"
CLIENT_PACKAGES = ["python-socketio[asyncio_client]>=5.11", "aiohttp>=3.9"]


def clients_python() -> Path:
    """The Python of the clients' own virtualenv (``bench/fanout_clients.py`` says why), made on first use."""
    python = CLIENTS_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CLIENTS_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *CLIENT_PACKAGES], check=True)
    return python


class Clients:
    """One server's clients, connected by ``bench/fanout_clients.py`` in a process of their own."""

    def __init__(self, url: str, count: int, headers: dict[str, str]) -> None:
        args = [str(clients_python()), str(HERE / "fanout_clients.py"), url, "--count", str(count)]
        for name, value in headers.items():
            args += ["--header", f"{name}: {value}"]
        self.count = count
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the clients of {url} did not connect (exit code {self.proc.wait()})")

    def round(self, emit) -> list[float]:
        emit({"sent": time.time()})
        self.proc.stdin.write(f"collect {self.count}\n")
        self.proc.stdin.flush()
        values = json.loads(self.proc.stdout.readline())
        if len(values) < self.count:
            raise RuntimeError(f"only {len(values)} of {self.count} clients received the event")
        return values

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _measure_both(servers: list[tuple[str, str, dict[str, str], object]], count: int, rounds: int) -> dict:
    """Both servers' clients connected at once; rounds alternate between them, so both meet the same machine."""
    clients: dict[str, Clients] = {}
    latencies: dict[str, list[float]] = {name: [] for name, *_ in servers}
    round_p99: dict[str, list[float]] = {name: [] for name, *_ in servers}
    try:
        for name, url, headers, _emit in servers:
            clients[name] = Clients(url, count, headers)
        time.sleep(2.0)
        for n in range(rounds + 1):  # the first round of each is a warm-up, not counted
            order = servers if n % 2 == 0 else list(reversed(servers))
            for name, _url, _headers, emit in order:
                values = clients[name].round(emit)
                if n > 0:
                    latencies[name] += values
                    round_p99[name].append(percentile(values, 0.99))
                time.sleep(0.5)
    finally:
        for group in clients.values():
            group.close()
    return {"latencies": latencies, "round_p99": round_p99}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with production_stack() as stack:
        http = stack.session()
        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        medianest_emit = socketio.RedisManager(stack.redis_url, write_only=True, channel="flask-socketio")

        def emit_medianest(payload: dict) -> None:
            medianest_emit.emit("bench.fanout", payload, room="household", namespace="/")

        port = stack.baseline_server("bare_socketio", BARE_SERVER, BARE_REDIS_URL=stack.redis_url)
        wait_http(f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling")
        bare_emit = socketio.RedisManager(stack.redis_url, write_only=True, channel="bare-fanout")

        def emit_bare(payload: dict) -> None:
            bare_emit.emit("bench.fanout", payload, namespace="/")

        servers = [
            ("bare python-socketio", f"http://127.0.0.1:{port}", {}, emit_bare),
            ("MediaNest (household room)", stack.url, {"Cookie": cookie}, emit_medianest),
        ]
        try:
            measured = _measure_both(servers, args.clients, args.rounds)
        except Exception:
            print(stack.web.text()[-4000:], file=sys.stderr)
            raise

    lat, per_round = measured["latencies"], measured["round_p99"]
    bare_name, ours_name = servers[0][0], servers[1][0]
    print(
        f"{args.clients} clients per server, both connected; {args.rounds} events each, rounds alternating, "
        "emitted from another process through Redis"
    )
    print(f"{'server':28} {'p50 ms':>8} {'p99 ms':>8}  per-round p99 ms")
    for name in (bare_name, ours_name):
        rounds_text = " ".join(f"{v * 1000:.0f}" for v in per_round[name])
        p50, p99 = percentile(lat[name], 0.5) * 1000, percentile(lat[name], 0.99) * 1000
        print(f"{name:28} {p50:8.1f} {p99:8.1f}  {rounds_text}")
    ratio = percentile(lat[ours_name], 0.99) / percentile(lat[bare_name], 0.99)
    # One slow round decides a pooled p99: the median round says whether it was one round or every round.
    median_rounds = statistics.median(per_round[ours_name]) / statistics.median(per_round[bare_name])
    print(f"ratio of the median per-round p99s: {median_rounds:.2f}")
    print(f"ratio MediaNest / bare p99: {ratio:.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
