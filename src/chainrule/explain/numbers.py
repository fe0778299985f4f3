"""The one number model: how every number a learner sees is written down.

A person working a derivation by hand writes each number once and uses it, as
written, on every later line. chainrule does the same, by one set of rules:

* **Givens are written as given.** ``w = 0.4934`` is shown as 0.4934 and used
  as 0.4934 (the shortest decimal that reads back as the same float).
* **Computed values** get ``precision`` decimals (the seed's three), and at
  least ``precision`` significant figures, so a small value never shows as 0:
  0.292, 1.244, 0.0277, 0.000439. Numbers below 10⁻⁶ or from 10⁷ on are
  written in scientific notation (1.12e-07).
* **Carrying.** By default the written number is what later lines use
  (2(0.622 − 0) = 1.244, then 1.244 × 0.235 × 1.0 = 0.292), so every line
  checks on a calculator from the numbers on that line. A value that had to be
  rounded keeps its trailing zeros (σ(0.942) = 0.720); a result that is exact
  at that precision is written as it is (2(0.720 − 1.0) = −0.56).
* **Updated parameters** get one decimal more than the precision, and more
  when needed, so that the step η·g shows at least two significant figures:
  0.5 − 0.1 × 0.292 = 0.4708, 0.15 − 0.5 × 0.000439 = 0.14978.
* Rounding is a person's: half up, on the decimal a calculator shows.

With ``carry=False`` (``--exact``) every value is the exact float, and only
its printed text is rounded by the same rules.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

__all__ = ["Written", "WrittenArray", "NumberModel", "typographic_minus", "shortest", "number_text", "half_unit",
           "MAX_DECIMALS"]

#: No number is written with more decimals than this (the CLI's and problem files' highest precision).
MAX_DECIMALS = 12
_SCIENTIFIC_BELOW = 1e-6
_SCIENTIFIC_FROM = 1e7


class Written(float):
    """A number as it is written on the page: its value is exactly what its text says."""

    def __new__(cls, text: str):
        number = float.__new__(cls, text)
        number.text = text
        return number

    def __repr__(self) -> str:
        return self.text


class WrittenArray(np.ndarray):
    """A tensor whose elements are written down (given, or rounded and carried): each prints as it is."""


def _written_array(array) -> WrittenArray:
    return np.array(array, dtype=float).view(WrittenArray)


def shortest(value: float) -> str:
    """The shortest decimal that reads back as ``value``: 0.4934, 1.0, 0.0004, 1e-08."""
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    if number == 0:
        return "0.0"
    if abs(number) < _SCIENTIFIC_BELOW or abs(number) >= _SCIENTIFIC_FROM:
        return np.format_float_scientific(number, unique=True, trim="-")
    return np.format_float_positional(number, unique=True, trim="0")


def _round_half_up(number: float, decimals: int) -> Decimal:
    return Decimal(repr(float(number))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def number_text(value: float, decimals: int, significant: int) -> str:
    """``value`` rounded to ``decimals`` (at least ``significant`` figures), as a person writes it.

    Trailing zeros stay when the number was rounded (0.720) and go when it is
    exact at that precision (0.56, 0.5).
    """
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    if number == 0:
        return "0.0"
    magnitude = abs(number)
    if magnitude < _SCIENTIFIC_BELOW or magnitude >= _SCIENTIFIC_FROM:
        text = f"{number:.{max(significant, 1) - 1}e}"
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{exponent[0]}{exponent[1:].lstrip('0') or '0'}"
    decimals = max(decimals, significant - 1 - math.floor(math.log10(magnitude)))
    decimals = min(decimals, MAX_DECIMALS)
    rounded = _round_half_up(number, decimals)
    if abs(float(rounded) - number) <= 1e-14 * magnitude:  # exact at this precision (up to float noise)
        return shortest(float(rounded))
    text = f"{rounded:f}"
    if text.startswith("-") and float(rounded) == 0:
        text = text[1:]
    return text  # at no decimals a rounded 20 is "20": no ".0" claiming a decimal it does not have


def half_unit(written) -> float:
    """Half a unit of the last digit a written number shows (0.292 → 0.0005, 2.31e-7 → 5e-10)."""
    text = written.text if isinstance(written, Written) else shortest(written)
    mantissa, _, exponent = text.partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def typographic_minus(text: str) -> str:
    """Minus signs as the formulas write them (−0.5), keeping an exponent's hyphen (2.31e-7)."""
    return text.replace("-", "−").replace("e−", "e-")


