"""Load on ``chainrule serve``: concurrent explain clients and streaming training sessions, on loopback only.

    python benchmarks/serve_load.py [--seconds 60] [--clients 50] [--sessions 5] [--vary] [--think S]

Starts ``chainrule serve --no-browser --port 0`` (127.0.0.1, a free port), then
for ``--seconds`` runs ``--clients`` explain clients, each posting the seed's
examples (example1, example2, example3 in turn) as fast as it is answered, and
``--sessions`` training sessions whose event streams are read to the end (a
finished session is replaced by a new one). With ``--vary`` every explain
request sets a different w, so no answer comes from the server's cache: that is
the cost of recomputing as a learner types. ``--think S`` makes each client
wait S seconds between its requests (a learner's pause; the page itself waits
300 ms after the last keystroke); the default, 0, is a closed loop. It reports requests per second,
p50/p95/p99 latency, errors (any status but 200, or a dropped connection), the
training events received and the server's peak resident memory (VmHWM), then
stops the server with Ctrl-C (SIGINT) and reports how it exited. Bounded: every
request has a timeout, and the run ends after ``--seconds`` however it goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

SRC = str(Path(__file__).resolve().parents[1] / "src")
EXAMPLES = ("example1", "example2", "example3")
W_NAMES = {"example1": "w", "example2": "w1", "example3": "w"}


def start_server() -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen([sys.executable, "-m", "chainrule.cli", "serve", "--no-browser", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    url = process.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        process.kill()
        raise SystemExit(f"serve_load: the server did not start: {process.stderr.read()}")
    return process, url.rstrip("/")


def peak_memory_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Connection:
    """One keep-alive HTTP/1.1 connection that posts JSON and reads a Content-Length response.

    The explain clients use this instead of httpx: on two cores a full-featured async client spends more CPU
    per request than the server does (measured: httpx at 96 % of a core for 408 requests/s while the server
    used 20 %), so the figures would describe the load generator. This one does only what the server needs.
    """

    def __init__(self, url: str):
        rest = url.removeprefix("http://")
        self.host, _, port = rest.partition("/")[0].partition(":")
        self.port = int(port)
        self.reader = self.writer = None

    async def post(self, path: str, body: dict, timeout: float = 30) -> tuple[int, bytes]:
        payload = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        return await asyncio.wait_for(self._exchange(head + payload), timeout)

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(request)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        length, keep = 0, True
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                keep = False
        content = await self.reader.readexactly(length)
        if not keep:
            await self.close()
        return int(status_line.split()[1]), content

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def explain_client(url: str, number: int, deadline: float, vary: bool, think: float,
                         latencies: list, errors: list) -> None:
    connection = Connection(url)
    turn = number
    try:
        while time.monotonic() < deadline:
            name = EXAMPLES[turn % len(EXAMPLES)]
            body = {"problem": name}
            if vary:
                body["set"] = {W_NAMES[name]: round(0.1 + (turn * 7919 % 100000) / 100000, 5)}
            began = time.perf_counter()
            try:
                status, content = await connection.post("/api/explain", body)
                if status != 200:
                    errors.append(f"explain {status}: {content[:100]!r}")
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as error:
                errors.append(f"explain: {type(error).__name__}")
                await connection.close()
            latencies.append(time.perf_counter() - began)
            turn += 1
            if think:
                await asyncio.sleep(think)
    finally:
        await connection.close()


async def training_client(client: httpx.AsyncClient, url: str, deadline: float, counts: dict, errors: list) -> None:
    while time.monotonic() < deadline:
        try:
            created = await client.post(f"{url}/api/train", json={"dataset": "moons", "steps": 300,
                                                                  "sizes": [2, 8, 8, 1]})
            if created.status_code != 201:
                errors.append(f"train {created.status_code}: {created.text[:100]}")
                await asyncio.sleep(0.5)
                continue
            session = created.json()["id"]
            async with client.stream("GET", f"{url}/api/train/{session}/events") as stream:
                async for line in stream.aiter_lines():
                    if line.startswith("data: "):
                        counts["events"] += 1
                        if json.loads(line[6:])["done"]:
                            counts["sessions"] += 1
                            break
                    if time.monotonic() >= deadline:
                        break
        except httpx.HTTPError as error:
            errors.append(f"train: {type(error).__name__}")


async def drive(url: str, seconds: float, clients: int, sessions: int, vary: bool, think: float) -> dict:
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    errors: list[str] = []
    counts = {"events": 0, "sessions": 0}
    limits = httpx.Limits(max_connections=sessions + 5)  # the training streams
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        began = time.monotonic()
        await asyncio.gather(
            *(explain_client(url, i, deadline, vary, think, latencies, errors) for i in range(clients)),
            *(training_client(client, url, deadline, counts, errors) for _ in range(sessions)))
        elapsed = time.monotonic() - began
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed, **counts}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--vary", action="store_true", help="a different w in every request (no cached answers)")
    parser.add_argument("--think", type=float, default=0.0, help="seconds each client waits between requests")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 600 or not 0 <= args.clients <= 200 or not 0 <= args.sessions <= 16 \
            or not 0 <= args.think <= 60:
        parser.error("keep it bounded: --seconds 1..600, --clients 0..200, --sessions 0..16")
    process, url = start_server()
    try:
        result = asyncio.run(drive(url, args.seconds, args.clients, args.sessions, args.vary, args.think))
        memory = peak_memory_mib(process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
    latencies = sorted(result["latencies"])
    requests = "varying w" if args.vary else "the seed examples as given"
    print(f"chainrule serve under load: {args.clients} explain clients ({requests}, think {args.think:g} s), "
          f"{args.sessions} streaming training sessions, {result['elapsed']:.0f} s on {os.cpu_count()} CPU(s)")
    if latencies:
        print(f"  explain: {len(latencies)} requests, {len(latencies) / result['elapsed']:.1f}/s; latency "
              f"p50 {1000 * percentile(latencies, 50):.0f} ms, p95 {1000 * percentile(latencies, 95):.0f} ms, "
              f"p99 {1000 * percentile(latencies, 99):.0f} ms, max {1000 * latencies[-1]:.0f} ms")
    print(f"  training: {result['sessions']} sessions finished, {result['events']} stream events")
    print(f"  errors: {len(result['errors'])}" + (f" (first: {result['errors'][0]})" if result["errors"] else ""))
    print(f"  server peak memory: {memory:.0f} MiB" if memory is not None else "  server peak memory: unknown")
    print(f"  server exit status after Ctrl-C: {process.returncode}")
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
