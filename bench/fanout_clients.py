"""Socket.IO clients for bench/socketio_fanout.py, run in a virtualenv of their own.

    <clients' python> bench/fanout_clients.py URL --count 1000 [--header "Name: value"]

python-socketio's asyncio client needs aiohttp, and Engine.IO imports aiohttp
whenever it is installed, servers included: in MediaNest's own environment it
would weigh on every server the benchmarks measure (about 8 MiB of PSS in the
production web process).  So the clients live in ``bench/.venv-fanout``
(``socketio_fanout.clients_python()`` makes it), and this script talks to the
benchmark over its standard input and output:

* it connects ``--count`` clients, in waves, then prints ``ready``;
* ``collect N``: waits until N events have arrived since the last collect (at
  most 20 s) and prints their latencies (receipt time minus the ``sent`` time
  in the event) as one JSON list;
* ``quit`` (or the end of its input): disconnects every client and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time

import socketio

WAVE = 50  # clients connecting at once, so the single web worker accepts steadily
DEADLINE = 20.0


async def connect_all(url: str, count: int, headers: dict[str, str], received: list[float]) -> list:
    clients: list[socketio.AsyncClient] = []

    async def connect_one() -> None:
        client = socketio.AsyncClient(reconnection=False)

        @client.on("bench.fanout")
        async def _on(data: dict) -> None:
            received.append(time.time() - data["sent"])

        await client.connect(url, headers=dict(headers), transports=["websocket"], wait_timeout=30)
        clients.append(client)

    for start in range(0, count, WAVE):
        await asyncio.gather(*(connect_one() for _ in range(min(WAVE, count - start))))
    return clients


async def collect(received: list[float], count: int) -> list[float]:
    deadline = time.monotonic() + DEADLINE
    while len(received) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    values = list(received)
    received.clear()
    return values


async def serve(url: str, count: int, headers: dict[str, str]) -> None:
    received: list[float] = []
    clients = await connect_all(url, count, headers, received)
    # A full collection of a heap holding a thousand clients took hundreds of
    # milliseconds and became that round's p99: the collector stays off.
    gc.collect()
    gc.freeze()
    gc.disable()
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
            if not line or line[0] == "quit":
                break
            if line[0] == "collect":
                print(json.dumps(await collect(received, int(line[1]))), flush=True)
    finally:
        await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--header", action="append", default=[], help='"Name: value", repeatable')
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    asyncio.run(serve(args.url, args.count, headers))


if __name__ == "__main__":
    main()
