"""A tiny expression language: one tree, rendered as Unicode text, LaTeX and MathML.

The rule table writes each local derivative as a short string such as
``"sigmoid(x)*(1 - sigmoid(x))"``. It is parsed once into a tree of ``Expr``
nodes, so the same formula can be printed for a terminal, typeset for Markdown,
shown natively in a browser, and evaluated with numpy, and those four views can
never disagree. The explainer's expression mode (``chainrule explain
"sigmoid(w*x)"``) uses the same parser, an operator-precedence parser of its own: nothing
here ever calls ``eval``. Nothing here recurses either: parsing, rendering,
evaluating and simplifying walk the tree with explicit stacks, so a sum of
thousands of terms or parentheses nested hundreds deep are no harder than
``w*x``.

Grammar (lowest precedence first)::

    compare := sum (('>' | '<' | '>=' | '<=' | '==') sum)?
    sum     := product (('+' | '-') product)*
    product := unary (('*' | '/' | '@' | '·' | '×') unary)*
    unary   := '-' unary | power
    power   := atom (('^' | '**') unary)?
    atom    := NUMBER | NAME | NAME '(' args ')' | '(' compare ')'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape

import numpy as np

__all__ = [
    "Expr",
    "Num",
    "Var",
    "Neg",
    "Bin",
    "Call",
    "FormulaSyntaxError",
    "parse",
    "parse_program",
    "Program",
    "fold",
    "children",
    "with_operands",
    "simplified_product",
    "simplified_sum",
    "FUNCTIONS",
]


class FormulaSyntaxError(ValueError):
    """A formula or expression could not be parsed; ``column`` is 1-based."""

    def __init__(self, message: str, source: str, column: int):
        self.source = source
        self.column = column
        self.reason = message
        super().__init__(f"{message} at column {column} of {source!r}")

    def pointer(self) -> str:
        """The source with a caret under the column, for a multi-line display."""
        return f"  {self.source}\n  {' ' * (self.column - 1)}^"


# ---------------------------------------------------------------------------
# The tree


class Expr:
    """Base class of formula nodes. Subclasses are small frozen dataclasses."""

    __slots__ = ()

    def to_text(self, values: Mapping[str, object] | None = None, fmt=None, collapse: bool = True) -> str:
        """Unicode text. With ``values``, names become numbers, and (with
        ``collapse``) function calls become their values: σ(z)(1 − σ(z)) reads
        0.622 × (1 − 0.622); without it, σ(z) reads σ(0.5)."""
        return _Text(values, fmt or _default_fmt, collapse).render(self)

    def to_latex(self, values: Mapping[str, object] | None = None, fmt=None, collapse: bool = True) -> str:
        """LaTeX source, for ``$$ ... $$`` blocks."""
        return _Latex(values, fmt or _default_fmt, collapse).render(self)

    def to_mathml(self, values: Mapping[str, object] | None = None, fmt=None, collapse: bool = True) -> str:
        """Presentation MathML (the inner ``<mrow>``, without ``<math>``)."""
        return _MathML(values, fmt or _default_fmt, collapse).render(self)

    def evaluate(self, env: Mapping[str, object], round_calls: Callable | None = None):
        """Evaluate with numpy; ``env`` maps every free name to a number or array.

        ``round_calls`` rounds the value of each function call before it is used,
        which is how a person computes ``σ(z)(1 − σ(z))`` by hand: σ(z) is
        written down as 0.622 and the rest is computed from that.
        """
        return _evaluate(self, env, round_calls)

    def substitute(self, mapping: Mapping[str, Expr]) -> Expr:
        """Replace variables by expressions (a tree, so precedence stays right)."""
        return _substitute(self, mapping)

    def simplify(self, known: Mapping[int, Expr] | None = None) -> Expr:
        """Fold constants and drop ×1, +0 and ^1, so chained derivatives read as a person writes them.

        ``known`` maps ``id`` of subtrees to their simplified form, for a caller
        that simplifies many formulas sharing large subtrees.
        """
        return _simplify(self, known)

    def names(self) -> set[str]:
        """Free variable names used in the formula."""
        found: set[str] = set()
        _collect_names(self, found)
        return found

    def rename(self, mapping: Mapping[str, str]) -> Expr:
        """The same formula with variables renamed (unknown names are kept)."""
        return _substitute(self, {old: Var(new) for old, new in mapping.items()})

    def __str__(self) -> str:
        return self.to_text()

    # Equality, hashing and repr walk the tree without recursion, like everything else here
    # (the dataclasses' own would recurse once per level of a deep formula).
    def __eq__(self, other) -> bool:
        if self is other:
            return True
        if not isinstance(other, Expr):
            return NotImplemented
        return _tokens(self) == _tokens(other)

    def __hash__(self) -> int:
        return hash(_tokens(self))

    def __repr__(self) -> str:
        return fold(self, _repr_node)


@dataclass(frozen=True, slots=True, eq=False, repr=False)  # Expr compares and prints them
class Num(Expr):
    value: float


@dataclass(frozen=True, slots=True, eq=False, repr=False)  # Expr compares and prints them
class Var(Expr):
    name: str


@dataclass(frozen=True, slots=True, eq=False, repr=False)  # Expr compares and prints them
class Neg(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)  # Expr compares and prints them
class Bin(Expr):
    op: str  # one of + - * / ^ @ > < >= <= ==
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)  # Expr compares and prints them
class Call(Expr):
    fn: str
    args: tuple[Expr, ...]


# ---------------------------------------------------------------------------
# Functions the language knows: how to compute them and how to show them.


@dataclass(frozen=True)
class Function:
    """A function usable in formulas and in the explainer's expressions."""

    name: str
    arity: int
    compute: Callable | None  # None: shown only (e.g. ``expand`` in a VJP formula)
    text: str  # "{0}" style template for Unicode text
    latex: str  # template for LaTeX
    #: True when the numeric form should show the call's value, not its parts
    #: (``σ(z)`` shows as ``0.622``), as the seed document does.
    collapse: bool = True


