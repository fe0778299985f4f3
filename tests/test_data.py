"""Tests for chainrule.data: CSV loading, splits, standardizing, batches, toy and real data sets."""

import doctest
import importlib
import inspect
import sys

import numpy as np
import pytest

import chainrule.data as data
from chainrule.data import (
    CSVError,
    Standardizer,
    Table,
    batches,
    load_csv,
    load_digits,
    load_iris,
    make_circles,
    make_moons,
    make_spirals,
    seed_points,
    shuffled_indices,
    train_test_split,
    xor,
)

# --------------------------------------------------------------------------- helpers


def write(tmp_path, name, content):
    """Write ``content`` (str or bytes) to ``tmp_path / name`` and return the path."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


GOOD = "height,age,weight\n1.5,30,60\n1.7,40,70.5\n1.8,50,80\n"


# --------------------------------------------------------------------------- load_csv: good files


def test_load_csv_target_by_name(tmp_path):
    table = load_csv(write(tmp_path, "people.csv", GOOD), "age")
    assert isinstance(table, Table)
    assert table.feature_names == ("height", "weight")
    assert table.target_name == "age"
    assert table.X.dtype == np.float64 and table.y.dtype == np.float64
    np.testing.assert_array_equal(table.X, [[1.5, 60.0], [1.7, 70.5], [1.8, 80.0]])
    np.testing.assert_array_equal(table.y, [30.0, 40.0, 50.0])


@pytest.mark.parametrize("target", [2, -1])
def test_load_csv_target_by_index(tmp_path, target):
    table = load_csv(str(write(tmp_path, "people.csv", GOOD)), target)
    assert table.target_name == "weight"
    assert table.feature_names == ("height", "age")
    np.testing.assert_array_equal(table.y, [60.0, 70.5, 80.0])
    np.testing.assert_array_equal(table.X[:, 1], [30.0, 40.0, 50.0])


def test_load_csv_bom_crlf_blank_lines_spaces(tmp_path):
    content = "\ufeff x , y \r\n1, 2\r\n\r\n3 ,4\r\n\r\n\r\n   \n"
    table = load_csv(write(tmp_path, "bom.csv", content), "y")
    assert table.feature_names == ("x",)
    assert table.target_name == "y"
    np.testing.assert_array_equal(table.X, [[1.0], [3.0]])
    np.testing.assert_array_equal(table.y, [2.0, 4.0])


def test_load_csv_delimiter_dtype_and_quotes(tmp_path):
    content = 'a;"b";label\n1;"2.5";0\n-3;4e1;1\n'
    table = load_csv(write(tmp_path, "semi.csv", content), "label", delimiter=";", dtype=np.float32)
    assert table.X.dtype == np.float32 and table.y.dtype == np.float32
    assert table.feature_names == ("a", "b")
    np.testing.assert_array_equal(table.X, np.array([[1, 2.5], [-3, 40]], dtype=np.float32))


def test_load_csv_rejects_bad_arguments(tmp_path):
    path = write(tmp_path, "people.csv", GOOD)
    with pytest.raises(ValueError, match="delimiter"):
        load_csv(path, "age", delimiter=";;")
    with pytest.raises(ValueError, match="floating-point"):
        load_csv(path, "age", dtype=np.int64)
    with pytest.raises(TypeError, match="target"):
        load_csv(path, 1.5)


# --------------------------------------------------------------------------- load_csv: errors


def test_csv_error_is_value_error():
    assert issubclass(CSVError, ValueError)


def test_load_csv_missing_file(tmp_path):
    with pytest.raises(CSVError, match=r"missing\.csv: no such file"):
        load_csv(tmp_path / "missing.csv", "y")


def test_load_csv_directory(tmp_path):
    with pytest.raises(CSVError, match="is a directory"):
        load_csv(tmp_path, "y")


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_load_csv_empty_file(tmp_path, content):
    with pytest.raises(CSVError, match=r"empty\.csv: line 1: the file is empty"):
        load_csv(write(tmp_path, "empty.csv", content), "y")


def test_load_csv_header_only(tmp_path):
    with pytest.raises(CSVError, match=r"header\.csv: line 1: .*header but no data rows"):
        load_csv(write(tmp_path, "header.csv", "x,y\n\n"), "y")


def test_load_csv_duplicate_columns(tmp_path):
    with pytest.raises(CSVError, match=r"dup\.csv: line 1: duplicate column name 'a' \(columns 1 and 3\)"):
        load_csv(write(tmp_path, "dup.csv", "a,b,a\n1,2,3\n"), "b")


def test_load_csv_unnamed_column(tmp_path):
    with pytest.raises(CSVError, match=r"noname\.csv: line 1: column 2 of the header has no name"):
        load_csv(write(tmp_path, "noname.csv", "a,,c\n1,2,3\n"), "a")


def test_load_csv_unknown_target(tmp_path):
    pattern = r"people\.csv: line 1: unknown target column 'price'; available columns: 'height', 'age', 'weight'"
    with pytest.raises(CSVError, match=pattern):
        load_csv(write(tmp_path, "people.csv", GOOD), "price")


def test_load_csv_target_index_out_of_range(tmp_path):
    with pytest.raises(CSVError, match=r"people\.csv: line 1: target index 3 is out of range for 3 columns"):
        load_csv(write(tmp_path, "people.csv", GOOD), 3)


def test_load_csv_ragged_row(tmp_path):
    content = "a,b,c,d\n" + "1,2,3,4\n" * 5 + "1,2,3\n"  # the short row is line 7
    with pytest.raises(CSVError, match=r"ragged\.csv: line 7 has 3 fields, the header has 4"):
        load_csv(write(tmp_path, "ragged.csv", content), "d")


def test_load_csv_long_row(tmp_path):
    with pytest.raises(CSVError, match=r"long\.csv: line 2 has 3 fields, the header has 2"):
        load_csv(write(tmp_path, "long.csv", "a,b\n1,2,\n"), "b")


def test_load_csv_non_numeric_cell(tmp_path):
    content = "name,age,y\n1,20,0\n2,21,1\n3,22,0\n4,abc,1\n"  # 'abc' is on line 5
    with pytest.raises(CSVError, match=r"cells\.csv: line 5, column 'age': 'abc' is not a number"):
        load_csv(write(tmp_path, "cells.csv", content), "y")


def test_load_csv_line_numbers_count_blank_lines(tmp_path):
    content = "a,y\n\n1,0\n\n\nx,1\n"  # the bad cell is on physical line 6
    with pytest.raises(CSVError, match=r"blanks\.csv: line 6, column 'a': 'x' is not a number"):
        load_csv(write(tmp_path, "blanks.csv", content), "y")


@pytest.mark.parametrize("cell", ["1_000", "0x10"])
def test_load_csv_rejects_python_only_number_forms(tmp_path, cell):
    with pytest.raises(CSVError, match=rf"forms\.csv: line 2, column 'a': '{cell}' is not a number"):
        load_csv(write(tmp_path, "forms.csv", f"a,y\n{cell},1\n"), "y")


@pytest.mark.parametrize("cell", ["nan", "inf", "-Infinity"])
def test_load_csv_rejects_non_finite(tmp_path, cell):
    with pytest.raises(CSVError, match=rf"nan\.csv: line 3, column 'y': '{cell}' is not a finite number"):
        load_csv(write(tmp_path, "nan.csv", f"a,y\n1,2\n3,{cell}\n"), "y")


@pytest.mark.parametrize("row", ["1,,3", "1,  ,3"])
def test_load_csv_empty_cell(tmp_path, row):
    with pytest.raises(CSVError, match=r"holes\.csv: line 3, column 'b': empty cell"):
        load_csv(write(tmp_path, "holes.csv", f"a,b,c\n1,2,3\n{row}\n"), "c")


def test_load_csv_not_utf8(tmp_path):
    path = write(tmp_path, "latin1.csv", b"name,y\n1,2\n" + "3,caf\xe9\n".encode("latin-1"))
    with pytest.raises(CSVError, match=r"latin1\.csv: line 3: byte 0xe9 is not valid UTF-8") as info:
        load_csv(path, "y")
    assert not isinstance(info.value, UnicodeDecodeError)


def test_load_csv_malformed_quotes(tmp_path):
    with pytest.raises(CSVError, match=r"quotes\.csv: line 3: malformed CSV"):
        load_csv(write(tmp_path, "quotes.csv", 'a,y\n1,2\n"3"x,4\n'), "y")


# --------------------------------------------------------------------------- Table


def test_table_checks_shapes():
    with pytest.raises(ValueError, match="X has 2 rows but y has 3"):
        Table(np.zeros((2, 1)), np.zeros(3), ("a",), "y")
    with pytest.raises(ValueError, match="2-D"):
        Table(np.zeros(2), np.zeros(2), ("a",), "y")
    with pytest.raises(ValueError, match="feature names"):
        Table(np.zeros((2, 2)), np.zeros(2), ("a",), "y")
    table = Table(np.zeros((2, 1)), np.zeros(2), ["a"], "y")
    assert table.feature_names == ("a",)
    with pytest.raises(AttributeError):
        table.X = np.ones((2, 1))


# --------------------------------------------------------------------------- train_test_split


def split_data(n=20):
    X = np.arange(n * 3, dtype=float).reshape(n, 3)
    y = np.arange(n, dtype=float) * 10
    return X, y


@pytest.mark.parametrize(("test_size", "n_test"), [(0.25, 5), (0.3, 6), (0.01, 1), (7, 7), (np.int64(3), 3)])
def test_split_sizes(test_size, n_test):
    X, y = split_data()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size, seed=0)
    assert X_test.shape == (n_test, 3) and y_test.shape == (n_test,)
    assert X_train.shape == (20 - n_test, 3) and y_train.shape == (20 - n_test,)


def test_split_disjoint_complete_and_paired():
    X, y = split_data()
    X_train, X_test, y_train, y_test = train_test_split(X, y, seed=1)
    train_ids, test_ids = X_train[:, 0] // 3, X_test[:, 0] // 3
    assert set(train_ids).isdisjoint(test_ids)
    assert sorted(np.concatenate([train_ids, test_ids])) == list(range(20))
    np.testing.assert_array_equal(y_train, train_ids * 10)
    np.testing.assert_array_equal(y_test, test_ids * 10)
    assert not np.array_equal(train_ids, np.sort(train_ids))  # actually shuffled


def test_split_deterministic_with_seed():
    X, y = split_data()
    first = train_test_split(X, y, seed=42)
    second = train_test_split(X, y, seed=42)
    other = train_test_split(X, y, seed=43)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(train_test_split(X, y, seed=rng_a)[1], train_test_split(X, y, seed=rng_b)[1])


def test_split_without_shuffle_keeps_order_and_copies():
    X, y = split_data(8)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=2, shuffle=False)
    np.testing.assert_array_equal(X_train, X[:6])
    np.testing.assert_array_equal(y_test, y[6:])
    X_train[0, 0] = -1.0
    assert X[0, 0] == 0.0


def test_split_errors():
    X, y = split_data(10)
    with pytest.raises(ValueError, match=r"X has 10 samples, y has 9"):
        train_test_split(X, y[:9])
    for bad in (0.0, 1.0, 1.5, -0.2, 0, 10, -1):
        with pytest.raises(ValueError, match="test_size"):
            train_test_split(X, y, bad)
    with pytest.raises(TypeError, match="test_size"):
        train_test_split(X, y, True)
    with pytest.raises(TypeError, match="test_size"):
        train_test_split(X, y, "0.2")
    with pytest.raises(ValueError, match="at least 2 samples"):
        train_test_split(X[:1], y[:1])
    with pytest.raises(TypeError, match="seed"):
        train_test_split(X, y, seed=1.5)


# --------------------------------------------------------------------------- Standardizer


def test_standardizer_train_statistics_and_inverse():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[5.0, -3.0, 100.0], scale=[2.0, 0.1, 30.0], size=(200, 3))
    scaler = Standardizer()
    Z = scaler.fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-12)
    X_new = rng.normal(size=(7, 3))
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X_new)), X_new, atol=1e-12)


@pytest.mark.parametrize("value", [0.0, 0.1, 7.0, -1e6])
def test_standardizer_constant_column(value):
    X = np.column_stack([np.full(5, value), np.arange(5.0)])
    scaler = Standardizer().fit(X)
    assert scaler.scale_[0] == 1.0
    Z = scaler.transform(X)
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(Z[:, 0], 0.0, atol=1e-9)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X)


def test_standardizer_one_dimensional():
    scaler = Standardizer().fit([2.0, 4.0, 6.0])
    np.testing.assert_allclose(scaler.transform([4.0, 6.0]), [0.0, np.sqrt(1.5)])
    with pytest.raises(ValueError, match="fitted on 1-D data"):
        scaler.transform([[1.0]])


def test_standardizer_not_fitted():
    scaler = Standardizer()
    for method in (scaler.transform, scaler.inverse_transform):
        with pytest.raises(RuntimeError, match=r"not fitted yet; call fit\(X\)"):
            method(np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="not fitted"):
        scaler.state_dict()


def test_standardizer_state_dict_round_trip():
    X = np.array([[1.0, 2.0], [3.0, 8.0], [5.0, 2.0]])
    old = Standardizer().fit(X)
    state = old.state_dict()
    assert set(state) == {"mean", "scale"}
    assert all(isinstance(v, np.ndarray) for v in state.values())
    state["mean"][0] = 99.0  # a copy: the fitted scaler is unchanged
    assert old.mean_[0] == 3.0
    new = Standardizer().load_state_dict(old.state_dict())
    np.testing.assert_array_equal(new.transform(X), old.transform(X))
    with pytest.raises(ValueError, match="expected keys"):
        Standardizer().load_state_dict({"mean": np.zeros(2)})
    with pytest.raises(ValueError, match="same shape"):
        Standardizer().load_state_dict({"mean": np.zeros(2), "scale": np.ones(3)})
    with pytest.raises(ValueError, match="positive"):
        Standardizer().load_state_dict({"mean": np.zeros(2), "scale": np.zeros(2)})


def test_standardizer_bad_input():
    with pytest.raises(ValueError, match="features, got X of shape"):
        Standardizer().fit(np.zeros((3, 2))).transform(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        Standardizer().fit([[1.0], [np.nan]])
    with pytest.raises(ValueError, match="no samples"):
        Standardizer().fit(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        Standardizer().fit(np.zeros((2, 2, 2)))


# --------------------------------------------------------------------------- shuffled_indices and batches


def test_shuffled_indices():
    order = shuffled_indices(50, seed=3)
    assert sorted(order.tolist()) == list(range(50))
    np.testing.assert_array_equal(order, shuffled_indices(50, 3))
    assert not np.array_equal(order, shuffled_indices(50, 4))
    assert shuffled_indices(0, 0).shape == (0,)
    with pytest.raises(ValueError, match="n must be >= 0"):
        shuffled_indices(-1, 0)


@pytest.mark.parametrize(
    ("n", "batch_size", "sizes"), [(10, 3, [3, 3, 3, 1]), (9, 3, [3, 3, 3]), (2, 5, [2]), (0, 4, [])]
)
@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_cover_every_index_once(n, batch_size, sizes, shuffle):
    chunks = list(batches(n, batch_size, shuffle=shuffle, seed=0))
    assert [len(c) for c in chunks] == sizes
    joined = np.concatenate(chunks) if chunks else np.array([], dtype=int)
    assert sorted(joined.tolist()) == list(range(n))
    if not shuffle:
        assert joined.tolist() == list(range(n))


def test_batches_shuffle_is_deterministic_under_a_seed():
    first = np.concatenate(list(batches(100, 16, shuffle=True, seed=7)))
    again = np.concatenate(list(batches(100, 16, shuffle=True, seed=7)))
    other = np.concatenate(list(batches(100, 16, shuffle=True, seed=8)))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, np.arange(100))
    # One generator shared across epochs: a new order each epoch, repeatable as a whole.
    epochs = [np.concatenate(list(batches(100, 16, shuffle=True, seed=g))) for g in [np.random.default_rng(1)] * 2]
    assert not np.array_equal(epochs[0], epochs[1])
    rng = np.random.default_rng(1)
    np.testing.assert_array_equal(epochs[0], np.concatenate(list(batches(100, 16, shuffle=True, seed=rng))))


def test_batches_validates_eagerly():
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        batches(10, 0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        batches(10, 2.5)
    with pytest.raises(ValueError, match="n must be >= 0"):
        batches(-3, 2)


# --------------------------------------------------------------------------- toy data sets


def test_seed_points():
    X, y = seed_points()
    assert X.shape == (3, 1) and y.shape == (3,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert list(zip(X[:, 0].tolist(), y.tolist())) == [(1.0, 0.0), (2.0, 1.0), (3.0, 1.0)]


def test_xor():
    X, y = xor()
    assert X.shape == (4, 2) and y.shape == (4,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_array_equal(y, np.logical_xor(X[:, 0], X[:, 1]).astype(float))


GENERATORS = [
    (make_moons, {}, 2),
    (make_circles, {}, 2),
    (make_spirals, {}, 2),
    (make_spirals, {"classes": 3}, 3),
]


@pytest.mark.parametrize(("make", "kwargs", "classes"), GENERATORS)
@pytest.mark.parametrize("n_samples", [7, 100, 101])
def test_toy_shapes_and_balance(make, kwargs, classes, n_samples):
    X, y = make(n_samples, noise=0.1, seed=0, **kwargs)
    assert X.shape == (n_samples, 2) and y.shape == (n_samples,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    counts = np.bincount(y.astype(int), minlength=classes)
    assert len(counts) == classes and np.all(y == y.astype(int))
    assert counts.sum() == n_samples and counts.max() - counts.min() <= 1


@pytest.mark.parametrize(("make", "kwargs", "classes"), GENERATORS)
def test_toy_determinism(make, kwargs, classes):
    X1, y1 = make(60, noise=0.2, seed=11, **kwargs)
    X2, y2 = make(60, noise=0.2, seed=11, **kwargs)
    X3, _ = make(60, noise=0.2, seed=12, **kwargs)
    X0, _ = make(60, **kwargs)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    np.testing.assert_array_equal(X0, make(60, seed=99, **kwargs)[0])  # noise=0 ignores the seed
    assert 0.05 < np.std(X1 - X0) < 0.4  # noise of about the requested size was added


def test_make_moons_geometry():
    X, y = make_moons(101)
    outer, inner = X[y == 0], X[y == 1]
    assert len(outer) == 50 and len(inner) == 51
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0)
    assert np.all(outer[:, 1] >= -1e-12)  # upper half circle around (0, 0)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0)
    assert np.all(inner[:, 1] <= 0.5 + 1e-12)  # lower half circle around (1, 0.5)
    np.testing.assert_allclose(outer[[0, -1]], [[1.0, 0.0], [-1.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(inner[[0, -1]], [[0.0, 0.5], [2.0, 0.5]], atol=1e-12)


def test_make_moons_matches_sklearn_geometry():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, y = make_moons(30)
    X_sk, y_sk = sklearn_datasets.make_moons(30, shuffle=False)
    np.testing.assert_allclose(X, X_sk, atol=1e-12)
    np.testing.assert_array_equal(y, y_sk)


def test_make_circles_geometry():
    X, y = make_circles(40, factor=0.3)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)
    assert len(np.unique(X.round(9), axis=0)) == 40  # evenly spaced, no repeated point


def test_make_spirals_geometry():
    X, y = make_spirals(300, classes=3)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.min() >= 0.1 - 1e-12 and radius.max() <= 1.0 + 1e-12
    assert len(np.unique(X.round(9), axis=0)) == 300  # arms never share a point
    # The arms are rotated copies: rotating arm 0 by 2π/3 gives arm 1.
    c, s = np.cos(2 * np.pi / 3), np.sin(2 * np.pi / 3)
    rotated = X[y == 0] @ np.array([[c, s], [-s, c]])
    np.testing.assert_allclose(rotated, X[y == 1], atol=1e-12)


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: make_moons(0), ValueError, "n_samples"),
        (lambda: make_circles(-5), ValueError, "n_samples"),
        (lambda: make_spirals(0), ValueError, "n_samples"),
        (lambda: make_moons(10.0), TypeError, "n_samples"),
        (lambda: make_moons(10, noise=-0.1), ValueError, "noise"),
        (lambda: make_circles(10, factor=1.0), ValueError, "factor"),
        (lambda: make_circles(10, factor=0.0), ValueError, "factor"),
        (lambda: make_circles(10, factor="big"), TypeError, "factor"),
        (lambda: make_spirals(10, classes=1), ValueError, "classes"),
        (lambda: make_spirals(2, classes=3), ValueError, "classes"),
        (lambda: make_moons(10, noise=0.1, seed="x"), TypeError, "seed"),
    ],
)
def test_toy_argument_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


# --------------------------------------------------------------------------- real data sets


def test_load_digits():
    pytest.importorskip("sklearn")
    table = load_digits()
    assert table.X.shape == (1797, 64) and table.y.shape == (1797,)
    assert table.X.dtype == np.float64 and table.y.dtype == np.int64
    assert len(table.feature_names) == 64 and table.target_name == "digit"
    assert set(np.unique(table.y).tolist()) == set(range(10))
    assert table.class_names == tuple(str(k) for k in range(10))


def test_load_iris():
    pytest.importorskip("sklearn")
    table = load_iris()
    assert table.X.shape == (150, 4) and table.y.shape == (150,)
    assert table.X.dtype == np.float64 and table.y.dtype == np.int64
    assert table.feature_names[0] == "sepal length (cm)"
    assert table.class_names == ("setosa", "versicolor", "virginica")
    assert np.bincount(table.y).tolist() == [50, 50, 50]


@pytest.mark.parametrize("loader", [load_digits, load_iris])
def test_real_data_without_sklearn(monkeypatch, loader):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[datasets\]"'):
        loader()


# --------------------------------------------------------------------------- the package surface


def test_public_api_documented_with_examples():
    for name in data.__all__:
        obj = getattr(data, name)
        assert obj.__doc__ and "Example" in obj.__doc__, name
        if inspect.isfunction(obj):
            hints = obj.__annotations__
            assert "return" in hints, name
            assert all(p in hints for p in inspect.signature(obj).parameters), name


@pytest.mark.parametrize(
    "module",
    [
        "chainrule.data",
        "chainrule.data.tables",
        "chainrule.data.split",
        "chainrule.data.standardize",
        "chainrule.data.batching",
        "chainrule.data.toy",
        "chainrule.data.real",
    ],
)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
