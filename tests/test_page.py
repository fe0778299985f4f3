"""The HTML page of an explanation (``Explanation.to_html``), checked in a real headless Chromium.

Needs Debian's ``chromium`` (``/usr/bin/chromium``, or the path in ``$CHROMIUM``) and the Python package
``playwright`` (the ``test`` extra; no ``playwright install``: the system Chromium is launched). The
browser tests skip, saying why, only when one of the two is missing. The page is opened from ``file://``
with every other request aborted and recorded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chainrule.explain import explain_problem, expression_problem, load_builtin
from chainrule.explain.graph_walk import minus, walk_graph
from chainrule.explain.model import Note
from chainrule.explain.page import ROOT_CLASS, asset, to_html
from chainrule.explain.problems import parse_problem

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 900}

MLP = {
    "title": "A tensor-level MLP: 2 → 3 → 1",
    "model": {"kind": "mlp", "sizes": [2, 3, 1], "activation": "tanh", "output": "sigmoid", "seed": 0},
    "data": {"x": [[1.0, 2.0], [0.5, -1.0]], "y": [1.0, 0.0]},
    "training": {"loss": "bce", "lr": 0.1},
}


def _problem(name: str):
    if name == "mlp":
        return parse_problem(MLP, "mlp")
    if name == "expression":
        return expression_problem("tanh(w*x + b)", {"w": 0.5, "x": 1.0, "b": 0.1}, target=1.0, lr=0.1)
    return load_builtin(name)


_CACHE: dict = {}


def explanation(name: str):
    if name not in _CACHE:
        _CACHE[name] = explain_problem(_problem(name))
    return _CACHE[name]


def equations(data: dict) -> list[dict]:
    return [item for s in data["sections"] for item in s["items"] if item["type"] == "equation"]


# ---------------------------------------------------------------------------
# Without a browser: the markup itself

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Balance(HTMLParser):
    """Every element closed in order (SVG and MathML children may self-close)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def _css_selectors(css: str) -> list[str]:
    selectors = []
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    for match in re.finditer(r"([^{}]+)\{", css):
        head = match.group(1).strip()
        if head.startswith("@"):
            continue
        selectors += [s.strip() for s in head.split(",")]
    return selectors


def test_markup_is_html5_self_contained_and_scoped():
    html = explanation("example1").to_html()
    assert html.startswith("<!doctype html>\n")
    assert '<meta charset="utf-8">' in html
    balance = _Balance()
    balance.feed(html)
    balance.close()
    assert balance.errors == [] and balance.stack == []
    # Nothing from outside: the only URL is the SVG namespace, links and sources are data: or fragments.
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) == {"http://www.w3.org/2000/svg"}
    for attribute in re.findall(r"\b(?:src|href)\s*=\s*\"([^\"]*)\"", html):
        assert attribute.startswith(("data:", "#")), attribute
    assert "@import" not in html and "@font-face" not in html
    # Jupyter: every style rule is scoped under the root class.
    css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    selectors = _css_selectors(css)
    assert selectors and all(s.startswith("." + ROOT_CLASS) for s in selectors), [
        s for s in selectors if not s.startswith("." + ROOT_CLASS)]
    # Every equation is MathML (one <math> per step of the equation, each with its plain-text fallback).
    data = explanation("example1").to_dict()
    assert html.count('<div class="cr-math">') == len(equations(data))
    assert html.count("<math ") == html.count('alttext="') >= len(equations(data))
    assert html.count("data-value=") == len(equations(data))
    # The page's styles and script are the package's asset files, inlined.
    assert asset("page.css").strip() in html and asset("page.js").strip() in html


def test_to_html_is_what_the_explanation_and_repr_give():
    exp = explanation("example1")
    assert exp.to_html() == to_html(exp) == exp._repr_html_()
    # The JSON carries no pictures: its page is the same page without them.
    without = re.sub(r'<figure class="cr-picture.*?</figure>', "", exp.to_html(), flags=re.S)
    assert to_html(exp.to_dict()) == without