def _stable_sigmoid(x):
    x = np.asarray(x)
    return np.exp(-np.logaddexp(0.0, -x))


def _where(c, a, b):
    return np.where(c, a, b)


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in [
        Function("exp", 1, np.exp, "exp({0})", r"e^{{{0}}}"),
        Function("log", 1, np.log, "ln({0})", r"\ln\left({0}\right)"),
        Function("sqrt", 1, np.sqrt, "√({0})", r"\sqrt{{{0}}}"),
        Function("abs", 1, np.abs, "|{0}|", r"\left|{0}\right|"),
        Function("sign", 1, np.sign, "sign({0})", r"\operatorname{{sign}}\left({0}\right)"),
        Function("sigmoid", 1, _stable_sigmoid, "σ({0})", r"\sigma\left({0}\right)"),
        Function("tanh", 1, np.tanh, "tanh({0})", r"\tanh\left({0}\right)"),
        Function("sin", 1, np.sin, "sin({0})", r"\sin\left({0}\right)"),
        Function("cos", 1, np.cos, "cos({0})", r"\cos\left({0}\right)"),
        Function("floor", 1, np.floor, "⌊{0}⌋", r"\left\lfloor {0} \right\rfloor"),
        Function("relu", 1, lambda x: np.maximum(x, 0), "relu({0})", r"\operatorname{{relu}}\left({0}\right)"),
        Function("softplus", 1, lambda x: np.logaddexp(0.0, x), "softplus({0})",
                 r"\operatorname{{softplus}}\left({0}\right)"),
        Function("step", 1, lambda x: (np.asarray(x) > 0).astype(float), "𝟙[{0} > 0]",
                 r"\mathbb{{1}}\left[{0} > 0\right]", collapse=False),
        Function("inside", 3, lambda x, lo, hi: ((x >= lo) & (x <= hi)).astype(float),
                 "𝟙[{1} ≤ {0} ≤ {2}]", r"\mathbb{{1}}\left[{1} \le {0} \le {2}\right]", collapse=False),
        Function("where", 3, _where, "({1} if {0} else {2})",
                 r"\begin{{cases}} {1} & {0} \\ {2} & \text{{otherwise}} \end{{cases}}", collapse=False),
        Function("leaky_relu", 1, lambda x: np.where(np.asarray(x) > 0, x, np.multiply(x, 0.01)), "leaky_relu({0})",
                 r"\operatorname{{leaky\_relu}}\left({0}\right)"),
        Function("clip", 3, np.clip, "clip({0}, {1}, {2})", r"\operatorname{{clip}}\left({0}, {1}, {2}\right)"),
        Function("max", 2, np.maximum, "max({0}, {1})", r"\max\left({0}, {1}\right)"),
        Function("min", 2, np.minimum, "min({0}, {1})", r"\min\left({0}, {1}\right)"),
        # ∂a/∂b and the elementwise product, for the explainer's chain rule.
        Function("d", 2, None, "∂{0}/∂{1}", r"\frac{{\partial {0}}}{{\partial {1}}}", collapse=False),
        Function("hadamard", 2, None, "{0} ⊙ {1}", r"{0} \odot {1}", collapse=False),
        # Structural helpers that appear in the VJP formulas of non-elementwise rules.
        Function("T", 1, None, "{0}ᵀ", r"{0}^{{\top}}", collapse=False),
        Function("sum", 1, None, "Σ {0}", r"\sum {0}", collapse=False),
        Function("expand", 1, None, "expand({0})", r"\operatorname{{expand}}\left({0}\right)", collapse=False),
        Function("reshape", 1, None, "reshape({0})", r"\operatorname{{reshape}}\left({0}\right)", collapse=False),
        Function("unbroadcast", 1, None, "unbroadcast({0})",
                 r"\operatorname{{unbroadcast}}\left({0}\right)", collapse=False),
        Function("permute", 1, None, "permute⁻¹({0})", r"\operatorname{{permute}}^{{-1}}\left({0}\right)",
                 collapse=False),
        Function("scatter", 1, None, "scatter({0})", r"\operatorname{{scatter}}\left({0}\right)", collapse=False),
        Function("gather", 1, None, "gather({0})", r"\operatorname{{gather}}\left({0}\right)", collapse=False),
        Function("revcumsum", 1, None, "reverse_cumsum({0})", r"\operatorname{{reverse\_cumsum}}\left({0}\right)",
                 collapse=False),
        Function("einsum", 1, None, "einsum({0}, others)", r"\operatorname{{einsum}}\left({0}, \dots\right)",
                 collapse=False),
        Function("split", 1, None, "split({0})", r"\operatorname{{split}}\left({0}\right)", collapse=False),
        Function("argmask", 1, None, "𝟙[{0} is the extreme]", r"\mathbb{{1}}\left[{0} = \text{{extreme}}\right]",
                 collapse=False),
        Function("onehot", 1, None, "onehot({0})", r"\operatorname{{onehot}}\left({0}\right)", collapse=False),
        Function("softmax", 1, None, "softmax({0})", r"\operatorname{{softmax}}\left({0}\right)", collapse=False),
        # p[y]: the entry of p for class y (the explainer's classification loss −ln p[y]).
        Function("pick", 2, None, "{0}[{1}]", r"{0}_{{{1}}}", collapse=False),
    ]
}


# ---------------------------------------------------------------------------
# Parsing

_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[^\W\d]\w*)"
    r"|(?P<op>\*\*|>=|<=|==|[-+*/^@()<>,·×−])"
    r")"
)


