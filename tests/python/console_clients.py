"""Chat clients that stay a while, for the console's browser test.

Connects CLIENTS clients of Python's `websockets` to lesson 20's chat,
creates the file READY once all are in, then each says a line every half
second for SECONDS seconds, and leaves.

    python tests/python/console_clients.py ws://127.0.0.1:8000/ws READY_FILE [SECONDS]
"""

import asyncio
import pathlib
import sys

from websockets.asyncio.client import connect

CLIENTS = 20


async def client(url, index, everyone_in, seconds):
    async with connect(url) as ws:
        everyone_in.append(index)
        for n in range(int(seconds * 2)):
            await ws.send(f"client {index} line {n}")
            await asyncio.sleep(0.5)


async def main(url, ready, seconds):
    everyone_in = []
    tasks = [asyncio.create_task(client(url, i, everyone_in, seconds)) for i in range(CLIENTS)]
    while len(everyone_in) < CLIENTS:
        done = [t for t in tasks if t.done() and t.exception()]
        if done:
            raise done[0].exception()
        await asyncio.sleep(0.05)
    pathlib.Path(ready).touch()
    await asyncio.gather(*tasks)
    print(f"python websockets: {CLIENTS} clients stayed {seconds} s")


if __name__ == "__main__":
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 20
    asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2], seconds), seconds + 60))