# ---------------------------------------------------------------------------
# In Chromium


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver, or set $CHROMIUM)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the Python driver 'playwright' is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Opened:
    """A page opened from file:// with every other request aborted, and what it tried and said."""

    def __init__(self, browser, html: str, path: Path, *, javascript: bool = True, viewport=VIEWPORT):
        path.write_text(html, encoding="utf-8")
        self.url = path.as_uri()
        self.context = browser.new_context(java_script_enabled=javascript, viewport=viewport,
                                           reduced_motion="reduce")
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context.set_default_timeout(5000)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("dialog", self._dialog)
        self.page.goto(self.url, wait_until="load")

    def _route(self, route):
        if route.request.url == self.url:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def clean(self):
        assert self.blocked == [], f"requests beyond the page: {self.blocked}"
        assert self.errors == [], self.errors
        assert self.dialogs == []

    def close(self):
        self.context.close()


@pytest.fixture
def opened(browser, tmp_path):
    pages = []

    def open_(html: str, name: str = "page", **options) -> Opened:
        page = Opened(browser, html, tmp_path / f"{name}.html", **options)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


def _numbers(text: str) -> list[float]:
    text = re.sub(r"[−-]\s*", "-", text)  # MathML writes −1.0 as <mo>−</mo><mn>1.0</mn>
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]


_SHOWN = """() => Array.from(document.querySelectorAll('.cr-eq')).map(el => ({
    value: el.getAttribute('data-value'), shown: el.getAttribute('data-shown'),
    node: el.getAttribute('data-node'), step: el.getAttribute('data-step-index'),
    visible: el.querySelector('.cr-math').innerText}))"""


def check_values(page, data: dict) -> None:
    """Every equation element carries the JSON's exact value and shows its rounded one."""
    items = equations(data)
    shown = page.evaluate(_SHOWN)
    assert len(shown) == len(items)
    step = 0
    for element, item in zip(shown, items):
        assert json.loads(element["value"]) == item["value"], item["text"]
        assert element["shown"] == item["shown_text"]
        assert element["node"] == item["node"]
        if item["node"] is not None:
            assert element["step"] == str(step)
            step += 1
        else:
            assert element["step"] is None
        visible = re.sub(r"\s+", "", element["visible"]).replace("−", "-")
        expected = item["shown_text"].replace(" ", "").replace("−", "-")
        if expected.startswith("["):  # a matrix: its numbers end the line, in order
            wanted = _numbers(expected)
            assert _numbers(element["visible"])[-len(wanted):] == wanted, (item["text"], element["visible"])
        else:
            assert expected in visible, (item["text"], element["visible"])
    embedded = json.loads(page.locator("#explanation-data").text_content())
    assert embedded == data


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


def _state(page) -> dict:
    return page.evaluate("""() => {
        const eq = document.querySelectorAll('.cr-eq.current');
        const nodes = document.querySelectorAll('.cr-node.current');
        const edges = document.querySelectorAll('.cr-edge.current');
        const stage = document.querySelector('.cr-stage').getBoundingClientRect();
        const box = eq.length ? eq[0].getBoundingClientRect() : null;
        return {
            status: document.getElementById('status').textContent,
            steps: Array.from(eq).map(e => e.getAttribute('data-step-index')),
            kind: eq.length ? eq[0].getAttribute('data-kind') : null,
            node: eq.length ? eq[0].getAttribute('data-node') : null,
            graphNodes: Array.from(nodes).map(n => n.getAttribute('data-node-id')),
            graphEdges: Array.from(edges).map(n => [n.getAttribute('data-from'), n.getAttribute('data-to')]),
            inView: box ? box.top >= stage.bottom - 1 && box.bottom <= window.innerHeight + 1 : null,
            prevDisabled: document.getElementById('prev').disabled,
            nextDisabled: document.getElementById('next').disabled,
        };
    }""")


def test_loads_offline_and_shows_the_json_values(opened):
    exp = explanation("example1")
    data = exp.to_dict()
    page = opened(exp.to_html(), "example1")
    page.clean()
    check_values(page.page, data)
    text = page.page.inner_text(".cr-derivation")
    for item in equations(data):
        assert item["shown_text"].replace("−", "-") in text.replace("−", "-")
    assert page.page.inner_text("h1") == exp.title
    # The graph: one box per node, showing its value and its (rounded) gradient.
    nodes = data["graph"]["nodes"]
    assert page.page.locator(".cr-node[data-node-id]").count() == len(nodes)
    w = page.page.locator('.cr-node[data-node-id="w"]').text_content()
    node_w = next(n for n in nodes if n["id"] == "w")
    assert minus(str(node_w["value"])) in w and minus(str(node_w["grad_shown"])) in w
    assert page.page.locator(".cr-edge").count() == len(data["graph"]["edges"])
    page.clean()


