"""Lesson 17's workload in Python's redis.asyncio, for the ratios in the chapter.

100 tasks x ROUNDS of `SET key i` + `GET key` (checked), three ways:

  sequential   one connection, one command at a time (single_connection_client)
  pooled       a BlockingConnectionPool of 8 connections shared by the tasks
  per-task     redis.asyncio's default: a pool that opens a connection per
               concurrent command (here up to 100)

redis.asyncio has no multiplexed connection: each connection carries one
command at a time, and batching needs an explicit `pipeline()` in one task.

Prints one line per way: commands, seconds, commands/s and the server's
socket reads (`total_reads_processed`) per 1,000 commands.

    target/venv/bin/pip install redis
    target/venv/bin/python benches/compare/redis_asyncio.py --redis 127.0.0.1:6379 --rounds 50
"""

import argparse
import asyncio
import time

import redis.asyncio as redis

TASKS = 100


async def server_reads(host, port):
    r = redis.Redis(host=host, port=port)
    try:
        return (await r.info("stats"))["total_reads_processed"]
    finally:
        await r.aclose()


async def client(r, t, rounds):
    for i in range(rounds):
        await r.set(t, i)
        assert await r.get(t) == str(i).encode()


async def sequential(host, port, rounds):
    r = redis.Redis(host=host, port=port, single_connection_client=True)
    for t in range(TASKS):
        await client(r, t, rounds)
    await r.aclose()


async def pooled(host, port, rounds, size=8):
    pool = redis.BlockingConnectionPool(host=host, port=port, max_connections=size)
    r = redis.Redis(connection_pool=pool)
    await asyncio.gather(*(client(r, t, rounds) for t in range(TASKS)))
    await r.aclose()
    await pool.aclose()


async def per_task(host, port, rounds):
    r = redis.Redis(host=host, port=port)
    await asyncio.gather(*(client(r, t, rounds) for t in range(TASKS)))
    await r.aclose()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", required=True, help="HOST:PORT")
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    host, port = args.redis.rsplit(":", 1)
    port = int(port)
    commands = 2 * TASKS * args.rounds
    for name, way in [("sequential", sequential), ("pooled-8", pooled), ("per-task", per_task)]:
        before = await server_reads(host, port)
        start = time.perf_counter()
        await way(host, port, args.rounds)
        elapsed = time.perf_counter() - start
        # Minus the two INFO connections' reads that bracket the run.
        reads = await server_reads(host, port) - before - 2
        print(
            f"redis.asyncio {name:<11} {commands:>7} commands in {elapsed:6.3f} s"
            f" = {commands / elapsed:8.0f}/s; server reads per 1,000 commands"
            f" {reads * 1000 / commands:7.1f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