class _Parser:
    def __init__(self, source: str, functions: Mapping[str, Function]):
        self.source = source
        self.functions = functions
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        text = source.rstrip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                column = pos + 1 + (len(text[pos:]) - len(text[pos:].lstrip()))
                raise FormulaSyntaxError(f"unexpected character {text[column - 1]!r}", source, column)
            kind = match.lastgroup
            value = match.group(kind)
            if value == "−":  # the typographic minus reads as '-'
                value = "-"
            self.tokens.append((kind, value, match.start(kind) + 1))
            pos = match.end()
        self.tokens.append(("end", "", len(text) + 1))
        self.index = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.index]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, message: str, token=None):
        kind, value, column = token or self.peek()
        where = "end of input" if kind == "end" else repr(value)
        raise FormulaSyntaxError(f"{message}, found {where}", self.source, column)

    def parse(self) -> Expr:
        """Shunting-yard over the tokens: one group (operands and pending operators) per open parenthesis."""
        if self.peek()[0] == "end":
            raise FormulaSyntaxError("empty expression", self.source, 1)
        groups = [_Group("top")]
        expect_operand = True
        while True:
            token = self.take()
            kind, value, column = token
            group = groups[-1]
            is_op = kind == "op"
            if expect_operand:
                if kind == "num":
                    group.operands.append(Num(float(value)))
                    expect_operand = False
                elif kind == "name" and self.peek()[1] == "(" and self.peek()[0] == "op":
                    self.take()
                    groups.append(_Group("call", self._function(value, column), value, column))
                elif kind == "name":
                    group.operands.append(Var(value))
                    expect_operand = False
                elif is_op and value == "(":
                    groups.append(_Group("paren"))
                elif is_op and value == "-":
                    group.operators.append(("neg", _PREFIX_PRECEDENCE))
                elif not (is_op and value == "+"):  # a unary plus changes nothing
                    self.fail("expected a number, a name or '('", token)
            elif is_op and value in _OPERATORS:
                precedence, right_associative = _OPERATORS[value]
                if value in _COMPARISONS and any(op in _COMPARISONS for op, _ in group.operators):
                    self._fail_inside(group, token)  # a < b < c does not chain
                group.reduce(precedence, right_associative)
                group.operators.append((_CANONICAL.get(value, value), precedence))
                expect_operand = True
            elif is_op and value == "," and group.kind == "call":
                group.args.append(group.finish())
                expect_operand = True
            elif is_op and value == ")" and group.kind != "top":
                groups.pop()
                inner = group.finish()
                if group.kind == "call":
                    inner = self._call(group, inner)
                groups[-1].operands.append(inner)
            elif kind == "end" and group.kind == "top":
                return group.finish()
            else:
                self._fail_inside(group, token)

    def _fail_inside(self, group: _Group, token) -> None:
        self.fail("unexpected token" if group.kind == "top" else "expected ')'", token)

    def _function(self, name: str, column: int) -> Function:
        function = self.functions.get(name)
        if function is None:
            known = ", ".join(sorted(f for f in self.functions if self.functions[f].compute is not None))
            raise FormulaSyntaxError(f"unknown function {name!r} (known: {known})", self.source, column)
        return function

    def _call(self, group: _Group, last: Expr) -> Call:
        args = [*group.args, last]
        if len(args) != group.function.arity:
            raise FormulaSyntaxError(
                f"{group.name}() takes {group.function.arity} argument(s), got {len(args)}", self.source, group.column
            )
        return Call(group.name, tuple(args))


#: Binary operators: (precedence, right-associative). Lowest first: a comparison, a sum, a product, a power.
_OPERATORS = {
    ">": (1, False), "<": (1, False), ">=": (1, False), "<=": (1, False), "==": (1, False),
    "+": (2, False), "-": (2, False),
    "*": (3, False), "/": (3, False), "@": (3, False), "·": (3, False), "×": (3, False),
    "^": (5, True), "**": (5, True),
}
_COMPARISONS = frozenset({">", "<", ">=", "<=", "=="})
_CANONICAL = {"·": "*", "×": "*", "**": "^"}
#: A unary minus binds tighter than a product and looser than a power: −a·b is (−a)·b, −a² is −(a²).
_PREFIX_PRECEDENCE = 4


class _Group:
    """The top level, one pair of parentheses, or one call's argument list, while it is being read."""

    def __init__(self, kind: str, function: Function | None = None, name: str = "", column: int = 0):
        self.kind = kind  # "top", "paren" or "call"
        self.function, self.name, self.column = function, name, column
        self.operands: list[Expr] = []
        self.operators: list[tuple[str, int]] = []  # ("neg" for a unary minus, or a binary operator; precedence)
        self.args: list[Expr] = []

    def reduce(self, precedence: int = 0, right_associative: bool = False) -> None:
        """Apply the pending operators that bind at least as tightly as the next one."""
        operators, operands = self.operators, self.operands
        while operators:
            top, top_precedence = operators[-1]
            if top_precedence < precedence or (top_precedence == precedence and right_associative):
                break
            operators.pop()
            if top == "neg":
                operands.append(Neg(operands.pop()))
            else:
                right = operands.pop()
                operands.append(Bin(top, operands.pop(), right))

    def finish(self) -> Expr:
        self.reduce()
        (result,) = self.operands
        self.operands = []
        return result


def parse(source: str, functions: Mapping[str, Function] = FUNCTIONS) -> Expr:
    """Parse ``source`` into an ``Expr``; raises ``FormulaSyntaxError`` with the column.

    >>> parse("sigmoid(z)*(1 - sigmoid(z))").to_text()
    'σ(z)(1 − σ(z))'
    """
    if not isinstance(source, str):
        raise TypeError(f"parse: expected a string, got {type(source).__name__}")
    return _Parser(source, functions).parse()


# ---------------------------------------------------------------------------
# Programs: named subexpressions

_BINDING = re.compile(r"\s*([^\W\d]\w*)\s*=(?!=)")