def test_step_buttons_walk_forward_then_backward(opened, tmp_path):
    exp = explanation("example1")
    data = exp.to_dict()
    steps = [item for item in equations(data) if item["node"] is not None]
    total = len(steps)
    page = opened(exp.to_html(), "steps")
    p = page.page
    state = _state(p)
    assert state["steps"] == [] and state["graphNodes"] == [] and state["prevDisabled"]
    assert state["status"].startswith(f"{total} steps")
    initial = state["status"]

    kinds = []
    for number in range(1, total + 1):
        p.click("#next")
        state = _state(p)
        item = steps[number - 1]
        assert state["status"].startswith(f"Step {number} of {total} — "), state["status"]
        assert state["steps"] == [str(number - 1)]
        assert state["node"] == item["node"] and state["kind"] == item["kind"]
        assert state["graphNodes"] == [item["node"]]
        assert state["graphEdges"] == ([item["edge"]] if item["edge"] else [])
        assert state["inView"], f"step {number} is not scrolled into view"
        kinds.append(item["kind"])
        if item["kind"] in ("forward", "loss"):
            assert "forward pass" in state["status"]
        if item["kind"] in ("local", "chain", "gradient"):
            assert "backward pass" in state["status"]
        if number == 8:
            shot = tmp_path / "example1-step8.png"
            p.screenshot(path=str(shot))
    assert state["nextDisabled"]
    # Forward first, then backward.
    forward = [i for i, k in enumerate(kinds) if k in ("forward", "loss")]
    backward = [i for i, k in enumerate(kinds) if k in ("local", "chain", "gradient")]
    assert forward and backward and max(forward) < min(backward)
    assert kinds.index("update") > max(backward)

    p.click("#prev")
    assert _state(p)["steps"] == [str(total - 2)]
    assert _state(p)["status"].startswith(f"Step {total - 1} of {total}")
    p.click("#reset")
    state = _state(p)
    assert state["steps"] == [] and state["graphNodes"] == [] and state["status"] == initial
    assert p.locator("#prev").is_disabled() and p.locator("#reset").is_disabled()

    # The keyboard: → and ← step, from the page itself.
    p.locator("h1").click()
    p.keyboard.press("ArrowRight")
    p.keyboard.press("ArrowRight")
    assert _state(p)["steps"] == ["1"]
    p.keyboard.press("ArrowLeft")
    assert _state(p)["steps"] == ["0"]
    page.clean()

    width, height = _png_size(shot)
    assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"])
    assert shot.stat().st_size > 30_000


def test_screenshot_of_the_whole_page(opened, tmp_path):
    page = opened(explanation("example1").to_html(), "shot")
    shot = tmp_path / "example1-full.png"
    page.page.screenshot(path=str(shot), full_page=True)
    width, height = _png_size(shot)
    assert width == VIEWPORT["width"] and height > VIEWPORT["height"]
    assert shot.stat().st_size > 50_000
    page.clean()


@pytest.mark.parametrize("name", ["example3", "mlp", "example2", "expression"])
def test_renders_and_steps_without_errors(opened, name):
    exp = explanation(name)
    data = exp.to_dict()
    page = opened(exp.to_html(), name)
    check_values(page.page, data)
    total = sum(item["node"] is not None for item in equations(data))
    assert total > 0
    page.page.evaluate("n => { for (let i = 0; i < n; i++) document.getElementById('next').click(); }", total)
    state = _state(page.page)
    assert state["status"].startswith(f"Step {total} of {total} — ")
    assert state["nextDisabled"]
    if name == "mlp":  # tensors: the boxes show matrices, the equations MathML tables
        assert page.page.locator(".cr-node .cr-matrix").count() > 0
        assert page.page.locator(".cr-math mtable").count() > 0
    page.clean()


