"""Small real data sets, taken from scikit-learn (optional: ``pip install "chainrule[datasets]"``).

scikit-learn ships both data sets inside its package, so no network is needed.
"""

from __future__ import annotations

import importlib

import numpy as np

from .tables import Table

__all__ = ["load_digits", "load_iris"]

INSTALL_HINT = 'pip install "chainrule[datasets]"'


def _sklearn_datasets(caller: str):
    try:
        return importlib.import_module("sklearn.datasets")
    except ImportError as exc:
        raise ImportError(
            f"chainrule.data.{caller}() needs scikit-learn, which could not be imported ({exc}). "
            f"Install it with: {INSTALL_HINT}"
        ) from exc


def _table(bunch, target_name: str) -> Table:
    return Table(
        X=np.array(bunch.data, dtype=np.float64),
        y=np.array(bunch.target, dtype=np.int64),
        feature_names=tuple(str(name) for name in bunch.feature_names),
        target_name=target_name,
        class_names=tuple(str(name) for name in bunch.target_names),
    )


def load_digits() -> Table:
    """The 8×8 handwritten digits: 1797 images, 64 pixel features (0 to 16), labels 0 to 9.

    Returns:
        A ``Table`` with ``X`` of shape (1797, 64) float64, ``y`` of shape
        (1797,) int64, feature names ``pixel_0_0`` ... ``pixel_7_7`` (row,
        column), target name ``"digit"`` and class names ``"0"`` to ``"9"``.

    Raises:
        ImportError: scikit-learn is not installed (``pip install "chainrule[datasets]"``).

    Example:
        >>> digits = load_digits()  # doctest: +SKIP
        >>> digits.X.shape, digits.y.shape  # doctest: +SKIP
        ((1797, 64), (1797,))
    """
    return _table(_sklearn_datasets("load_digits").load_digits(), "digit")


def load_iris() -> Table:
    """Fisher's iris flowers: 150 samples, 4 measurements in cm, 3 species (labels 0, 1, 2).

    Returns:
        A ``Table`` with ``X`` of shape (150, 4) float64, ``y`` of shape (150,)
        int64, feature names such as ``"sepal length (cm)"``, target name
        ``"species"`` and class names ``("setosa", "versicolor", "virginica")``.

    Raises:
        ImportError: scikit-learn is not installed (``pip install "chainrule[datasets]"``).

    Example:
        >>> iris = load_iris()  # doctest: +SKIP
        >>> iris.X.shape, iris.class_names  # doctest: +SKIP
        ((150, 4), ('setosa', 'versicolor', 'virginica'))
    """
    return _table(_sklearn_datasets("load_iris").load_iris(), "species")
