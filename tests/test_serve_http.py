"""``chainrule serve`` over real HTTP: the command on a free loopback port, its token, its event stream, Ctrl-C.

Every server here listens on 127.0.0.1 only and is stopped by the test (SIGINT, then a kill after a timeout).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn", reason="chainrule serve needs the serve extra (pip install -e '.[serve]')")

SRC = str(Path(__file__).resolve().parents[1] / "src")


class Server:
    def __init__(self, *flags: str):
        env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.process = subprocess.Popen([sys.executable, "-m", "chainrule.cli", "serve", "--no-browser", "--port", "0",
                                         *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.url = self.process.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), (self.url, self.process.stderr.read())
        self.base = self.url.split("?")[0].rstrip("/")

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
            pytest.fail("the server did not stop on Ctrl-C")
        return self.process.returncode, err


@pytest.fixture(scope="module")
def server():
    running = Server()
    yield running
    running.stop()


def test_the_url_is_the_first_line_and_ctrl_c_stops_cleanly():
    running = Server()
    assert httpx.get(running.base + "/api/info", timeout=10).status_code == 200
    status, err = running.stop()
    assert status == 0 and "Traceback" not in err and "stopped" in err


def test_explain_over_http_is_the_cli_json(server):
    response = httpx.post(server.base + "/api/explain", json={"problem": "example1"}, timeout=30)
    cli = subprocess.run([sys.executable, "-m", "chainrule.cli", "explain", "example1", "--format", "json"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC}, check=True)
    assert response.json() == json.loads(cli.stdout)


def test_refusals_over_http(server):
    base = server.base
    assert httpx.post(base + "/api/explain", json={"problem": "example1"}, headers={"origin": "http://evil.example"},
                      timeout=10).status_code == 403
    assert httpx.get(base + "/api/info", headers={"host": "rebound.example"}, timeout=10).status_code == 403
    big = httpx.post(base + "/api/explain", content=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                     headers={"content-type": "application/json"}, timeout=30)
    assert big.status_code == 413 and "larger than" in big.json()["error"]
    bad = httpx.post(base + "/api/explain", json={"problem": "w*"}, timeout=10)
    assert bad.status_code == 400 and set(bad.json()) == {"error"}


def test_a_token_given_on_loopback_is_required_and_printed():
    running = Server("--token", "letmein")
    try:
        assert running.url.endswith("/?token=letmein")
        assert httpx.get(running.base + "/api/info", timeout=10).status_code == 401
        assert httpx.get(running.base + "/", timeout=10).status_code == 401
        with httpx.Client(timeout=10) as browser:
            page = browser.get(running.url)
            assert page.status_code == 200 and "chainrule" in page.text
            assert browser.get(running.base + "/api/info").status_code == 200  # the cookie the page load set
    finally:
        running.stop()


def test_the_event_stream_follows_a_session_and_closing_it_stops_the_session(server):
    base = server.base
    with httpx.Client(timeout=30) as client:
        session_id = client.post(base + "/api/train", json={"steps": 5000, "sizes": [2, 4, 1]}).json()["id"]
        steps = []
        with client.stream("GET", f"{base}/api/train/{session_id}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    steps.append(json.loads(line[6:])["step"])
                    if len(steps) >= 3:
                        break
        assert steps == sorted(steps) and steps[-1] > 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            state = client.get(f"{base}/api/train/{session_id}").json()
            if state["done"]:
                break
            time.sleep(0.1)
        assert state["done"] and state["step"] < 5000  # the client went away, so did the session


def test_a_finished_session_streams_its_last_state_and_ends(server):
    with httpx.Client(timeout=30) as client:
        session_id = client.post(server.base + "/api/train", json={"steps": 20, "sizes": [2, 4, 1]}).json()["id"]
        events = []
        with client.stream("GET", f"{server.base}/api/train/{session_id}/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
        assert events[-1]["done"] and events[-1]["step"] == 20
        assert sum(len(event["losses"]) for event in events) == 20