def test_without_javascript_everything_is_visible(opened):
    exp = explanation("example1")
    page = opened(exp.to_html(), "nojs", javascript=False)
    p = page.page
    count = p.locator(".cr-eq").count()
    assert count == len(equations(exp.to_dict()))
    assert all(p.locator(".cr-eq").nth(i).is_visible() for i in range(count))
    assert p.locator("svg.cr-graph").is_visible()
    assert not p.locator("#next").is_visible()  # no stepping without a script
    update = next(item for item in equations(exp.to_dict()) if item["kind"] == "update")
    assert update["shown_text"] in p.inner_text(".cr-derivation")
    # The graph shows its own pass, every value and gradient of it, and says so.
    graph = p.evaluate(_VISIBLE)
    assert graph["caption"] == "values and gradients of the first forward and backward pass"
    for node in exp.to_dict()["graph"]["nodes"]:
        shown = graph["nodes"][node["id"]]
        assert _shown_number(shown["value"]) == pytest.approx(node["value"], abs=1e-3)
        if node["grad_shown"] is not None:
            assert _shown_number(shown["grad"]) == pytest.approx(node["grad_shown"])
        assert not shown["updated"]
    page.clean()


def test_hostile_text_is_escaped(opened):
    exp = explain_problem(load_builtin("example1"))
    exp.title = 'Tom & "Jerry" </script><script>alert(1)</script>'
    exp.description = '<img src="x" onerror="alert(2)"> a < b && c > d'
    exp.sections[0].items.append(Note('<b>not bold</b> & "quoted" \'single\''))
    exp.graph.nodes[2]["expression"] = '<tspan>w</tspan> & "x"'
    exp.graph.edges[0]["label"] = '</text><script>alert(3)</script>'
    data = exp.to_dict()
    page = opened(exp.to_html(), "hostile")
    p = page.page
    assert p.inner_text("h1") == exp.title
    assert p.title() == exp.title
    assert p.inner_text(".cr-description") == exp.description
    assert '<b>not bold</b> & "quoted"' in p.inner_text(".cr-derivation")
    assert p.locator("img").count() == 0 and p.locator(".cr-derivation b").count() == 0
    assert p.locator("script").count() == 3  # the explanation's JSON, the graph's walk and the page's script
    assert '<tspan>w</tspan> & "x"' in p.locator('.cr-node[data-node-id="z"]').text_content()
    assert json.loads(p.locator("#explanation-data").text_content()) == data
    page.clean()


def test_two_pages_in_one_notebook_keep_to_themselves(opened):
    """What Jupyter does with _repr_html_: the page's markup inside an output cell, twice."""
    first, second = explanation("example1").to_html(), explanation("example3").to_html()
    host = ("<!doctype html><html><head><meta charset='utf-8'><title>notebook</title></head><body>"
            "<p id='host'>a notebook cell</p>"
            f"<div class='output' id='out1'>{first}</div><div class='output' id='out2'>{second}</div>"
            "</body></html>")
    plain = opened("<!doctype html><html><body><p id='host'>a notebook cell</p></body></html>", "plain")
    style = ("() => { const b = getComputedStyle(document.body), h = getComputedStyle(document.getElementById('host'));"
             " return [b.margin, b.fontFamily, b.backgroundColor, h.fontFamily, h.fontSize, h.color]; }")
    before = plain.page.evaluate(style)
    page = opened(host, "notebook")
    p = page.page
    assert p.evaluate(style) == before  # the page's CSS leaves the notebook alone
    assert p.locator(f".{ROOT_CLASS}[data-cr-ready='1']").count() == 2
    p.click("#out2 .cr-next")
    p.click("#out2 .cr-next")
    assert p.inner_text("#out2 .cr-status").startswith("Step 2 of ")
    assert p.locator("#out1 .current").count() == 0
    assert p.inner_text("#out1 .cr-status").endswith("walk through them.")
    page.clean()
    plain.clean()


# ---------------------------------------------------------------------------
# The graph follows the step (no number in these tests is a literal: they come from the JSON)


def steps_of(data: dict) -> list[dict]:
    return [item for item in equations(data) if item["node"] is not None]


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def folded(walk, index: int) -> dict:
    """What each slot shows after step ``index`` (-1: before the first), by the walk's own rule."""
    chosen = {}
    for step in walk.steps[:index + 1]:
        chosen.update(dict(step["set"]))
    shown = {}
    for key, variants in walk.variants.items():
        if key not in walk.stepped:
            shown[key] = variants[walk.first[key]]
        elif chosen.get(key, -1) >= 0:
            shown[key] = variants[chosen[key]]
    return shown