@dataclass(frozen=True)
class Program:
    """Statements ``name = expression`` separated by ``;`` or newlines, then the output expression.

    ``h = sigmoid(w1*x + b1); (h - y)^2`` computes h once; later statements use it by name.
    A lone expression is a program with no bindings.
    """

    bindings: tuple[tuple[str, Expr], ...]
    output: Expr

    def names(self) -> set[str]:
        """The free names (inputs and parameters): every name used, less the ones bound here."""
        used: set[str] = set(self.output.names())
        for _, expr in self.bindings:
            used |= expr.names()
        return used - {name for name, _ in self.bindings}

    def inline(self) -> Expr:
        """The output with every bound name replaced by its expression (one expression, shared parts copied)."""
        known: dict[str, Expr] = {}
        for name, expr in self.bindings:
            known[name] = expr.substitute(known)
        return self.output.substitute(known)

    def to_text(self) -> str:
        return "; ".join([f"{name} = {expr.to_text()}" for name, expr in self.bindings] + [self.output.to_text()])


def _statements(source: str) -> list[tuple[int, str]]:
    """(offset, text) of each statement: split at ';' and newlines, blank ones dropped."""
    found, start = [], 0
    for position, character in enumerate(source + ";"):
        if character in ";\n":
            if source[start:position].strip():
                found.append((start, source[start:position]))
            start = position + 1
    return found


def parse_program(source: str, functions: Mapping[str, Function] = FUNCTIONS) -> Program:
    """Parse statements ``name = expression`` and a final expression; columns count from the start of
    ``source`` (a newline is one column). Never ``eval``: each statement goes through ``parse``'s parser."""
    if not isinstance(source, str):
        raise TypeError(f"parse_program: expected a string, got {type(source).__name__}")
    statements = _statements(source)
    if not statements:
        raise FormulaSyntaxError("empty expression", source, 1)
    bindings: list[tuple[str, Expr]] = []
    bound: set[str] = set()
    output: Expr | None = None
    for number, (offset, text) in enumerate(statements):
        binding = _BINDING.match(text)
        name = None
        body_offset = offset
        if binding:
            name = binding.group(1)
            column = offset + binding.start(1) + 1
            if name in functions:
                raise FormulaSyntaxError(f"{name!r} is a function and cannot be a name", source, column)
            if name in bound:
                raise FormulaSyntaxError(f"{name!r} is already defined", source, column)
            body_offset = offset + binding.end()
            text = text[binding.end():]
            if not text.strip():
                raise FormulaSyntaxError(f"nothing after '{name} ='", source, body_offset + 1)
        try:
            expr = _Parser(" " * body_offset + text, functions).parse()
        except FormulaSyntaxError as error:
            raise FormulaSyntaxError(error.reason, source, error.column) from None
        last = number == len(statements) - 1
        if name is not None and name in expr.names():
            raise FormulaSyntaxError(f"{name!r} is defined in terms of itself", source, offset + binding.start(1) + 1)
        if name is None and not last:
            raise FormulaSyntaxError("only the last statement may be a bare expression (write name = …)",
                                     source, offset + len(text) - len(text.lstrip()) + 1)
        if name is not None:
            bindings.append((name, expr))
            bound.add(name)
        if last:
            output = expr if name is None else Var(name)
    for index, (_, expr) in enumerate(bindings):
        later = expr.names() & {n for n, _ in bindings[index:]}
        if later:
            offset = statements[index][0]
            raise FormulaSyntaxError(f"{sorted(later)[0]!r} is used before it is defined", source, offset + 1)
    return Program(tuple(bindings), output)


# ---------------------------------------------------------------------------
# Walking the tree. Every walk is a fold over an explicit stack, never a
# recursion, so the size of a formula is bounded by memory, not by Python's
# recursion limit.


def children(expr: Expr) -> tuple[Expr, ...]:
    """The operands of a node, left to right."""
    kind = type(expr)
    if kind is Bin:
        return (expr.left, expr.right)
    if kind is Neg:
        return (expr.operand,)
    if kind is Call:
        return expr.args
    return ()


def fold(expr: Expr, combine: Callable, enter: Callable | None = None, results: dict | None = None):
    """``combine(node, [results of its children])`` for every node, children first, left to right.

    ``enter(node)`` may answer for a whole subtree before it is walked; it
    returns None to walk on. A subtree shared by several parents is combined
    once; ``results`` (by ``id`` of the node) may carry answers over from an
    earlier fold of the same tree.
    """
    results = {} if results is None else results
    expanded: set[int] = set()
    stack = [expr]
    while stack:
        node = stack[-1]
        key = id(node)
        if key in results:
            stack.pop()
        elif key in expanded:
            stack.pop()
            results[key] = combine(node, [results[id(child)] for child in children(node)])
        else:
            answer = None if enter is None else enter(node)
            if answer is not None:
                stack.pop()
                results[key] = answer
                continue
            expanded.add(key)
            operands = children(node)
            if operands:
                stack.extend(reversed(operands))
            else:
                stack.pop()
                results[key] = combine(node, [])
    return results[id(expr)]


def _tokens(expr: Expr) -> tuple:
    """The tree in prefix order, one token per node: equal trees, and only those, give equal tokens."""
    tokens = []
    stack = [expr]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is Num:
            tokens.append((Num, node.value))
        elif kind is Var:
            tokens.append((Var, node.name))
        elif kind is Neg:
            tokens.append((Neg,))
        elif kind is Bin:
            tokens.append((Bin, node.op))
        else:
            tokens.append((Call, node.fn, len(node.args)))
        stack.extend(reversed(children(node)))
    return tuple(tokens)


def _repr_node(node: Expr, parts: list[str]) -> str:
    """What the dataclasses' repr writes: ``Bin(op='+', left=Var(name='a'), right=Num(value=1.0))``."""
    kind = type(node)
    if kind is Num:
        return f"Num(value={node.value!r})"
    if kind is Var:
        return f"Var(name={node.name!r})"
    if kind is Neg:
        return f"Neg(operand={parts[0]})"
    if kind is Bin:
        return f"Bin(op={node.op!r}, left={parts[0]}, right={parts[1]})"
    return f"Call(fn={node.fn!r}, args=({', '.join(parts)}{',' if len(parts) == 1 else ''}))"


