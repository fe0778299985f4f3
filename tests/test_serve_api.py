"""``chainrule serve``'s HTTP API through Starlette's test client: the CLI's numbers, and every refusal.

The over-the-wire tests (uvicorn on a free loopback port, the command itself,
the event stream) are in test_serve_http.py; the page in test_serve_browser.py.
"""

from __future__ import annotations

import json
import math
import time
import tomllib
import warnings
from importlib import resources

import numpy as np
import pytest

pytest.importorskip("starlette", reason="chainrule serve needs the serve extra (pip install -e '.[serve]')")
with warnings.catch_warnings():  # starlette asks for httpx2 in the future; httpx is what it supports today
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from chainrule.cli import main
from chainrule.serve import create_app, explaining, limits

BASE = "http://127.0.0.1:8000"


@pytest.fixture
def client():
    with TestClient(create_app(), base_url=BASE) as test_client:
        yield test_client


def cli_json(capsys, *argv) -> dict:
    capsys.readouterr()
    assert main(["explain", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def explain(client, **body) -> dict:
    response = client.post("/api/explain", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def refused(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


# -- the same numbers as the command line -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["example1", "example2", "example3"])
def test_seed_examples_are_the_cli_json(client, capsys, name):
    assert explain(client, problem=name) == cli_json(capsys, name)


@pytest.mark.parametrize("options,flags", [
    ({"lr": 0.5}, ["--lr", "0.5"]),
    ({"steps": 3, "precision": 4}, ["--steps", "3", "--precision", "4"]),
    ({"optimizer": "adam"}, ["--optimizer", "adam"]),
    ({"exact": True, "detail": "elements"}, ["--exact", "--detail", "elements"]),
])
def test_options_are_the_cli_flags(client, capsys, options, flags):
    assert explain(client, problem="example1", **options) == cli_json(capsys, "example1", *flags)


def test_an_expression_is_the_cli_expression(client, capsys):
    api = explain(client, problem="sigmoid(w*x + b)", set={"w": 0.5, "x": 1.0, "b": -0.25}, target=1.0, lr=0.1)
    assert api == cli_json(capsys, "sigmoid(w*x + b)", "--set", "w=0.5", "x=1.0", "b=-0.25", "--target", "1.0",
                           "--lr", "0.1")
    assert api["summary"]["gradients"]["w"] == pytest.approx(2 * (1 / (1 + math.exp(-0.25)) - 1)
                                                             * math.exp(-0.25) / (1 + math.exp(-0.25)) ** 2)


def test_toml_text_is_the_cli_on_the_same_file(client, capsys, tmp_path):
    text = resources.files("chainrule.examples").joinpath("example2.toml").read_text(encoding="utf-8")
    path = tmp_path / "problem.toml"
    path.write_text(text, encoding="utf-8")
    api, cli = explain(client, problem=text), cli_json(capsys, str(path))
    assert api["summary"] == cli["summary"] and api["sections"] == cli["sections"]


def test_set_edits_a_builtin_as_its_file_would(client, capsys, tmp_path):
    """w = 0.6 in example 1 explains exactly what a copy of example1.toml with weights = [0.6] explains."""
    data = tomllib.loads(resources.files("chainrule.examples").joinpath("example1.toml").read_text("utf-8"))
    text = resources.files("chainrule.examples").joinpath("example1.toml").read_text("utf-8")
    edited = text.replace("weights = [0.5]", "weights = [0.6]").split("# The seed document's own numbers")[0]
    assert data["model"]["weights"] == [0.5] and "[0.6]" in edited
    path = tmp_path / "example1.toml"
    path.write_text(edited, encoding="utf-8")
    api, cli = explain(client, problem="example1", set={"w": 0.6}), cli_json(capsys, str(path))
    assert api["summary"] == cli["summary"] and api["sections"] == cli["sections"]
    z = 0.6
    y_hat = 1 / (1 + math.exp(-z))
    assert api["summary"]["gradients"]["w"] == pytest.approx(2 * y_hat * y_hat * (1 - y_hat))
    assert api["summary"]["new_parameters"]["w"] == pytest.approx(0.6 - 0.1 * 2 * y_hat * y_hat * (1 - y_hat))


def test_set_reaches_inputs_bias_and_target(client):
    api = explain(client, problem="example2", set={"x1": 2.0, "w2": 0.25, "b": 0.1, "y": 0.0})
    z = 0.5 * 2.0 + 0.25 * 2.0 + 0.1
    y_hat = 1 / (1 + math.exp(-z))
    assert api["summary"]["loss"] == pytest.approx(y_hat ** 2)
    assert explain(client, problem="example2", target=0.0, set={"x1": 2.0, "w2": 0.25, "b": 0.1}) == api
    seed = json.dumps(explain(client, problem="example1"), ensure_ascii=False)
    edited = json.dumps(explain(client, problem="example1", set={"w": 0.6}), ensure_ascii=False)
    assert "The seed document" in seed and "The seed document" not in edited  # its numbers are for w = 0.5


def test_other_formats_render_the_same_explanation(client, capsys):
    markdown = client.post("/api/explain", json={"problem": "example1", "format": "markdown"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    capsys.readouterr()
    main(["explain", "example1", "--format", "markdown"])
    assert markdown.text == capsys.readouterr().out
    page = client.post("/api/explain", json={"problem": "example1", "format": "html"})
    assert page.headers["content-type"].startswith("text/html") and 'id="explanation-data"' in page.text


def test_new_explain_options_pass_through_by_name(client, monkeypatch):
    """An option explain_problem gains (say detail = "neurons") works without the server knowing it."""
    seen = {}
    real = explaining.explain_problem

    def explain_problem(problem, *, steps=None, precision=None, detail="auto", optimizer=None, exact=False,
                        teaching=None):
        seen["teaching"] = teaching
        return real(problem, steps=steps, precision=precision, detail=detail, optimizer=optimizer, exact=exact)

    monkeypatch.setattr(explaining, "explain_problem", explain_problem)
    explain(client, problem="example1", teaching="deep")
    assert seen == {"teaching": "deep"}
    assert "teaching" in refused(client.post("/api/explain", json={"problem": "example1", "teaching": [1]}), 400)


# -- refusals: one line, the right status -----------------------------------------------------------------

@pytest.mark.parametrize("body,words", [
    ({}, "problem: missing"),
    ({"problem": "w*"}, "expression"),
    ({"problem": "sigmoid(w*x)"}, "no value for"),
    ({"problem": "moons"}, "training problem"),
    ({"problem": "/etc/passwd"}, "expression"),  # never a path: an expression with unknown names
    ({"problem": "../examples/example1.toml"}, ""),
    ({"problem": "[model]\nkind = 'tree'"}, "[model] kind"),
    ({"problem": "[model\n"}, "not valid TOML"),
    ({"problem": "example1", "set": {"q": 1}}, "can set w, x, y"),
    ({"problem": "example1", "set": {"w": "0.5"}}, "expected a finite number"),
    ({"problem": "example1", "set": [1]}, "set: expected an object"),
    ({"problem": "example1", "lr": -1}, "lr: must be positive"),
    ({"problem": "example1", "lr": True}, "lr: expected a finite number"),
    ({"problem": "example1", "steps": 0}, "steps"),
    ({"problem": "example1", "steps": limits.MAX_EXPLAIN_STEPS + 1}, "steps"),
    ({"problem": "example1", "precision": 13}, "precision"),
    ({"problem": "example1", "optimizer": "rmsprop"}, "optimizer"),
    ({"problem": "example1", "detail": "bogus"}, "detail"),
    ({"problem": "example1", "format": "pdf"}, "format"),
    ({"problem": "example1", "bogus": 1}, "unknown field 'bogus'"),
    ({"problem": "example3", "mode": "minibatch", "batch_size": 9}, "batch_size"),
    ({"problem": "x" * (limits.MAX_PROBLEM_CHARS + 1)}, "more than the"),
    ({"problem": "(" * 5000 + "w" + ")" * 5000, "set": {"w": 1}}, ""),
])
def test_a_bad_request_is_400_with_one_line(client, body, words):
    assert words in refused(client.post("/api/explain", json=body), 400)


def test_a_problem_the_explainer_finds_too_large_is_400(client):
    terms = " + ".join(f"w{i}*x{i}" for i in range(1500))
    values = {f"w{i}": 0.1 for i in range(1500)} | {f"x{i}": 1.0 for i in range(1500)}
    body = {"problem": terms, "set": values}
    assert "more than the" in refused(client.post("/api/explain", json=body), 400)  # 64 values at most


@pytest.mark.parametrize("problem,words", [
    ('[model]\nkind = "mlp"\nsizes = [64, 64, 64, 1]\n[data]\nx = [' + ", ".join(["0.5"] * 64) + ']\ny = [1.0]\n'
     '[training]\nlr = 0.1\nsteps = 10\n', "parameters × 10 step(s)"),
    ('[model]\nweights = [0.5]\nbias = false\n[data]\nx = [' + ", ".join(["1"] * 201) + ']\ny = ['
     + ", ".join(["0"] * 201) + ']\n[training]\nlr = 0.1\n', "201 samples"),
])
def test_problems_too_big_to_answer_quickly_are_400(client, problem, words):
    assert words in refused(client.post("/api/explain", json={"problem": problem}), 400)


def test_bodies_over_a_mebibyte_are_413(client):
    big = json.dumps({"problem": "example1", "pad": "x" * limits.MAX_BODY_BYTES})
    assert "larger than" in refused(client.post("/api/explain", content=big,
                                                headers={"content-type": "application/json"}), 413)

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b" " * 65536

    assert refused(client.post("/api/explain", content=chunks(), headers={"content-type": "application/json"}),
                   413)


@pytest.mark.parametrize("content,type_,status", [
    (b"problem=example1", "application/x-www-form-urlencoded", 415),
    (b'{"problem": "example1"}', "text/plain", 415),
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
])
def test_only_json_objects_are_read(client, content, type_, status):
    refused(client.post("/api/explain", content=content, headers={"content-type": type_}), status)


def test_unknown_pages_and_methods_are_json_errors(client):
    assert refused(client.get("/api/nothing"), 404) == "no such page"
    assert refused(client.get("/assets/../../pyproject.toml"), 404)
    assert refused(client.get("/assets/app.py"), 404) == "no such file"
    assert refused(client.get("/api/explain"), 405)


def test_an_explanation_past_the_time_limit_is_503_and_the_server_goes_on(client, monkeypatch):
    def slow(problem, **options):
        time.sleep(1.0)
        raise AssertionError("never reached in time")

    monkeypatch.setattr(explaining, "explain_problem", slow)
    monkeypatch.setattr(limits, "EXPLAIN_TIMEOUT_S", 0.1)
    assert "longer than" in refused(client.post("/api/explain", json={"problem": "example1"}), 503)
    assert client.get("/api/info").status_code == 200


def test_past_the_pending_explanations_the_server_says_it_is_busy(client, monkeypatch):
    monkeypatch.setattr(limits, "MAX_PENDING_EXPLANATIONS", 0)
    assert "the server is busy" in refused(client.post("/api/explain", json={"problem": "w*x", "set": {"w": 1,
                                                                                                  "x": 2}}), 503)
    monkeypatch.setattr(limits, "MAX_PENDING_EXPLANATIONS", 1)
    for w in (1, 2, 3):  # one at a time: each finished explanation leaves its place free again
        assert client.post("/api/explain", json={"problem": "w*x", "set": {"w": w, "x": 2}}).status_code == 200


def test_an_internal_error_is_one_line_without_a_traceback(client, monkeypatch):
    def broken(problem, **options):
        raise RuntimeError("something deep went wrong")

    monkeypatch.setattr(explaining, "explain_problem", broken)
    with TestClient(create_app(), base_url=BASE, raise_server_exceptions=False) as quiet:
        message = refused(quiet.post("/api/explain", json={"problem": "example2"}), 500)
    assert message == "internal error: RuntimeError"


# -- Host, Origin and the token ---------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "", "a b",
                                  "localhost@evil.example"])
def test_foreign_host_headers_are_refused(client, host):
    assert "Host" in refused(client.get("/api/info", headers={"host": host}), 403)


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "app.localhost"])
def test_loopback_host_headers_are_served(client, host):
    assert client.get("/api/info", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:9999", "https://127.0.0.1:8000",
                                    "file://"])
def test_cross_origin_requests_are_refused(client, origin):
    refused(client.post("/api/explain", json={"problem": "example1"}, headers={"origin": origin}), 403)
    refused(client.post("/api/train", json={}, headers={"origin": origin}), 403)
    refused(client.get("/api/info", headers={"origin": origin}), 403)


def test_same_origin_and_cross_site_fetches(client):
    assert client.post("/api/explain", json={"problem": "example1"},
                       headers={"origin": BASE, "sec-fetch-site": "same-origin"}).status_code == 200
    refused(client.get("/api/info", headers={"sec-fetch-site": "cross-site"}), 403)
    refused(client.post("/api/explain", json={"problem": "example1"}, headers={"sec-fetch-site": "cross-site"}), 403)
    assert client.get("/", headers={"sec-fetch-site": "cross-site"}).status_code == 200  # a link to the app


def test_websockets_are_refused(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/api/train", headers={"origin": "http://evil.example"}) as socket:
            socket.receive_text()


def test_every_response_forbids_framing_and_sniffing(client):
    for response in (client.get("/"), client.get("/api/info"), client.get("/api/nothing")):
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_a_network_server_wants_its_token_everywhere():
    with TestClient(create_app(host="0.0.0.0", token="s3cret-token"), base_url=BASE) as network:
        for path in ("/", "/assets/app.js", "/api/info"):
            assert "token" in refused(network.get(path), 401)
        refused(network.post("/api/explain", json={"problem": "example1"}), 401)
        refused(network.get("/api/info?token=wrong"), 401)
        refused(network.get("/api/info", headers={"authorization": "Bearer wrong"}), 401)
        assert network.get("/api/info", headers={"authorization": "Bearer s3cret-token"}).status_code == 200
        assert network.get("/api/info", headers={"x-chainrule-token": "s3cret-token"}).status_code == 200
        page = network.get("/?token=s3cret-token")
        assert page.status_code == 200 and "SameSite=Strict" in page.headers["set-cookie"]
        assert network.post("/api/explain", json={"problem": "example1"}).status_code == 200  # the cookie
        assert network.get("/api/info", headers={"host": "192.168.1.20:8000"}).status_code == 200
        refused(network.get("/api/info", headers={"host": "evil.example:8000"}), 403)


def test_a_loopback_server_with_a_token_wants_it_too():
    with TestClient(create_app(token="abc"), base_url=BASE) as guarded:
        refused(guarded.get("/api/info"), 401)
        assert guarded.get("/api/info?token=abc").status_code == 200


def test_the_command_makes_a_token_for_a_network_host():
    from chainrule.cli.common import CommandError
    from chainrule.cli.serve_cmd import token_for, url_for
    from chainrule.serve.guard import is_loopback

    assert token_for("127.0.0.1", None, is_loopback) is None
    assert token_for("localhost", None, is_loopback) is None
    made = token_for("0.0.0.0", None, is_loopback)
    assert made and len(made) >= 24 and made != token_for("0.0.0.0", None, is_loopback)
    assert token_for("0.0.0.0", "mine", is_loopback) == "mine"
    with pytest.raises(CommandError):
        token_for("0.0.0.0", " ", is_loopback)
    assert url_for("127.0.0.1", 8000, None) == "http://127.0.0.1:8000/"
    assert url_for("::1", 8000, "t") == "http://[::1]:8000/?token=t"


# -- exercises --------------------------------------------------------------------------------------------

def test_the_worksheet_names_every_blank_and_shows_no_answer(client):
    sheet = client.post("/api/worksheet", json={"problem": "example1"}).json()
    blanks = [b["step"] for part in sheet["parts"] for item in part["items"] if item["type"] == "line"
              for b in item["blanks"]]
    assert blanks[:3] == ["z", "ŷ", "L"] and "w_new" in blanks
    lines = " ".join(item["text"] for part in sheet["parts"] for item in part["items"])
    assert "0.622" not in lines and "0.4708" not in lines


def test_check_marks_answers_as_the_command_does(client):
    body = {"problem": "example1", "answers": {"z": 0.5, "ŷ": 0.622, "L": 0.5, "∂L/∂ŷ": "1.244"}}
    result = client.post("/api/check", json=body).json()
    status = {v["step"]: v["status"] for v in result["verdicts"]}
    assert status == {"z": "right", "ŷ": "right", "L": "wrong", "∂L/∂ŷ": "right"}
    assert not result["ok"] and result["report"].startswith("✗ The first wrong step is 'L'")
    assert client.post("/api/check", json={"problem": "example1", "answers": {"z": 0.5}}).json()["ok"]


@pytest.mark.parametrize("answers", [None, [1], {"z": "half"}, {"z": float("inf")}, {"z": True}])
def test_bad_answers_are_400(client, answers):
    refused(client.post("/api/check", content=json.dumps({"problem": "example1", "answers": answers}),
                        headers={"content-type": "application/json"}), 400)


# -- training ---------------------------------------------------------------------------------------------

def wait_until(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("body,words", [
    ({"sizes": [2, 99, 1]}, "sizes"),
    ({"sizes": [2, 4, 4, 4, 4, 4, 1]}, "sizes"),
    ({"sizes": [3, 4, 1]}, "from 2 to 1"),
    ({"sizes": "2,4,1"}, "sizes"),
    ({"steps": limits.MAX_TRAIN_STEPS + 1}, "steps"),
    ({"samples": limits.MAX_SAMPLES + 1}, "samples"),
    ({"dataset": "/etc/passwd"}, "dataset"),
    ({"lr": 0}, "lr"),
    ({"mode": "minibatch"}, "batch size"),
    ({"activation": "__import__('os')"}, "activation"),
    ({"epochs": 3}, "unknown field"),
])
def test_bad_training_requests_are_400(client, body, words):
    assert words in refused(client.post("/api/train", json=body), 400)


def test_a_session_pauses_steps_resumes_and_learns(client):
    created = client.post("/api/train", json={"dataset": "moons", "sizes": [2, 8, 1], "steps": 60, "lr": 0.5,
                                             "paused": True})
    assert created.status_code == 201
    session_id, data = created.json()["id"], created.json()["data"]
    assert len(data["train"]["x"]) == 150 and len(data["validation"]["x"]) == 50
    time.sleep(0.2)
    state = client.get(f"/api/train/{session_id}").json()
    assert state["step"] == 0 and state["paused"] and not state["done"]
    client.post(f"/api/train/{session_id}/control", json={"action": "step"})
    assert wait_until(lambda: client.get(f"/api/train/{session_id}").json()["step"] == 1)
    time.sleep(0.2)
    assert client.get(f"/api/train/{session_id}").json()["step"] == 1  # one step, then paused again
    client.post(f"/api/train/{session_id}/control", json={"action": "resume"})
    assert wait_until(lambda: client.get(f"/api/train/{session_id}").json()["done"])
    state = client.get(f"/api/train/{session_id}").json()
    assert state["step"] == 60 and len(state["losses"]) == len(state["val_losses"]) == 60
    assert state["losses"][-1] < 0.8 * state["losses"][0]
    values = np.array(state["boundary"]["values"])
    assert values.shape == (limits.BOUNDARY_GRID, limits.BOUNDARY_GRID) and values.min() < 0.5 < values.max()
    assert client.get(f"/api/train/{session_id}?since=58").json()["losses"] == state["losses"][58:]
    assert "action" in refused(client.post(f"/api/train/{session_id}/control", json={"action": "explode"}), 400)
    assert client.delete(f"/api/train/{session_id}").json() == {"stopped": True}
    refused(client.get(f"/api/train/{session_id}"), 404)


def test_a_samples_derivation_is_at_the_sessions_current_weights(client):
    session_id = client.post("/api/train", json={"sizes": [2, 3, 1], "steps": 5, "activation": "tanh"}).json()["id"]
    assert wait_until(lambda: client.get(f"/api/train/{session_id}").json()["done"])
    session = client.app.api.sessions.get(session_id, "testclient")
    step, weights = session.weights()
    x, y = session.X[4], session.y[4]
    hidden = np.tanh(weights[0][0] @ x + weights[0][1])
    logit = (weights[1][0] @ hidden + weights[1][1]).item()
    expected = max(logit, 0) - logit * y + math.log1p(math.exp(-abs(logit)))  # BCE with logits
    derivation = client.post(f"/api/train/{session_id}/explain", json={"index": 4}).json()
    assert step == 5 and "step 5" in derivation["title"]
    assert derivation["summary"]["loss"] == pytest.approx(expected, rel=1e-9)
    refused(client.post(f"/api/train/{session_id}/explain", json={"index": 10_000}), 400)
    refused(client.post(f"/api/train/{session_id}/explain", json={"index": "4"}), 400)


def test_sessions_are_limited_per_client_and_in_all(client, monkeypatch):
    monkeypatch.setattr(limits, "MAX_SESSIONS_PER_CLIENT", 2)
    monkeypatch.setattr(limits, "MAX_SESSIONS", 3)
    first = client.post("/api/train", json={"paused": True}).json()["id"]
    client.post("/api/train", json={"paused": True})
    assert "stop one first" in refused(client.post("/api/train", json={"paused": True}), 429)
    client.delete(f"/api/train/{first}")
    assert client.post("/api/train", json={"paused": True}).status_code == 201
    with TestClient(client.app, base_url=BASE, client=("10.0.0.2", 5000)) as other:
        assert other.post("/api/train", json={"paused": True}).status_code == 201
        assert "already" in refused(other.post("/api/train", json={"paused": True}), 429)
        refused(other.get(f"/api/train/{first}"), 404)  # nobody else's session is there for you


def test_a_session_nobody_asks_about_stops(client, monkeypatch):
    monkeypatch.setattr(limits, "SESSION_IDLE_S", 0.3)
    session_id = client.post("/api/train", json={"paused": True, "steps": 5000}).json()["id"]
    session = client.app.api.sessions._sessions[session_id]
    assert wait_until(lambda: session.done, seconds=10)
    assert session.step < 5000