def _grads(shown: dict) -> dict:
    return {json.loads(k)[1]: v for k, v in shown.items() if json.loads(k)[0] == "g"}


def _values(shown: dict) -> dict:
    return {json.loads(k)[1]: v for k, v in shown.items() if json.loads(k)[0] == "v"}


@pytest.mark.parametrize("name", ["example1", "example2", "expression", "mlp"])
def test_walk_reveals_values_and_gradients_as_the_derivation_reaches_them(name):
    data = explanation(name).to_dict()
    steps, walk = steps_of(data), walk_graph(data)
    assert len(walk.steps) == len(steps)
    assert _grads(folded(walk, -1)) == {} and _values(folded(walk, -1)) == {}
    assert _grads(folded(walk, 0)) == {}  # the first step gives nothing of the backward pass away
    first_update = next(i for i, item in enumerate(steps) if item["kind"] == "update")
    for index, item in enumerate(steps):
        shown = folded(walk, index)
        if item["kind"] in ("given", "forward", "loss", "check"):
            value = _values(shown)[item["node"]]
            assert (value.content if value.form == "text" else None) in (minus(item["shown_text"]), None)
        if item["kind"] in ("chain", "gradient"):
            assert _grads(shown)[item["node"]].label == item["lhs"]["text"]
        if index < first_update:  # a gradient shows only once a line has reached it
            for node in _grads(shown):
                reached = [s for s in steps[:index + 1] if s["kind"] in ("local", "chain", "gradient")]
                assert reached, (name, index, node)
    update = steps[first_update]
    value = _values(folded(walk, first_update))[update["node"]]
    assert value.new and value.label == "new value"
    if value.form == "text":
        assert value.content == minus(update["shown_text"])


@pytest.mark.parametrize("name", ["example1", "example2", "expression", "mlp"])
def test_walk_check_shows_the_new_values_only(name):
    data = explanation(name).to_dict()
    steps, walk = steps_of(data), walk_graph(data)
    checks = [i for i, item in enumerate(steps) if item["kind"] == "check"]
    assert checks
    updates = {item["node"]: item for item in steps
               if item["kind"] == "update" and item["lhs"]["text"].endswith("_new")}
    ops = {n["id"] for n in data["graph"]["nodes"] if n["kind"] == "op"}
    for index in checks:
        shown = folded(walk, index)
        assert _grads(shown) == {}, "an old gradient during the check"
        assert not any(json.loads(k)[0] == "e" for k in shown if k in walk.stepped), "an old local derivative"
        checked = {steps[i]["node"]: steps[i] for i in checks if i <= index}
        for node, value in _values(shown).items():
            if node in ops:
                assert node in checked, f"{node} shows a value of the first pass during the check"
                if value.form == "text":
                    assert value.content == minus(checked[node]["shown_text"])
            if node in updates:
                assert value.new


def _pass_of(steps: list[dict], index: int) -> list[dict]:
    """The lines of the data-set pass that step ``index`` is in: the same context, one sample."""
    found, sample = [], None
    for item in reversed(steps[:index + 1]):
        if item["context"] != steps[index]["context"] or None not in (sample, item["sample"]) \
                and item["sample"] != sample:
            break
        sample = sample if item["sample"] is None else item["sample"]
        found.insert(0, item)
    return found


