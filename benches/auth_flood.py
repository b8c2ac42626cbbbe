#!/usr/bin/env python3
"""Login latency under a registration flood (scripts/bench.sh auth-flood).

BENCH_REGISTRARS (200) concurrent clients register new accounts in a loop
while one client signs in to an existing account again and again, for
BENCH_SECONDS (15). Prints the login p50/p99 and what the registrations got.
Plain asyncio over HTTP/1.1 keep-alive (no dependency beyond Python 3).
"""
import asyncio
import json
import os
import sys
import time
import uuid

BASE = os.environ["BENCH_BASE"]
HOST, PORT = BASE.removeprefix("http://").split(":")
PORT = int(PORT)
REGISTRARS = int(os.environ.get("BENCH_REGISTRARS", "200"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
PASSWORD = "correct horse battery"


class Conn:
    def __init__(self):
        self.reader = self.writer = None

    async def post(self, path, body):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, PORT)
        data = json.dumps(body).encode()
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{PORT}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode() + data
        )
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
        await self.reader.readexactly(length)
        return status

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def register_body(email):
    return {"email": email, "password": PASSWORD, "name": "Bench"}


async def registrar(deadline, statuses):
    conn = Conn()
    while time.monotonic() < deadline:
        try:
            s = await conn.post("/api/auth/register", register_body(f"flood-{uuid.uuid4().hex}@bench.test"))
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            conn.close()
            s = "error"
        statuses[s] = statuses.get(s, 0) + 1
    conn.close()


async def login_loop(deadline, email, latencies, statuses):
    conn = Conn()
    while time.monotonic() < deadline:
        start = time.monotonic()
        s = await conn.post("/api/auth/login", {"email": email, "password": PASSWORD})
        latencies.append((time.monotonic() - start) * 1000)
        statuses[s] = statuses.get(s, 0) + 1
    conn.close()


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


async def main():
    email = f"regular-{uuid.uuid4().hex}@bench.test"
    setup = Conn()
    assert await setup.post("/api/auth/register", register_body(email)) == 201, "setup registration"
    quiet = []
    await login_loop(time.monotonic() + 3, email, quiet, {})
    setup.close()
    deadline = time.monotonic() + SECONDS
    latencies, login_statuses, reg_statuses = [], {}, {}
    await asyncio.gather(
        login_loop(deadline, email, latencies, login_statuses),
        *(registrar(deadline, reg_statuses) for _ in range(REGISTRARS)),
    )
    print(f"login alone:         n={len(quiet)} p50={pct(quiet, .5):.0f} ms p99={pct(quiet, .99):.0f} ms")
    print(f"login under flood:   n={len(latencies)} p50={pct(latencies, .5):.0f} ms "
          f"p99={pct(latencies, .99):.0f} ms max={max(latencies, default=float('nan')):.0f} ms statuses={login_statuses}")
    print(f"registrations ({REGISTRARS} concurrent, {SECONDS:.0f} s): {reg_statuses}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
