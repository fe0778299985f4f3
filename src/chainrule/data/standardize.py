"""Standardizing features: subtract each column's mean, divide by its standard deviation."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["Standardizer"]

# A column whose standard deviation is this small relative to its mean is
# constant up to rounding (np.std of [0.1, 0.1, 0.1] is about 1e-17, not 0).
_CONSTANT_RTOL = 1e3 * np.finfo(np.float64).eps


class Standardizer:
    """Rescale each feature to mean 0 and standard deviation 1 (statistics from ``fit``).

    ``transform(X)`` computes ``(X - mean) / scale`` column by column, where
    ``mean`` and ``scale`` (the population standard deviation, ``ddof=0``) come
    from the data given to ``fit``. A constant column gets scale 1, so it
    becomes all zeros instead of a division by zero. Fit on the training set
    only, then transform the training and the test sets with the same numbers.

    ``X`` is 2-D (samples × features) or 1-D (one feature, e.g. a regression
    target). Results are float64.

    Attributes:
        mean_: per-column means, ``None`` before fitting.
        scale_: per-column scales (standard deviation, or 1 for a constant column), ``None`` before fitting.

    Example:
        >>> import numpy as np
        >>> X = np.array([[1.0, 10.0], [3.0, 10.0]])
        >>> s = Standardizer().fit(X)
        >>> s.mean_.tolist(), s.scale_.tolist()
        ([2.0, 10.0], [1.0, 1.0])
        >>> s.transform(X).tolist()
        [[-1.0, 0.0], [1.0, 0.0]]
        >>> s.inverse_transform(s.transform(X)).tolist()
        [[1.0, 10.0], [3.0, 10.0]]
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def __repr__(self) -> str:
        if self.mean_ is None:
            return "Standardizer(not fitted)"
        return f"Standardizer(features={self.mean_.size})"

    @staticmethod
    def _as_array(X: npt.ArrayLike, what: str) -> np.ndarray:
        array = np.asarray(X, dtype=np.float64)
        if array.ndim not in (1, 2):
            raise ValueError(f"Standardizer.{what}: X must be 1-D or 2-D (samples × features), got shape {array.shape}")
        return array

    def fit(self, X: npt.ArrayLike) -> Standardizer:
        """Compute each column's mean and scale from ``X``; return ``self``.

        Example:
            >>> Standardizer().fit([[0.0], [2.0]]).scale_.tolist()
            [1.0]
        """
        array = self._as_array(X, "fit")
        if len(array) == 0:
            raise ValueError("Standardizer.fit: X has no samples")
        if not np.all(np.isfinite(array)):
            raise ValueError("Standardizer.fit: X contains NaN or infinity")
        mean = array.mean(axis=0)
        std = array.std(axis=0)
        constant = std <= _CONSTANT_RTOL * np.abs(mean)
        self.mean_ = np.asarray(mean, dtype=np.float64)
        self.scale_ = np.asarray(np.where(constant, 1.0, std), dtype=np.float64)
        return self

    def _check_fitted(self, X: npt.ArrayLike, what: str) -> np.ndarray:
        if self.mean_ is None or self.scale_ is None:
            raise RuntimeError(
                f"Standardizer.{what}: this Standardizer is not fitted yet; "
                "call fit(X) or fit_transform(X) first (or load_state_dict(...))"
            )
        array = self._as_array(X, what)
        if array.shape[1:] != self.mean_.shape:
            fitted = "1-D data" if self.mean_.ndim == 0 else f"{self.mean_.size} features"
            raise ValueError(f"Standardizer.{what}: fitted on {fitted}, got X of shape {array.shape}")
        return array

    def transform(self, X: npt.ArrayLike) -> np.ndarray:
        """Return ``(X - mean_) / scale_`` as a new float64 array.

        Example:
            >>> Standardizer().fit([[0.0], [2.0]]).transform([[4.0]]).tolist()
            [[3.0]]
        """
        array = self._check_fitted(X, "transform")
        return (array - self.mean_) / self.scale_

    def fit_transform(self, X: npt.ArrayLike) -> np.ndarray:
        """Fit on ``X``, then return ``transform(X)``.

        Example:
            >>> Standardizer().fit_transform([1.0, 3.0]).tolist()
            [-1.0, 1.0]
        """
        return self.fit(X).transform(X)

    def inverse_transform(self, X: npt.ArrayLike) -> np.ndarray:
        """Undo ``transform``: return ``X * scale_ + mean_`` as a new float64 array.

        Example:
            >>> s = Standardizer().fit([1.0, 3.0])
            >>> s.inverse_transform([-1.0, 0.0, 1.0]).tolist()
            [1.0, 2.0, 3.0]
        """
        array = self._check_fitted(X, "inverse_transform")
        return array * self.scale_ + self.mean_

    def state_dict(self) -> dict[str, np.ndarray]:
        """Return the fitted statistics as ``{"mean": array, "scale": array}`` (copies).

        Example:
            >>> state = Standardizer().fit([[1.0], [3.0]]).state_dict()
            >>> sorted(state), state["mean"].tolist()
            (['mean', 'scale'], [2.0])
        """
        if self.mean_ is None or self.scale_ is None:
            raise RuntimeError("Standardizer.state_dict: this Standardizer is not fitted yet; call fit(X) first")
        return {"mean": self.mean_.copy(), "scale": self.scale_.copy()}

    def load_state_dict(self, state: dict[str, npt.ArrayLike]) -> Standardizer:
        """Restore statistics saved by ``state_dict``; return ``self``.

        Example:
            >>> old = Standardizer().fit([[1.0], [3.0]])
            >>> new = Standardizer().load_state_dict(old.state_dict())
            >>> new.transform([[3.0]]).tolist()
            [[1.0]]
        """
        if set(state) != {"mean", "scale"}:
            raise ValueError(f"Standardizer.load_state_dict: expected keys 'mean' and 'scale', got {sorted(state)}")
        mean = np.array(state["mean"], dtype=np.float64)
        scale = np.array(state["scale"], dtype=np.float64)
        if mean.ndim > 1 or mean.shape != scale.shape:
            raise ValueError(
                f"Standardizer.load_state_dict: 'mean' and 'scale' must be 0-D or 1-D arrays of the same shape, "
                f"got {mean.shape} and {scale.shape}"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise ValueError("Standardizer.load_state_dict: 'mean' must be finite and 'scale' finite and positive")
        self.mean_, self.scale_ = mean, scale
        return self