def _collect_names(expr: Expr, found: set[str]) -> None:
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Var):
            found.add(node.name)
        else:
            stack.extend(children(node))


_BINARY = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "^": np.power,
    "@": np.matmul,
    "⊙": np.multiply,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
    "==": np.equal,
}


def _evaluate(expr: Expr, env: Mapping[str, object], round_calls=None, memo: dict | None = None):
    def refuse_descriptive(node: Expr):
        if isinstance(node, Call):
            function = FUNCTIONS.get(node.fn)
            if function is None or function.compute is None:
                raise ValueError(f"formula function {node.fn!r} is descriptive and cannot be evaluated")
        return None

    def combine(node: Expr, values: list):
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Var):
            if node.name not in env:
                raise KeyError(f"formula needs a value for {node.name!r}")
            return env[node.name]
        if isinstance(node, Neg):
            return np.negative(values[0])
        if isinstance(node, Bin):
            return _BINARY[node.op](values[0], values[1])
        if isinstance(node, Call):
            function = FUNCTIONS[node.fn]
            value = function.compute(*values)
            if round_calls is not None and function.collapse:
                value = round_calls(value)
            return value
        raise TypeError(f"not a formula node: {node!r}")

    return fold(expr, combine, refuse_descriptive, memo)


def with_operands(node: Expr, parts: list[Expr]) -> Expr:
    """``node`` over new operands (the node itself when they did not change); a ``fold`` that rewrites."""
    if all(new is old for new, old in zip(parts, children(node))):
        return node
    if isinstance(node, Bin):
        return Bin(node.op, parts[0], parts[1])
    if isinstance(node, Neg):
        return Neg(parts[0])
    return Call(node.fn, tuple(parts))


def _substitute(expr: Expr, mapping: Mapping[str, Expr]) -> Expr:
    def combine(node: Expr, parts: list[Expr]) -> Expr:
        if isinstance(node, Var):
            return mapping.get(node.name, node)
        return with_operands(node, parts)

    return fold(expr, combine)


def _is_num(expr: Expr, value: float | None = None) -> bool:
    return isinstance(expr, Num) and (value is None or expr.value == value)


def _simplify(expr: Expr, known: Mapping[int, Expr] | None = None) -> Expr:
    def combine(node: Expr, parts: list[Expr]) -> Expr:
        if isinstance(node, Neg):
            return _simplified_neg(parts[0])
        if isinstance(node, Call):
            if node.fn == "expand" and isinstance(parts[0], Num):
                return parts[0]  # a constant gradient spread over every element is that constant
            return with_operands(node, parts)
        if isinstance(node, Bin):
            return _simplified_bin(node.op, parts[0], parts[1])
        return node

    return fold(expr, combine, None if known is None else lambda node: known.get(id(node)))


def simplified_product(left: Expr, right: Expr) -> Expr:
    """``(left · right).simplify()`` for operands that are already simplified, without walking them again."""
    return _simplified_bin("*", left, right)


def simplified_sum(left: Expr, right: Expr) -> Expr:
    """``(left + right).simplify()`` for operands that are already simplified."""
    return _simplified_bin("+", left, right)


def _simplified_neg(inner: Expr) -> Expr:
    """−inner, for an ``inner`` that is already simplified."""
    if isinstance(inner, Num):
        return Num(-inner.value)
    if isinstance(inner, Neg):
        return inner.operand
    if isinstance(inner, Bin) and inner.op == "*" and isinstance(inner.left, Num):
        return Bin("*", Num(-inner.left.value), inner.right)  # −2(a − b), not −(2(a − b))
    return Neg(inner)


def _simplified_bin(op: str, left: Expr, right: Expr) -> Expr:
    """``left op right`` for operands that are already simplified."""
    if _is_num(left) and _is_num(right) and op in ("+", "-", "*", "/", "^") and not (
        (op == "^" and left.value < 0) or (op == "/" and right.value == 0)
    ):
        return Num(float(_BINARY[op](left.value, right.value)))
    if op == "*":
        if _is_num(left, 1.0):
            return right
        if _is_num(right, 1.0):
            return left
        if _is_num(left, 0.0) or _is_num(right, 0.0):
            return Num(0.0)
        if _is_num(left, -1.0):
            return _simplified_neg(right)
        if _is_num(right, -1.0):
            return _simplified_neg(left)
        if isinstance(right, Neg):
            return _simplified_neg(_simplified_bin("*", left, right.operand))
        if isinstance(left, Neg):
            return _simplified_neg(_simplified_bin("*", left.operand, right))
        if _is_num(right) and not _is_num(left):
            return Bin("*", right, left)  # constants in front: 2(ŷ − y), not (ŷ − y)·2
    if op == "+":
        if _is_num(left, 0.0):
            return right
        if _is_num(right, 0.0):
            return left
        if isinstance(right, Neg):
            return Bin("-", left, right.operand)
    if op == "-":
        if _is_num(right, 0.0):
            return left
        if _is_num(left, 0.0):
            return _simplified_neg(right)
    if op == "/" and _is_num(right, 1.0):
        return left
    if op == "^":
        if _is_num(right, 1.0):
            return left
        if _is_num(right, 0.0):
            return Num(1.0)
    return Bin(op, left, right)


# ---------------------------------------------------------------------------
# Rendering. One walker, three dialects.

_PRECEDENCE = {">": 1, "<": 1, ">=": 1, "<=": 1, "==": 1, "+": 2, "-": 2, "*": 3, "/": 3, "@": 3, "⊙": 3, "^": 5}
_NEG_PRECEDENCE = 4
_ATOM = 6
_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_GREEK_LATEX = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon", "η": r"\eta",
    "θ": r"\theta", "λ": r"\lambda", "μ": r"\mu", "σ": r"\sigma", "τ": r"\tau", "ω": r"\omega",
    "ℓ": r"\ell", "alpha": r"\alpha", "beta": r"\beta", "eta": r"\eta", "lr": r"\eta", "lambda": r"\lambda",
}
_HAT = "\u0302"


