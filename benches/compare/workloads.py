"""The seven `compare` workloads in Python asyncio (and on uvloop, when installed).

This is the Python side of `benches/compare/`: the same workloads as
`benches/compare/main.rs`, in the same shape, written the way an asyncio
programmer writes them, so the table can put evloop beside the runtime whose
ideas it teaches. One process runs ONE workload and prints one line:

    python3 benches/compare/workloads.py spawn                # asyncio's own loop
    python3 benches/compare/workloads.py spawn --loop uvloop  # uvloop, if importable
    asyncio spawn 8.123s 1234.5MB

The time is wall-clock from just before the event loop is created until
`run_until_complete` has returned and the loop is closed; the memory is the process's peak RSS
(VmHWM) in MiB, the interpreter's own baseline included.

| workload | what it does (asyncio spelling) |
|---|---|
| spawn    | `create_task` 1,000,000 coroutines that return their index, then await each task in order |
| yield    | 1,000 tasks, each `await asyncio.sleep(0)` 1,000 times; await them all |
| pingpong | 1,000 pairs of tasks, 1,000 round trips each over two `asyncio.Queue(maxsize=1)` |
| sleeps   | 100,000 tasks, task i sleeps a splitmix64-scattered 0-500 ms; await them all |
| gather   | `asyncio.gather` of 10,000 `asyncio.sleep(1)` coroutines |
| echo     | `start_server` echo and 100 `open_connection` clients on 127.0.0.1, 2,000 round trips of 64 B each |
| chat     | a `start_server` line-chat room and 100 clients, 100 rounds of one line each, every line to everyone |

`gather` wraps each coroutine in a Task (that is what `asyncio.gather`
does); the Rust side joins plain futures. Every workload checks its result.
Needs only the standard library (uvloop is optional).
"""

import argparse
import asyncio
import resource
import sys
import time

SPAWN_TASKS = 1_000_000
YIELD_TASKS, YIELDS = 1_000, 1_000
PAIRS, PING_PONGS = 1_000, 1_000
SLEEPS, MAX_SLEEP_MICROS = 100_000, 500_000
GATHERED, GATHER_SLEEP = 10_000, 1.0
CONNECTIONS, ROUND_TRIPS, MESSAGE = 100, 2_000, 64
CHATTERS, CHAT_ROUNDS = 100, 100

MASK = (1 << 64) - 1