def test_walk_follows_the_samples_and_weights_of_a_data_set():
    data = explanation("example3").to_dict()
    steps, walk = steps_of(data), walk_graph(data)
    table = next(item for s in data["sections"] for item in s["items"] if item["type"] == "table")
    assert "sample 1 at the starting weights" in walk.static_caption
    seen_contexts = set()
    for index, item in enumerate(steps):
        shown, caption = _values(folded(walk, index)), walk.steps[index]["caption"]
        if item["context"] is None:
            continue
        seen_contexts.add(item["context"])
        assert caption.startswith(item["context"])
        for name, at in item["at"].items():
            written = shown[name]
            if item["kind"] == "update" and item["node"] == name:
                assert written.new and _number(written.content) == pytest.approx(item["shown"])
            else:
                assert _number(written.content) == pytest.approx(at), (index, caption)
                assert f"{name} = {written.content}" in caption
        if item["sample"] is not None:
            row = dict(part.split(" = ") for part in table["rows"][item["sample"] - 1][1].split(", "))
            for name, text in row.items():
                assert _number(shown[name].content) == pytest.approx(_number(text))
        # Every number the graph shows comes from a line of this pass (this context and sample), never from
        # another sample's or from before an update; what no line of the pass says stays blank.
        this_pass = _pass_of(steps, index)
        ops = {n["id"] for n in data["graph"]["nodes"] if n["kind"] == "op"}
        for node, value in shown.items():
            if node in ops:
                lines = [s for s in this_pass if s["node"] == node and s["kind"] in ("forward", "loss")]
                assert lines and value.content == minus(lines[-1]["shown_text"]), (index, node)
        for key, label in folded(walk, index).items():
            if json.loads(key)[0] == "e" and key in walk.stepped and item["sample"] not in (None, 1):
                lines = [s for s in this_pass if s["kind"] == "local" and s["edge"] == json.loads(key)[1:]]
                assert lines and label.content.endswith(minus(lines[-1]["shown_text"])), (index, key)
        for node, grad in _grads(folded(walk, index)).items():
            if node != data["graph"]["nodes"][-1]["id"] and grad.label.startswith("∂L") and grad.label != "∂L/∂L":
                lines = [s for s in this_pass if s["kind"] in ("chain", "gradient", "local")]
                assert lines, (index, node)
    assert {"batch", "stochastic, sample 2", "minibatch, batch 1"} <= seen_contexts


_VISIBLE = """() => {
    const visible = el => getComputedStyle(el).display !== 'none';
    const out = {nodes: {}, edges: {}, caption: document.querySelector('.cr-graph-caption').textContent};
    document.querySelectorAll('.cr-node[data-node-id]').forEach(node => {
        const on = [...node.querySelectorAll('.cr-variant')].filter(visible);
        const text = cls => { const v = on.find(v => v.querySelector(cls)); return v ? v.textContent : null; };
        out.nodes[node.getAttribute('data-node-id')] = {
            value: text('.cr-val'), grad: text('.cr-grad'), updated: node.classList.contains('cr-updated')};
    });
    document.querySelectorAll('.cr-edge-label').forEach(label => {
        const on = [...label.querySelectorAll('.cr-variant')].filter(visible);
        if (on.length) out.edges[label.getAttribute('data-from') + '→' + label.getAttribute('data-to')] =
            on.map(v => v.textContent).join(' ');
    });
    return out;
}"""


def _shown_number(text: str | None) -> float | None:
    if text is None:
        return None
    return _number(text.split(" = ")[-1].strip())


def test_page_graph_follows_the_step(opened):
    exp = explanation("example1")
    data = exp.to_dict()
    steps = steps_of(data)
    page = opened(exp.to_html(), "follows")
    p = page.page
    before = p.evaluate(_VISIBLE)
    assert all(n["value"] is None and n["grad"] is None for n in before["nodes"].values())
    checks = [i for i, item in enumerate(steps) if item["kind"] == "check"]
    update = next(i for i, item in enumerate(steps) if item["kind"] == "update")
    for index, item in enumerate(steps):
        p.click("#next")
        graph = p.evaluate(_VISIBLE)
        if index == 0:
            assert all(n["grad"] is None for n in graph["nodes"].values()), "a gradient at the first step"
            assert not graph["edges"]
        if item["kind"] in ("forward", "loss", "given"):
            assert _shown_number(graph["nodes"][item["node"]]["value"]) == _number(item["shown_text"])
            assert all(n["grad"] is None for n in graph["nodes"].values())
        if item["kind"] == "chain":
            assert _shown_number(graph["nodes"][item["node"]]["grad"]) == _number(item["shown_text"])
        if index == update:
            w = graph["nodes"][item["node"]]
            assert w["updated"] and "new value" in w["value"]
            assert _shown_number(w["value"]) == _number(item["shown_text"])
        if index in checks:
            assert all(n["grad"] is None for n in graph["nodes"].values()), "an old gradient in the check"
            assert not graph["edges"]
            checked = {steps[i]["node"]: _number(steps[i]["shown_text"]) for i in checks if i <= index}
            for node, shown in graph["nodes"].items():
                kind = next(n["kind"] for n in data["graph"]["nodes"] if n["id"] == node)
                if kind == "op":
                    assert _shown_number(shown["value"]) == checked.get(node), node
            assert _shown_number(graph["nodes"][steps[update]["node"]]["value"]) == _number(steps[update]["shown_text"])
    p.click("#reset")
    assert p.evaluate(_VISIBLE)["nodes"] == before["nodes"]
    page.clean()