def _default_fmt(value) -> str:
    return format_number(value, 4)


def format_number(value, digits: int) -> str:
    """Round to ``digits`` significant decimals the way the seed document does.

    Values are rounded to ``digits`` decimal places, trailing zeros dropped but
    one decimal kept (``1.0``, ``0.622``); very small or large values switch to
    scientific notation so nothing rounds silently to zero.
    """
    array = np.asarray(value)
    if array.ndim > 0:
        if array.size == 1:
            return format_number(array.reshape(()), digits)
        inner = ", ".join(format_number(v, digits) for v in array.ravel()[:6])
        return f"[{inner}{', …' if array.size > 6 else ''}]"
    number = array.item()
    if isinstance(number, (bool, np.bool_)):
        return str(number)
    if isinstance(number, int):
        return str(number)
    if math.isnan(number) or math.isinf(number):
        return str(number)
    if number != 0 and (abs(number) < 10 ** (-digits) or abs(number) >= 1e7):
        return f"{number:.{max(digits, 1)}g}"  # 1e-08, 8.533e-05: nothing rounds silently to zero
    text = f"{number:.{digits}f}"
    if "." in text:  # 20 at no decimals stays 20
        text = text.rstrip("0")
    if text.endswith("."):
        text += "0"
    if text in ("-0.0",):
        text = "0.0"
    return text


class _Renderer:
    """Shared walk: subclasses say how atoms and operators look."""

    def __init__(self, values, fmt, collapse=True):
        # ``fmt`` formats a number; a pair formats names' values and collapsed
        # calls' values differently (hand values are already rounded and shown
        # as they are, a call's value is rounded when it is written down).
        self.values = values
        self.fmt, self.call_fmt = fmt if isinstance(fmt, tuple) else (fmt, fmt)
        self.collapse = collapse

    @property
    def numeric(self) -> bool:
        return self.values is not None

    def render(self, expr: Expr) -> str:
        self.evaluated: dict[int, object] = {}  # values of the subtrees a collapsed call needed, by id
        return fold(expr, self.combine)[0]

    # Each node renders as (rendered, precedence, is a number literal, can be evaluated with the values),
    # from its operands' renderings.
    def combine(self, expr: Expr, operands: list):
        kind = type(expr)
        if kind is Num:
            return self.number(expr.value, literal=True), _ATOM, True, True
        if kind is Var:
            if self.numeric and expr.name in self.values:
                value = self.values[expr.name]
                return self.number(value, literal=False), _value_precedence(value), False, True
            return self.name(expr.name), _ATOM, False, False
        evaluable = all(operand[3] for operand in operands)
        if kind is Neg:
            inner, prec, _, _ = operands[0]
            if prec <= _NEG_PRECEDENCE:
                inner = self.paren(inner)
            return self.negate(inner), _NEG_PRECEDENCE, False, evaluable
        if kind is Call:
            function = FUNCTIONS.get(expr.fn)
            evaluable = evaluable and function is not None and function.compute is not None
            if evaluable and self.numeric and self.collapse and function.collapse:
                # A call the numeric form writes as its value: σ(z) → 0.622.
                value = _evaluate(expr, self.values, memo=self.evaluated)
                return self.number(value, literal=False, call=True), _value_precedence(value), False, True
            function = function or _generic_function(expr.fn, len(expr.args))
            args = [operand[0] for operand in operands]
            if expr.fn == "T" and not isinstance(expr.args[0], Var):
                args = [self.paren(args[0])]  # (∂L/∂z)ᵀ, not ∂L/∂zᵀ
            return self.call(function, args, expr), _ATOM, False, evaluable
        if kind is Bin:
            return (*self.binary(expr, operands[0], operands[1]), evaluable)
        raise TypeError(f"not a formula node: {expr!r}")

    def binary(self, expr: Bin, left_operand, right_operand):
        prec = _PRECEDENCE[expr.op]
        left, lprec, lnum, _ = left_operand
        right, rprec, rnum, _ = right_operand
        if expr.op == "/":
            return self.fraction(left, right, lprec, rprec), prec, False
        if expr.op == "^":
            if lprec <= prec or (isinstance(expr.left, Call) and expr.left.fn in ("d", "T")):
                left = self.paren(left)  # (∂L/∂w)², not ∂L/∂w²
            return self.power(left, right, expr.right), prec, False
        # The parser builds left-nested trees, so a right operand of equal
        # precedence was parenthesised by the user: a − (b − c).
        if lprec < prec:
            left = self.paren(left)
        elif type(expr.left) is Bin and expr.left.op not in ("/", "^") and _PRECEDENCE[expr.left.op] == prec:
            left = self.continued(left)  # a + b + c is one row, not rows nested as deep as the sum is long
        right_needs_paren = rprec <= prec
        if right_needs_paren:
            right = self.paren(right)
        if expr.op == "*":
            return self.product(left, right, lnum, right_needs_paren, expr), prec, False
        return self.infix(expr.op, left, right), prec, False

    def continued(self, left: str) -> str:
        """A left operand of the same precedence, continued by one more operator (a dialect may unwrap it)."""
        return left

    def juxtapose(self, left_is_literal: bool, right_in_paren: bool, expr: Bin) -> bool:
        """Write ``2(ŷ − y)`` and ``σ(z)(1 − σ(z))`` without a product sign, as the seed does
        (but ``η · (…)``: a name before a parenthesis would read as a function call)."""
        if right_in_paren and (left_is_literal or (not self.numeric and isinstance(expr.left, (Call, Num)))):
            return True
        if not self.numeric and left_is_literal and isinstance(expr.right, (Var, Call)):
            return True
        return False


