"""Pictures of the dynamics (explain --plot, the page's inline SVG, train --plot): matplotlib's artists, not pixels."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from chainrule.cli.train_report import diagnosis
from chainrule.explain import explain_problem, load_builtin
from chainrule.explain.plots import PICTURE_STEPS, dynamics_of_problem, figure
from chainrule.explain.problems import parse_problem
from cli_helpers import one_line, run_cli

pytest.importorskip("matplotlib")


def _lines(ax, prefix):
    return [line for line in ax.get_lines() if (line.get_gid() or "").startswith(prefix)]


def test_one_parameter_landscape_has_every_point_and_its_tangent():
    dynamics = dynamics_of_problem(load_builtin("example1"))
    fig = figure(dynamics, "landscape")
    (ax,) = fig.axes
    (points,) = _lines(ax, "points-")
    ws, losses = points.get_data()
    assert len(ws) == PICTURE_STEPS + 1 and ws[0] == 0.5
    # The points are gradient descent's: w ← w − η·∂L/∂w, from 0.5 (the seed's 0.4708 first).
    assert ws[1] == pytest.approx(0.5 - 0.1 * 0.2925605, abs=1e-6)
    assert losses[0] == pytest.approx(0.3874556, abs=1e-6)
    tangents = _lines(ax, "tangent-")
    assert len(tangents) == PICTURE_STEPS + 1
    # Each tangent's slope is ∂L/∂w at its point: the first is the seed's 0.292.
    x, y = tangents[0].get_data()
    assert (y[1] - y[0]) / (x[1] - x[0]) == pytest.approx(0.2925605, abs=1e-6)
    (curve,) = _lines(ax, "loss-curve")
    assert curve.get_xdata().min() < ws.min() and curve.get_xdata().max() > ws.max()


def test_example3_draws_each_mode_on_one_chart():
    dynamics = dynamics_of_problem(load_builtin("example3"))
    fig = figure(dynamics)
    landscape, loss = fig.axes
    labels = [line.get_gid() for line in _lines(landscape, "points-")]
    assert labels == ["points-batch", "points-stochastic", "points-mini-batch"]
    counts = {line.get_gid(): len(line.get_xdata()) for line in _lines(loss, "loss-")}
    assert counts == {"loss-batch": 11, "loss-stochastic": 31, "loss-mini-batch": 21}
    stochastic = next(line for line in _lines(landscape, "points-") if line.get_gid() == "points-stochastic")
    # The seed's stochastic pass: 0.4708, 0.4934, 0.5102 (exact: 0.47074, 0.49340, 0.51020).
    assert stochastic.get_xdata()[1:4] == pytest.approx([0.470744, 0.493401, 0.510201], abs=1e-5)
    # Only the batch mode follows the whole loss's tangent.
    assert {line.get_gid().split("-")[1] for line in _lines(landscape, "tangent-")} == {"batch"}


def test_two_parameters_draw_a_contour_map_with_each_path():
    problem = parse_problem({
        "model": {"kind": "neuron", "weights": [0.5], "bias": 0.0},
        "data": {"x": [[1.0], [2.0], [3.0]], "y": [0.0, 1.0, 1.0]},
        "training": {"lr": 0.5, "mode": "compare", "batch_size": 2},
    }, "two.toml")
    fig = figure(dynamics_of_problem(problem), "landscape")
    (ax,) = fig.axes
    assert any(getattr(c, "get_gid", lambda: None)() == "loss-contours" for c in ax.collections)
    paths = {line.get_gid() for line in _lines(ax, "path-")}
    assert paths == {"path-batch", "path-stochastic", "path-mini-batch"}


def test_two_input_classifier_shows_the_boundary_before_and_after():
    problem = parse_problem({
        "model": {"kind": "neuron", "weights": [0.1, -0.2], "bias": 0.05},
        "data": {"x": [[0.0, 0.0], [1.0, 0.2], [0.2, 1.0], [1.0, 1.0]], "y": [0, 1, 1, 1]},
        "training": {"loss": "bce", "lr": 1.0, "steps": 20},
    }, "or.toml")
    dynamics = dynamics_of_problem(problem)
    fig = figure(dynamics, "boundary")
    (ax,) = fig.axes
    gids = {c.get_gid() for c in ax.collections}
    assert {"boundary-before", "boundary-after", "data"} <= gids
    data = next(c for c in ax.collections if c.get_gid() == "data")
    np.testing.assert_array_equal(data.get_offsets(), problem.x)


def test_the_page_embeds_the_pictures_inline_beside_their_steps():
    html = explain_problem(load_builtin("example3")).to_html()
    figures = re.findall(r'<figure class="cr-picture[^"]*" data-picture="(\w+)"><svg', html)
    assert figures == ["landscape", "loss"]
    # Beside the modes they illustrate, before the page's footer; nothing loaded from anywhere.
    assert html.index('data-picture="landscape"') > html.index("cr-section-compare")
    assert "xlink:href" not in html and "<image" not in html
    assert 'data-picture="landscape"' in explain_problem(load_builtin("example1"))._repr_html_()  # Jupyter
    mazur = explain_problem(load_builtin("mazur")).to_html()
    assert re.findall(r'data-picture="(\w+)"', mazur) == ["loss"]


def test_cli_plot_writes_svg_and_png_and_refuses_in_one_line(capsys, tmp_path):
    svg = tmp_path / "e3.svg"
    code, _, err = run_cli(capsys, "explain", "example3", "--plot", svg)
    assert code == 0, err
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    png = tmp_path / "e1.png"
    assert run_cli(capsys, "explain", "example1", "--plot", png, "--plot-kind", "loss")[0] == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    code, out, err = run_cli(capsys, "explain", "example2", "--plot", tmp_path / "x.svg", "--plot-kind",
                             "landscape")
    assert code == 2 and out == ""
    one_line(err, "landscape needs one or two scalar parameters")
    code, _, err = run_cli(capsys, "explain", "w^2", "--set", "w=1", "--plot", tmp_path / "y.svg")
    one_line(err, "learning rate")
    code, _, err = run_cli(capsys, "explain", "example1", "--plot", tmp_path / "y.txt")
    one_line(err, ".svg, .png or .pdf")


def test_train_plot_draws_many_updates_as_a_band():
    from chainrule.plots import BAND_FROM, plot_history
    from chainrule.train import History

    rng = np.random.default_rng(0)
    many = History(mode="stochastic", step_loss=list(rng.uniform(0, 2, 10_000)),
                   epoch_loss=list(np.linspace(1.2, 1.0, 100)))
    few = History(mode="batch", step_loss=list(np.linspace(1, 0.1, 100)), epoch_loss=list(np.linspace(1, 0.1, 100)))
    fig = plot_history({"stochastic": many, "batch": few})
    (ax,) = fig.axes
    gids = [line.get_gid() for line in ax.get_lines()]
    assert "updates-mean" in gids and "updates" in gids  # 10,000 as a band around a mean, 100 as a thin line
    band = next(c for c in ax.collections if c.get_gid() == "updates-band")
    assert band.get_alpha() <= 0.15
    mean = next(line for line in ax.get_lines() if line.get_gid() == "updates-mean")
    assert len(mean.get_xdata()) < BAND_FROM  # summarised, not 10,000 points


def _history(epochs, steps=None):
    return SimpleNamespace(epoch_loss=epochs, step_loss=steps or epochs)


def test_the_report_says_why_a_mode_diverged_or_stalled():
    said = diagnosis("stochastic", _history([0.3, 1.0, float("inf")]), 50.0, None)
    assert said.startswith("stochastic diverged") and "one sample's gradient" in said and "η = 50" in said
    said = diagnosis("batch", _history([0.3, 5.0, 90.0]), 50.0, None)
    assert "batch diverged" in said and "too large" in said
    said = diagnosis("minibatch", _history([1.3, 1.2, 1.25, 1.3, 1.2, 1.28, 1.22, 1.3]), 1.0, 32)
    assert said.startswith("minibatch stalled") and "one batch's gradient (32 samples)" in said
    assert diagnosis("batch", _history([1.0, 0.5, 0.2, 0.1, 0.05, 0.02]), 0.1, None) is None