def test_page_graph_shows_the_current_sample_and_weights(opened):
    exp = explanation("example3")
    data = exp.to_dict()
    steps = steps_of(data)
    index = next(i for i, item in enumerate(steps)
                 if item["context"] == "stochastic, sample 2" and item["kind"] == "chain")
    item = steps[index]
    page = opened(exp.to_html(), "samples")
    p = page.page
    assert "sample 1 at the starting weights" not in p.evaluate(_VISIBLE)["caption"]  # JS on: the start caption
    for _ in range(index + 1):
        p.click("#next")
    graph = p.evaluate(_VISIBLE)
    assert graph["caption"].startswith("stochastic, sample 2")
    assert _shown_number(graph["nodes"]["w"]["value"]) == pytest.approx(item["at"]["w"])
    assert f"w = {graph['nodes']['w']['value'].split(' = ')[-1]}" in graph["caption"]
    assert _shown_number(graph["nodes"]["w"]["grad"]) == _number(item["shown_text"])
    table = next(item for s in data["sections"] for item in s["items"] if item["type"] == "table")
    sample_2 = dict(part.split(" = ") for part in table["rows"][1][1].split(", "))
    for name, text in sample_2.items():  # the inputs of sample 2, from the sample table
        assert _shown_number(graph["nodes"][name]["value"]) == _number(text)
    this_pass = _pass_of(steps, index)
    for node in ("z", "ŷ", "L"):  # this sample's own numbers where its lines wrote them, else nothing
        lines = [s for s in this_pass if s["node"] == node and s["kind"] in ("forward", "loss")]
        shown = _shown_number(graph["nodes"][node]["value"])
        assert shown == (_number(lines[-1]["shown_text"]) if lines else None), node
    p.click("#next")  # its update
    graph = p.evaluate(_VISIBLE)
    assert steps[index + 1]["kind"] == "update"
    assert graph["nodes"]["w"]["updated"]
    assert _shown_number(graph["nodes"]["w"]["value"]) == _number(steps[index + 1]["shown_text"])
    page.clean()
    # Without the script: the graph's own pass, and the caption says which.
    static = opened(exp.to_html(), "samples-nojs", javascript=False)
    graph = static.page.evaluate(_VISIBLE)
    assert graph["caption"].startswith("sample 1 at the starting weights")
    node_w = next(n for n in data["graph"]["nodes"] if n["id"] == "w")
    assert _shown_number(graph["nodes"]["w"]["value"]) == pytest.approx(node_w["value"])
    static.clean()


LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

_LAYOUT = """() => {
    const stage = document.querySelector('.cr-stage').getBoundingClientRect();
    const panel = document.querySelector('.cr-graph-panel');
    const maths = [...document.querySelectorAll('.cr-math')].map(el => ({
        scroll: el.scrollWidth, client: el.clientWidth, overflow: getComputedStyle(el).overflowX,
        right: el.getBoundingClientRect().right}));
    return {stage: stage.height, panelShown: panel.getBoundingClientRect().height > 0,
            page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth, maths};
}"""


def test_graph_panel_fits_a_laptop_screen_and_collapses(opened):
    exp = explanation("example2")
    page = opened(exp.to_html(), "laptop", viewport=LAPTOP)
    p = page.page
    p.click("#next")
    layout = p.evaluate(_LAYOUT)
    assert layout["stage"] <= 0.4 * LAPTOP["height"] + 0.5 and layout["panelShown"]
    p.click("#graph-toggle")
    collapsed = p.evaluate(_LAYOUT)
    assert not collapsed["panelShown"] and collapsed["stage"] < layout["stage"]
    assert p.get_attribute("#graph-toggle", "aria-expanded") == "false"
    p.click("#next")
    p.click("#next")
    assert not p.evaluate(_LAYOUT)["panelShown"], "stepping reopened the collapsed graph"
    assert p.inner_text(".cr-graph-caption")  # the caption stays
    p.click("#graph-toggle")
    assert p.evaluate(_LAYOUT)["panelShown"] and p.get_attribute("#graph-toggle", "aria-expanded") == "true"
    page.clean()