def _generic_function(name: str, arity: int) -> Function:
    """How to show a call the table does not know (a rule without its own notation)."""
    slots = ", ".join(f"{{{i}}}" for i in range(arity))
    return Function(name, arity, None, f"{name}({slots})",
                    rf"\operatorname{{{{{latex_escape(name)}}}}}\left({slots}\right)", collapse=False)


def latex_escape(text: str) -> str:
    return text.replace("_", r"\_")


def _value_precedence(value) -> int:
    """A negative number binds like a sum, so products write it as ``(−0.5) × 2``."""
    if isinstance(value, float):  # the common case (numpy's float64 too), without numpy's overhead
        return _PRECEDENCE["+"] if value < 0 else _ATOM
    if np.ndim(value) == 0 and float(np.real(value)) < 0:
        return _PRECEDENCE["+"]
    return _ATOM


class _Text(_Renderer):
    def number(self, value, literal, call=False):
        text = _literal(value) if literal else (self.call_fmt if call else self.fmt)(value)
        return text.replace("-", "−").replace("e−", "e-")  # every minus sign of a number, also inside [−0.2, …]

    def name(self, name):
        return name

    def paren(self, inner):
        return f"({inner})"

    def negate(self, inner):
        return f"−{inner}"

    def call(self, function, args, expr=None):
        if function.name == "sqrt" and expr is not None and isinstance(expr.args[0], (Var, Num)):
            return f"√{args[0]}"
        return function.text.format(*args)

    def fraction(self, left, right, lprec, rprec):
        if lprec < _PRECEDENCE["/"]:
            left = self.paren(left)
        if rprec <= _PRECEDENCE["/"]:
            right = self.paren(right)
        return f"{left}/{right}"

    def power(self, base, exponent, exponent_expr):
        if isinstance(exponent_expr, Num) and float(exponent_expr.value).is_integer():
            return base + str(int(exponent_expr.value)).translate(_SUPERSCRIPTS)
        return f"{base}^({exponent})" if not _is_simple(exponent) else f"{base}^{exponent}"

    def product(self, left, right, lnum, rparen, expr):
        if self.juxtapose(lnum, rparen, expr):
            return f"{left}{right}"
        return f"{left} {'×' if self.numeric else '·'} {right}"

    def infix(self, op, left, right):
        symbol = {"-": "−", ">=": "≥", "<=": "≤", "==": "=", "@": "·"}.get(op, op)
        return f"{left} {symbol} {right}"


def _mn(text: str) -> str:
    if text.startswith(("-", "−")):
        return f"<mrow><mo>−</mo><mn>{escape(text[1:])}</mn></mrow>"
    return f"<mn>{escape(text)}</mn>"


def _matrix_cells(text: str) -> list[list[str]] | None:
    """The rows and cells of a formatted vector or matrix ("[[0.05, 0.1], [0.2, 0.3]]"), or None."""
    inner = text.strip()
    if not (inner.startswith("[") and inner.endswith("]")) or "…" in inner:
        return None
    inner = inner[1:-1].strip()
    if inner.startswith("["):
        if not inner.endswith("]"):
            return None
        rows = [row.strip("[] ") for row in inner[1:-1].split("], [")]
    else:
        rows = [inner]
    cells = [[cell.strip() for cell in row.split(",")] for row in rows]
    return cells if all(cells) and all(c and "[" not in c for row in cells for c in row) else None


def _is_simple(text: str) -> bool:
    return re.fullmatch(r"[\w.]+", text) is not None