def sleep_for(i):
    """Seconds task i sleeps: splitmix64(i + 1) mod 500,001 us, as in main.rs."""
    z = ((i + 1) * 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    return (z % (MAX_SLEEP_MICROS + 1)) / 1e6


async def spawn():
    async def trivial(i):
        return i

    tasks = [asyncio.create_task(trivial(i)) for i in range(SPAWN_TASKS)]
    total = 0
    for task in tasks:
        total += await task
    assert total == SPAWN_TASKS * (SPAWN_TASKS - 1) // 2


async def yields():
    async def yielder():
        for _ in range(YIELDS):
            await asyncio.sleep(0)  # asyncio's yield_now

    tasks = [asyncio.create_task(yielder()) for _ in range(YIELD_TASKS)]
    for task in tasks:
        await task


async def pingpong():
    async def ping(ping_q, pong_q):
        for i in range(PING_PONGS):
            await ping_q.put(i)
            assert await pong_q.get() == i
        await ping_q.put(None)  # asyncio.Queue has no close: a sentinel ends the pong side

    async def pong(ping_q, pong_q):
        while (i := await ping_q.get()) is not None:
            await pong_q.put(i)

    tasks = []
    for _ in range(PAIRS):
        ping_q, pong_q = asyncio.Queue(maxsize=1), asyncio.Queue(maxsize=1)
        tasks.append(asyncio.create_task(ping(ping_q, pong_q)))
        tasks.append(asyncio.create_task(pong(ping_q, pong_q)))
    for task in tasks:
        await task


async def sleeps():
    tasks = [asyncio.create_task(asyncio.sleep(sleep_for(i))) for i in range(SLEEPS)]
    for task in tasks:
        await task


async def gather():
    done = await asyncio.gather(*(asyncio.sleep(GATHER_SLEEP) for _ in range(GATHERED)))
    assert len(done) == GATHERED


async def echo():
    async def serve(reader, writer):
        try:
            while True:
                writer.write(await reader.readexactly(MESSAGE))
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass  # the client closed: fixed-size messages, so EOF ends the loop
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def client(i):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        message = bytes([i % 256]) * MESSAGE
        for _ in range(ROUND_TRIPS):
            writer.write(message)
            await writer.drain()
            back = await reader.readexactly(MESSAGE)
        assert back == message
        writer.close()
        await writer.wait_closed()

    clients = [asyncio.create_task(client(i)) for i in range(CONNECTIONS)]
    for task in clients:
        await task
    server.close()
    await server.wait_closed()


async def chat():
    room = []  # one outbox per member, by member number; None once it left
    relays = []
    everyone_in = asyncio.Event()

    async def relay(writer, outbox):
        # Everything queued, in one write; asyncio.Queue cannot close: None ends it.
        while (line := await outbox.get()) is not None:
            batch = [line]
            while not outbox.empty():
                line = outbox.get_nowait()
                if line is None:
                    outbox.put_nowait(None)
                    break
                batch.append(line)
            writer.write(b"".join(batch))
            await writer.drain()
        writer.close()

    async def member(reader, writer):
        number = len(room)
        outbox = asyncio.Queue()
        room.append(outbox)
        relays.append(asyncio.create_task(relay(writer, outbox)))
        if len(room) == CHATTERS:
            everyone_in.set()
        await everyone_in.wait()  # no line is lost to a member not yet in the room
        while line := await reader.readline():
            for outbox_ in room:
                if outbox_ is not None:
                    outbox_.put_nowait(line)
        room[number] = None
        outbox.put_nowait(None)  # the relay writes what is queued, then ends

    server = await asyncio.start_server(member, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def client(number):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        heard, members, partial = [0] * CHAT_ROUNDS, 0, b""
        for rnd in range(CHAT_ROUNDS):
            writer.write(f"{number} {rnd}\n".encode())
            await writer.drain()
            while heard[rnd] < CHATTERS:
                chunk = await reader.read(16 * 1024)
                assert chunk, "the server hung up"
                *lines, partial = (partial + chunk).split(b"\n")
                for line in lines:
                    sender, said_in = line.split()
                    members += int(sender)
                    heard[int(said_in)] += 1
        assert partial == b"" and all(n == CHATTERS for n in heard), heard
        assert members == CHAT_ROUNDS * CHATTERS * (CHATTERS - 1) // 2
        writer.close()
        await writer.wait_closed()

    clients = [asyncio.create_task(client(i)) for i in range(CHATTERS)]
    for task in clients:
        await task
    await asyncio.gather(*relays)  # (the server's side ends too: no task left pending)
    server.close()
    await server.wait_closed()


WORKLOADS = {
    "spawn": spawn,
    "yield": yields,
    "pingpong": pingpong,
    "sleeps": sleeps,
    "gather": gather,
    "echo": echo,
    "chat": chat,
}


def peak_mib():
    """Peak RSS of this process in MiB: VmHWM, or ru_maxrss (KiB on Linux)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()

    if args.loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            sys.exit("uvloop is not installed: pip install uvloop (or use --loop asyncio)")
        loop_factory = uvloop.new_event_loop
    else:
        loop_factory = asyncio.new_event_loop

    # asyncio.run(main, loop_factory=...) is 3.12+; a Runner-free spelling
    # that works on 3.8+ and times the same thing.
    start = time.perf_counter()
    loop = loop_factory()
    try:
        loop.run_until_complete(WORKLOADS[args.workload]())
    finally:
        loop.close()
    elapsed = time.perf_counter() - start
    print(f"{args.loop} {args.workload} {elapsed:.3f}s {peak_mib():.1f}MB", flush=True)


if __name__ == "__main__":
    main()
