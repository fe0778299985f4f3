"""Every rule of the table: complete, gradient-checked, and its formula agrees with its VJP."""

import dataclasses

import numpy as np
import pytest

import chainrule  # noqa: F401  (fills the table)
from chainrule.formula import Expr
from chainrule.gradcheck import check_rule
from chainrule.rules import RULES
from chainrule.tensor import _apply, _new

RULE_NAMES = sorted(RULES)
SHAPES = [(), (4,), (2, 3), (2, 1, 3)]


def test_the_table_holds_the_primitives_the_engine_promises():
    expected = {
        "add", "sub", "mul", "div", "neg", "pow", "pow_scalar", "exp", "log", "sqrt", "abs", "sigmoid", "tanh",
        "relu", "leaky_relu", "softplus", "maximum", "minimum", "where", "clip", "sum", "mean", "max", "min",
        "matmul", "reshape", "transpose", "broadcast_to", "getitem", "concatenate", "stack", "softmax",
        "log_softmax",
    }
    assert expected <= set(RULES)


@pytest.mark.parametrize("name", RULE_NAMES)
def test_rule_is_complete(name):
    rule = RULES[name]
    assert callable(rule.forward) and callable(rule.vjp) and callable(rule.sample), name
    assert rule.formulas, f"{name} has no formulas"
    for position, formula in enumerate(rule.formulas):
        if position in rule.constant_inputs:
            continue
        assert isinstance(formula, Expr), f"{name}: input {rule.inputs[position]} has no formula"
        assert formula.to_text() and formula.to_latex() and formula.to_mathml()


@pytest.mark.parametrize("name", RULE_NAMES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_rule_passes_gradcheck(name, shape):
    for seed in range(3):
        assert check_rule(name, seed=seed, shape=shape)


@pytest.mark.parametrize("name", [n for n in RULE_NAMES if RULES[n].elementwise])
def test_elementwise_formula_equals_the_vjp_at_unit_gradient(name):
    """The explainer shows the formula; the engine runs the VJP. They must agree."""
    rule = RULES[name]
    for seed in range(5):
        arrays, attrs = rule.sample(np.random.default_rng(seed), (2, 3))
        out = rule.forward(*arrays, **attrs)
        grads = rule.vjp(np.ones_like(out), out, *arrays, **attrs)
        env = dict(zip(rule.inputs, arrays)) | attrs | {"out": out}
        for position, formula in enumerate(rule.formulas):
            if formula is None:
                continue
            local = np.broadcast_to(formula.evaluate(env), np.shape(out))
            np.testing.assert_allclose(local, np.broadcast_to(grads[position], np.shape(out)), rtol=1e-12,
                                       err_msg=f"{name}: formula for {rule.inputs[position]}")


def test_a_wrong_vjp_is_caught_by_the_checker():
    """The checker itself must be able to fail."""
    from chainrule.gradcheck import GradcheckError, gradcheck

    def wrong_square(x):
        out = _apply(RULES["mul"], (x, x))
        if out._ctx is None:  # the checker's own evaluations run under no_grad
            return out
        rule, inputs, attrs, sequence = out._ctx
        fake = dataclasses.replace(rule, vjp=lambda g, o, a, b: (g * b, g * b * 1.5))
        return _new(out.data, (fake, inputs, attrs, sequence), True)

    with pytest.raises(GradcheckError, match=r"input 0.*element \(0,\)"):
        gradcheck(wrong_square, [np.array([1.0, 2.0])])


@pytest.mark.parametrize("name", [n for n in RULE_NAMES if RULES[n].selective])
def test_selective_rules_skip_only_the_gradients_nobody_needs(name):
    import itertools

    rule = RULES[name]
    for seed in range(4):
        arrays, attrs = rule.sample(np.random.default_rng(seed), (2, 3))
        out = rule.forward(*arrays, **attrs)
        g = np.random.default_rng(seed + 100).normal(size=np.shape(out))
        full = rule.vjp(g, out, *arrays, needs=(True,) * len(arrays), **attrs)
        for needs in itertools.product((True, False), repeat=len(arrays)):
            partial = rule.vjp(g, out, *arrays, needs=needs, **attrs)
            for wanted, got, reference in zip(needs, partial, full):
                if wanted:
                    np.testing.assert_array_equal(got, reference)
                else:
                    assert got is None


def test_the_engine_tells_a_selective_rule_which_inputs_need_gradients():
    import chainrule as cr

    seen = []
    rule = RULES["linear"]
    original = rule.vjp

    def spy(*args, needs, **kwargs):
        seen.append(needs)
        return original(*args, needs=needs, **kwargs)

    object.__setattr__(rule, "vjp", spy)  # Rule is a frozen dataclass
    try:
        x = cr.tensor(np.ones((4, 3)))  # data: no gradient wanted
        w = cr.tensor(np.ones((2, 3)), requires_grad=True)
        b = cr.tensor(np.zeros(2), requires_grad=True)
        cr.linear(x, w, b).sum().backward()
    finally:
        object.__setattr__(rule, "vjp", original)
    assert seen == [(False, True, True)]
    assert w.grad.tolist() == [[4.0, 4.0, 4.0], [4.0, 4.0, 4.0]]