class NumberModel:
    """The rules above, at one precision; ``carry=False`` keeps values exact."""

    def __init__(self, precision: int, carry: bool = True):
        if not isinstance(precision, int) or isinstance(precision, bool) or not 0 <= precision <= MAX_DECIMALS:
            raise ValueError(f"precision must be a whole number of decimals from 0 to {MAX_DECIMALS}, "
                             f"got {precision!r}")
        self.decimals = precision
        self.carry = carry

    @property
    def significant(self) -> int:
        return max(self.decimals, 1)

    # -- one number ------------------------------------------------------------------
    def text(self, value, decimals: int | None = None, more: int = 0) -> str:
        """How an exact value is printed; ``more`` adds that many digits (decimals and significant figures)."""
        if isinstance(value, Written):
            return value.text
        decimals = self.decimals if decimals is None else decimals
        return number_text(value, min(decimals + more, MAX_DECIMALS), self.significant + more)

    def given(self, value):
        """A value the user gave: written as given, used exactly."""
        array = np.asarray(value, dtype=float)
        if array.ndim == 0:
            return Written(shortest(float(array)))
        return _written_array(array)

    def computed(self, value, decimals: int | None = None, more: int = 0):
        """A computed value as it is written down (and, when carrying, used from then on)."""
        array = np.asarray(value, dtype=float)
        if array.ndim > 0:
            return self._computed_array(array, decimals)
        number = float(array)
        if not self.carry or not math.isfinite(number):
            return number + 0.0
        return Written(self.text(number, decimals, more))

    __call__ = computed

    def _computed_array(self, array: np.ndarray, decimals: int | None) -> np.ndarray:
        if not self.carry:
            return array + 0.0
        flat = [float(self.computed(v, decimals)) for v in array.reshape(-1)]
        return _written_array(np.array(flat, dtype=float).reshape(array.shape))

    def update_decimals(self, old, new) -> int:
        """Decimals for an updated parameter: one more than the precision, and enough that the
        step old → new shows at least two significant figures."""
        decimals = min(self.decimals + 1, MAX_DECIMALS)
        step = float(np.max(np.abs(np.asarray(new, dtype=float) - np.asarray(old, dtype=float)), initial=0.0))
        if step > 0 and math.isfinite(step):
            decimals = max(decimals, 1 - math.floor(math.log10(step)))
        return min(decimals, MAX_DECIMALS)

    def updated(self, old, new):
        """A parameter after its update, written so that the change is visible (element by element)."""
        old_array, new_array = np.asarray(old, dtype=float), np.asarray(new, dtype=float)
        if new_array.ndim == 0:
            return self.computed(new_array, self.update_decimals(old_array, new_array))
        if not self.carry:
            return new_array + 0.0
        pairs = zip(np.broadcast_to(old_array, new_array.shape).reshape(-1), new_array.reshape(-1))
        flat = [float(self.computed(n, self.update_decimals(o, n))) for o, n in pairs]
        return _written_array(np.array(flat, dtype=float).reshape(new_array.shape))

    def update_decimals_array(self, old, new) -> int:
        """The decimals a whole updated tensor is printed with: enough for its smallest visible step."""
        old_array, new_array = np.asarray(old, dtype=float), np.asarray(new, dtype=float)
        pairs = zip(np.broadcast_to(old_array, new_array.shape).reshape(-1), new_array.reshape(-1))
        return max((self.update_decimals(o, n) for o, n in pairs), default=self.decimals + 1)

    def decimals_of(self, written) -> int:
        """Decimals in a number's written text (for the JSON's ``decimals`` field)."""
        text = self.text(written) if np.ndim(written) == 0 else ""
        if "e" in text or "." not in text:
            return self.decimals
        return len(text.split(".")[1])

    def distinguish(self, a: float, b: float) -> tuple[str, str]:
        """Two exact values written with just enough digits to tell them apart (the loss before and after)."""
        for extra in range(17):
            first, second = (number_text(v, self.decimals + extra, self.significant + extra) for v in (a, b))
            if first != second or a == b:
                return first, second
        return repr(float(a)), repr(float(b))