def _literal(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


_NAME_PARTS = re.compile(r"(?P<base>[^\W\d_]\u0302?|[^\W\d_]+?)(?P<index>\d*)(?:_(?P<suffix>\w+))?")


def name_parts(name: str) -> tuple[str, bool, str, str]:
    """(base letter(s), has a hat, index digits, suffix): ``m̂_w`` → ("m", True, "", "w"), ``w1_new`` → ("w", …)."""
    match = _NAME_PARTS.fullmatch(name)
    if match is None:
        return name, False, "", ""
    base = match.group("base")
    hat = base == "ŷ" or base.endswith(_HAT)
    base = "y" if base == "ŷ" else base.replace(_HAT, "")
    return base, hat, match.group("index"), match.group("suffix") or ""


def _scripts(index: str, suffix: str) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """Where a name's index and suffix go: (subscript, superscript), each ("number" | "word" | "name", text).

    ``w1`` → w with subscript 1; ``w_new`` → subscript "new"; ``w1_new`` → subscript 1, superscript "new";
    ``g_b1`` → subscript the name b1.
    """
    suffix_part = None
    if suffix:
        suffix_part = ("word", suffix) if len(suffix) >= 3 and suffix.isalpha() else ("name", suffix)
    if index:
        return ("number", index), suffix_part
    return suffix_part, None


def latex_name(name: str) -> str:
    """``ŷ`` → ``\\hat{y}``, ``w1`` → ``w_{1}``, ``w1_new`` → ``w_{1}^{\\text{new}}``, ``η`` → ``\\eta``."""
    if name in _GREEK_LATEX:
        return _GREEK_LATEX[name]
    base, hat, index, suffix = name_parts(name)
    text = _GREEK_LATEX.get(base, base)
    if len(base) > 1 and base.isascii():
        text = rf"\mathrm{{{base}}}"
    if hat:
        text = rf"\hat{{{text}}}"
    rendered = {"number": lambda t: t, "word": lambda t: rf"\text{{{t}}}", "name": latex_name}
    subscript, superscript = _scripts(index, suffix)
    if subscript:
        text += f"_{{{rendered[subscript[0]](subscript[1])}}}"
    if superscript:
        text += f"^{{{rendered[superscript[0]](superscript[1])}}}"
    return text


def mathml_name(name: str) -> str:
    """The same name as presentation MathML: ``w1_new`` → w with subscript 1 and superscript new."""
    base, hat, index, suffix = name_parts(name)
    core = f"<mi>{escape(base)}</mi>"
    if hat:
        core = f'<mover accent="true">{core}<mo>^</mo></mover>'
    rendered = {"number": lambda t: f"<mn>{t}</mn>", "word": lambda t: f"<mtext>{escape(t)}</mtext>",
                "name": mathml_name}
    subscript, superscript = _scripts(index, suffix)
    if subscript and superscript:
        return (f"<msubsup>{core}<mrow>{rendered[subscript[0]](subscript[1])}</mrow>"
                f"<mrow>{rendered[superscript[0]](superscript[1])}</mrow></msubsup>")
    if subscript:
        return f"<msub>{core}<mrow>{rendered[subscript[0]](subscript[1])}</mrow></msub>"
    return core


def _mathml_tokens(text: str) -> str:
    """Literal template text as MathML tokens: letters <mi>, digits <mn>, the rest <mo>."""
    out = []
    for char in text:
        if char.isspace():
            continue
        if char.isalpha():
            out.append(f"<mi>{escape(char)}</mi>")
        elif char.isdigit():
            out.append(f"<mn>{char}</mn>")
        else:
            out.append(f"<mo>{escape(char)}</mo>")
    return "".join(out)


class _Latex(_Renderer):
    def number(self, value, literal, call=False):
        text = _literal(value) if literal else (self.call_fmt if call else self.fmt)(value)
        rows = _matrix_cells(text) if np.ndim(value) in (1, 2) else None
        if rows is not None:
            return r"\begin{bmatrix} " + r" \\ ".join(" & ".join(row) for row in rows) + r" \end{bmatrix}"
        return text

    def name(self, name):
        return latex_name(name)

    def paren(self, inner):
        return rf"\left({inner}\right)"

    def negate(self, inner):
        return f"-{inner}"

    def call(self, function, args, expr=None):
        return function.latex.format(*args)

    def fraction(self, left, right, lprec, rprec):
        return rf"\frac{{{left}}}{{{right}}}"

    def power(self, base, exponent, exponent_expr):
        return f"{{{base}}}^{{{exponent}}}"

    def product(self, left, right, lnum, rparen, expr):
        if self.juxtapose(lnum, rparen, expr):
            return f"{left}{right}"
        sign = r"\times" if self.numeric else r"\cdot"
        return f"{left} {sign} {right}"

    def infix(self, op, left, right):
        symbol = {">=": r"\ge", "<=": r"\le", "==": "=", "@": r"\cdot", "⊙": r"\odot"}.get(op, op)
        return f"{left} {symbol} {right}"


class _MathML(_Renderer):
    def continued(self, left: str) -> str:
        # <mrow>a + b</mrow> + c → <mrow>a + b + c</mrow>: a 1,000-term sum stays one flat row.
        return left[len("<mrow>"):-len("</mrow>")] if left.startswith("<mrow>") and left.endswith("</mrow>") else left

    def number(self, value, literal, call=False):
        text = _literal(value) if literal else (self.call_fmt if call else self.fmt)(value)
        rows = _matrix_cells(text) if np.ndim(value) in (1, 2) else None
        if rows is not None:  # a substituted tensor is drawn as the matrix it is
            cells = "".join("<mtr>" + "".join(f"<mtd>{_mn(c)}</mtd>"
                                              for c in row) + "</mtr>" for row in rows)
            return f'<mrow><mo>[</mo><mtable>{cells}</mtable><mo>]</mo></mrow>'
        return _mn(text)

    def name(self, name):
        return mathml_name(name)

    def paren(self, inner):
        return f"<mrow><mo>(</mo>{self.continued(inner)}<mo>)</mo></mrow>"  # one row, not a row in a row

    def negate(self, inner):
        return f"<mrow><mo>−</mo>{inner}</mrow>"

    def call(self, function, args, expr=None):
        if function.name == "d":
            return f"<mfrac><mrow><mo>∂</mo>{args[0]}</mrow><mrow><mo>∂</mo>{args[1]}</mrow></mfrac>"
        if function.name == "sqrt":
            return f"<msqrt>{args[0]}</msqrt>"
        if function.name == "T":
            return f"<msup><mrow>{args[0]}</mrow><mi>T</mi></msup>"
        if function.name == "sigmoid":
            return f"<mrow><mi>σ</mi><mo>(</mo>{args[0]}<mo>)</mo></mrow>"
        # Other functions follow their text template: literal parts become tokens.
        pieces = re.split(r"(\{\d\})", function.text)
        out = []
        for piece in pieces:
            if re.fullmatch(r"\{\d\}", piece):
                out.append(args[int(piece[1:-1])])
            elif piece:
                word = re.fullmatch(r"([^\W\d_]{2,})(\W*)", piece)
                if word:  # a function name such as tanh or exp: one identifier
                    out.append(f"<mi>{escape(word.group(1))}</mi>{_mathml_tokens(word.group(2))}")
                else:
                    out.append(_mathml_tokens(piece))
        return "<mrow>" + "".join(out) + "</mrow>"

    def fraction(self, left, right, lprec, rprec):
        return f"<mfrac><mrow>{left}</mrow><mrow>{right}</mrow></mfrac>"

    def power(self, base, exponent, exponent_expr):
        return f"<msup><mrow>{base}</mrow><mrow>{exponent}</mrow></msup>"

    def product(self, left, right, lnum, rparen, expr):
        if self.juxtapose(lnum, rparen, expr):
            return f"<mrow>{left}{right}</mrow>"
        return f"<mrow>{left}<mo>{'×' if self.numeric else '·'}</mo>{right}</mrow>"

    def infix(self, op, left, right):
        symbol = {"-": "−", ">=": "≥", "<=": "≤", "==": "=", "@": "·"}.get(op, op)
        return f"<mrow>{left}<mo>{escape(symbol)}</mo>{right}</mrow>"
