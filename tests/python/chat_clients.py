"""50 clients of Python's `websockets` library chat through lesson 15's server.

Every client sends 20 lines; every client must receive all 1,000 lines, and
all in the same order (the order the server broadcast them). The server is
evloop's; the clients are a library nobody here wrote.

    python tests/python/chat_clients.py ws://127.0.0.1:8000/ws
"""

import asyncio
import sys
import time
import uuid

from websockets.asyncio.client import connect

CLIENTS = 50
MESSAGES = 20
TIMEOUT = 60


async def client(url, index, run, everyone_joined, lines):
    async with connect(url, max_size=2**20) as ws:
        joined.append(index)
        if len(joined) == CLIENTS:
            everyone_joined.set()
        await everyone_joined.wait()  # nobody talks before all are listening
        for n in range(MESSAGES):
            await ws.send(f"{run} client {index} message {n}")
        got = []
        while len(got) < CLIENTS * MESSAGES:
            line = await ws.recv()
            if run in line:
                got.append(line.split(": ", 1)[1])  # drop the nickname, keep the text
        lines[index] = got


async def main(url):
    run = uuid.uuid4().hex[:8]
    everyone_joined = asyncio.Event()
    lines = {}
    start = time.monotonic()
    await asyncio.wait_for(
        asyncio.gather(*(client(url, i, run, everyone_joined, lines) for i in range(CLIENTS))),
        TIMEOUT,
    )
    first = lines[0]
    expected = {f"{run} client {i} message {n}" for i in range(CLIENTS) for n in range(MESSAGES)}
    assert set(first) == expected, "some lines were lost or changed"
    for i, got in lines.items():
        assert got == first, f"client {i} saw a different order"
    for i in range(CLIENTS):  # each sender's lines arrive in the order it sent them
        mine = [line for line in first if f" client {i} " in line]
        assert mine == [f"{run} client {i} message {n}" for n in range(MESSAGES)]
    took = time.monotonic() - start
    print(f"python websockets: {CLIENTS} clients x {MESSAGES} messages: "
          f"all {CLIENTS * CLIENTS * MESSAGES} deliveries, same order everywhere ({took:.2f}s)")


joined = []
if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