@pytest.mark.parametrize("name", ["example1", "example3", "mlp"])
def test_every_equation_is_readable_on_a_phone(opened, name):
    exp = explanation(name)
    page = opened(exp.to_html(), f"phone-{name}", viewport=PHONE)
    layout = page.page.evaluate(_LAYOUT)
    assert layout["page"] <= layout["window"], "the page scrolls sideways"
    for number, math_box in enumerate(layout["maths"]):
        assert math_box["right"] <= PHONE["width"] + 0.5, number
        if math_box["scroll"] > math_box["client"] + 1:  # too wide even wrapped: it must scroll inside its box
            assert math_box["overflow"] in ("auto", "scroll"), number
    assert layout["stage"] <= 0.4 * PHONE["height"] + 0.5
    page.clean()


SHOTS = os.environ.get("CHAINRULE_SHOTS")  # a folder: keep the screenshots there (docs/ for the README's)


@pytest.mark.parametrize("name,viewport", [("example1", LAPTOP), ("example1", PHONE), ("example3", LAPTOP),
                                           ("example3", PHONE)])
def test_screenshots_at_a_backward_step_and_at_the_update(opened, tmp_path, name, viewport):
    exp = explanation(name)
    steps = steps_of(exp.to_dict())
    backward = next(i for i, item in enumerate(steps) if item["kind"] == "chain")
    update = next(i for i, item in enumerate(steps) if item["kind"] == "update" and i > backward)
    if name == "example3":  # a later sample, at the weights its stochastic update starts from
        backward = next(i for i, item in enumerate(steps)
                        if item["context"] == "stochastic, sample 2" and item["kind"] == "chain")
        update = next(i for i, item in enumerate(steps) if item["kind"] == "update" and i > backward)
    page = opened(exp.to_html(), f"shot-{name}", viewport=viewport)
    p = page.page
    folder = Path(SHOTS) if SHOTS else tmp_path
    device = "phone" if viewport is PHONE else "laptop"
    for _ in range(backward + 1):
        p.click("#next")
    for label, index in (("backward", backward), ("update", update)):
        while _state(p)["steps"] != [str(index)]:
            p.click("#next")
        shot = folder / f"{name}-{device}-{label}.png"
        p.screenshot(path=str(shot))
        assert _png_size(shot) == (viewport["width"], viewport["height"])
        assert 20_000 < shot.stat().st_size < 300_000
    page.clean()


# ---------------------------------------------------------------------------
# The picture (DOT, and through Graphviz SVG/PNG)


def test_picture_of_a_data_set_says_it_shows_sample_1_at_the_starting_weights():
    exp = explanation("example3")
    dot = exp.to_dot()
    given_w = next(item for item in equations(exp.to_dict()) if item["kind"] == "given" and item["node"] == "w")
    assert "sample 1 at the starting weights" in dot
    assert f"w = {minus(given_w['shown_text'])}" in dot.split("labelloc")[0]
    assert "sample 1" not in explanation("example1").to_dot()  # one example, one pass: nothing to say


def test_picture_writes_matrices_row_by_row_under_their_shape():
    exp = explanation("mlp")
    dot = exp.to_dot()
    node = next(n for n in exp.to_dict()["graph"]["nodes"] if n["id"] == "W1")
    rows, columns = len(node["value"]), len(node["value"][0])
    label = next(line for line in dot.splitlines() if line.strip().startswith('"W1" ['))
    assert f"value ({rows}×{columns}) =" in label
    cells = re.findall(r"<td align=\"left\">\[([^\]<]*)\]</td>", label)
    assert len(cells) == rows and all(len(cell.split(", ")) == columns for cell in cells)
    assert [_number(c) for c in cells[0].split(", ")] == pytest.approx(node["value"][0], abs=1e-3)
    if shutil.which("dot"):
        assert f"value ({rows}×{columns}) =" in exp.to_svg()
