"""1000 Socket.IO clients receiving one event emitted by another process through Redis.

    python bench/socketio_fanout.py [--clients 1000] [--rounds 5]

MediaNest: the production web process (gunicorn + gevent, ``medianest run``
with REDIS_URL), 1000 signed-in clients (the household room); the event is
emitted the way a Celery worker emits it — a write-only Socket.IO manager on
the Redis message queue in another process.  Baseline, in the same run: a bare
python-socketio server under gunicorn with MediaNest's gunicorn settings and
its own Redis manager, the same 1000 clients, the same kind of emit.

Prints per-client latency (emit -> received) p50/p99 for both and the ratio
of the p99s (target <= 1.2).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import socketio  # noqa: E402
from stack import Proc, free_port, percentile, production_stack, wait_http  # noqa: E402

WAVE = int(os.environ.get("FANOUT_WAVE", "50"))

BARE_SERVER = """
import os
import socketio

manager = socketio.RedisManager(os.environ["BARE_REDIS_URL"], channel="bare-fanout")
sio = socketio.Server(async_mode="gevent", client_manager=manager, cors_allowed_origins=[])
app = socketio.WSGIApp(sio)
"""


async def _connect_all(
    url: str, count: int, headers: dict[str, str], received: list[float]
) -> list[socketio.AsyncClient]:
    clients: list[socketio.AsyncClient] = []

    def make() -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)

        @client.on("bench.fanout")
        async def _on(data: dict) -> None:
            received.append(time.time() - data["sent"])

        return client

    async def connect_one() -> None:
        client = make()
        await client.connect(url, headers=dict(headers), transports=["websocket"], wait_timeout=30)
        clients.append(client)

    for start in range(0, count, WAVE):  # in waves, so the single worker accepts steadily
        await asyncio.gather(*(connect_one() for _ in range(min(WAVE, count - start))))
    return clients


async def _measure(url: str, count: int, headers: dict[str, str], emit, rounds: int) -> list[float]:
    received: list[float] = []
    clients = await _connect_all(url, count, headers, received)
    latencies: list[float] = []
    try:
        await asyncio.sleep(1.0)
        for _ in range(rounds):
            received.clear()
            emit({"sent": time.time()})
            deadline = time.monotonic() + 20
            while len(received) < count and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if len(received) < count:
                raise RuntimeError(f"only {len(received)} of {count} clients received the event")
            latencies.extend(received)
            await asyncio.sleep(0.5)
    finally:
        await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    return latencies


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

        try:
            ours = asyncio.run(_measure(stack.url, args.clients, {"Cookie": cookie}, emit_medianest, args.rounds))
        except Exception:
            print(stack.web.text()[-4000:], file=sys.stderr)
            raise

        (stack.work / "bare_socketio.py").write_text(BARE_SERVER)
        port = free_port()
        env = {
            **stack.env,
            "BARE_REDIS_URL": stack.redis_url,
            "PYTHONPATH": f"{stack.work}{os.pathsep}{stack.env['PYTHONPATH']}",
        }
        bare = Proc(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "python:medianest.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{port}",
                "bare_socketio:app",
            ],
            env,
            stack.work / "bare_socketio.log",
            cwd=stack.work,
        )
        stack.procs.append(bare)
        wait_http(f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling")
        bare_emit = socketio.RedisManager(stack.redis_url, write_only=True, channel="bare-fanout")

        def emit_bare(payload: dict) -> None:
            bare_emit.emit("bench.fanout", payload, namespace="/")

        baseline = asyncio.run(_measure(f"http://127.0.0.1:{port}", args.clients, {}, emit_bare, args.rounds))

    rows = [("bare python-socketio", baseline), ("MediaNest (household room)", ours)]
    print(f"{args.clients} clients, {args.rounds} events each, emitted from another process through Redis")
    print(f"{'server':28} {'p50 ms':>8} {'p99 ms':>8}")
    for name, values in rows:
        print(f"{name:28} {percentile(values, 0.5) * 1000:8.1f} {percentile(values, 0.99) * 1000:8.1f}")
    ratio = percentile(ours, 0.99) / percentile(baseline, 0.99)
    print(f"ratio MediaNest / bare p99: {ratio:.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
