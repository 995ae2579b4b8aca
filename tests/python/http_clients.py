"""Python's own HTTP clients against evloop's lesson-11 server.

Run by .ci/http-clients.sh: `python http_clients.py http://127.0.0.1:PORT`.
`requests` (blocking, one connection after another) and `aiohttp` (asyncio,
200 requests at once) must both get exactly the answers the chapter promises.
"""
import asyncio
import sys

import aiohttp
import requests


def check_requests(base):
    with requests.Session() as s:  # a Session reuses its connection: keep-alive
        r = s.get(f"{base}/")
        assert r.status_code == 200 and r.json() == {"message": "Hello, world!"}, r.text
        r = s.get(f"{base}/hello/requests")
        assert r.json() == {"message": "Hello, requests!"}, r.text
        r = s.post(f"{base}/echo", json={"nested": [1, 2, {"x": None}]})
        assert r.json() == {"nested": [1, 2, {"x": None}]}, r.text
        assert s.post(f"{base}/echo", data=b"not json").status_code == 400
        assert s.get(f"{base}/missing").status_code == 404
    print("requests: ok")


async def check_aiohttp(base, n=200):
    async with aiohttp.ClientSession() as session:
        async def one(i):
            async with session.get(f"{base}/hello/{i}") as r:
                assert r.status == 200
                return (await r.json())["message"]

        got = await asyncio.gather(*(one(i) for i in range(n)))
        assert got == [f"Hello, {i}!" for i in range(n)], got[:5]
        async with session.post(f"{base}/echo", json={"k": "v"}) as r:
            assert await r.json() == {"k": "v"}
    print(f"aiohttp: ok ({n} concurrent requests)")


if __name__ == "__main__":
    base = sys.argv[1].rstrip("/")
    check_requests(base)
    asyncio.run(check_aiohttp(base))
