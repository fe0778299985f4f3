"""chainrule.data's Dataset, DataLoader, random_split and IDX reader, against PyTorch's behaviour."""

from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import (
    DataLoader,
    Dataset,
    IDXError,
    Subset,
    TensorDataset,
    default_collate,
    load_mnist,
    random_split,
    read_idx,
    write_idx,
)

torch = pytest.importorskip("torch")
FIXTURES = Path(__file__).parent / "fixtures" / "idx"


def dataset(n=10):
    return TensorDataset(np.arange(2.0 * n).reshape(n, 2), np.arange(n))


def seen(loader) -> list[int]:
    return [int(i) for _, y in loader for i in y.numpy()]


# -- DataLoader: every sample once per epoch, reproducibly --------------------------------------------


@pytest.mark.parametrize("n, batch_size", [(10, 3), (10, 5), (1, 4), (7, 1)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_each_sample_once_per_epoch(n, batch_size, shuffle):
    loader = DataLoader(dataset(n), batch_size=batch_size, shuffle=shuffle, generator=0)
    for _ in range(3):
        order = seen(loader)
        assert sorted(order) == list(range(n))
        assert [len(y) for _, y in loader] == [min(batch_size, n - s) for s in range(0, n, batch_size)]
    assert len(loader) == -(-n // batch_size)
    if not shuffle:
        assert seen(loader) == list(range(n))


def test_rows_stay_paired_with_their_targets():
    for x, y in DataLoader(dataset(9), batch_size=4, shuffle=True, generator=1):
        np.testing.assert_array_equal(x.numpy(), np.stack([2.0 * y.numpy(), 2.0 * y.numpy() + 1], axis=1))


def test_shuffle_is_reproducible_with_a_generator_and_new_each_epoch():
    first = DataLoader(dataset(20), batch_size=6, shuffle=True, generator=np.random.default_rng(7))
    second = DataLoader(dataset(20), batch_size=6, shuffle=True, generator=np.random.default_rng(7))
    epochs = [seen(first) for _ in range(3)]
    assert epochs == [seen(second) for _ in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]
    assert epochs[0] != list(range(20))


def test_drop_last_leaves_out_the_short_batch():
    loader = DataLoader(dataset(10), batch_size=4, drop_last=True, shuffle=True, generator=0)
    assert len(loader) == 2 and [len(y) for _, y in loader] == [4, 4]
    assert len(set(seen(loader))) == 8


def test_batches_match_torch_dataloader_without_shuffle():
    X, y = np.random.default_rng(0).normal(size=(11, 3)), np.arange(11)
    ours = list(DataLoader(TensorDataset(X, y), batch_size=4))
    theirs = list(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(X),
                                                                             torch.from_numpy(y)), batch_size=4))
    assert len(ours) == len(theirs)
    for (xa, ya), (xb, yb) in zip(ours, theirs):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
        assert xa.dtype == np.float64 and ya.dtype == np.int64


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], dtype=np.float32), "y": i, "name": f"s{i}"}


def test_custom_dataset_with_dict_samples_and_a_sampler():
    loader = DataLoader(Squares(), batch_size=2, sampler=[4, 0, 2])
    batches = list(loader)
    assert len(loader) == 2 and len(batches) == 2
    np.testing.assert_array_equal(batches[0]["x"].numpy(), [[4, 16], [0, 0]])
    assert batches[0]["x"].dtype == np.float32 and batches[0]["y"].numpy().tolist() == [4, 0]
    assert batches[1]["name"] == ["s2"]


def test_collate_fn_and_batch_size_none():
    loader = DataLoader(Squares(), batch_size=2, collate_fn=lambda samples: [s["y"] for s in samples])
    assert list(loader) == [[0, 1], [2, 3], [4]]
    single = list(DataLoader(Squares(), batch_size=None))
    assert len(single) == 5 and isinstance(single[3]["x"], cr.Tensor) and single[3]["y"] == 3


def test_batch_sampler_chooses_the_batches():
    loader = DataLoader(dataset(6), batch_sampler=[[5, 1], [0, 2, 3]])
    assert [y.numpy().tolist() for _, y in loader] == [[5, 1], [0, 2, 3]] and len(loader) == 2


Point = namedtuple("Point", "x y")


@pytest.mark.parametrize("batch", [
    [1.5, 2.5], [1, 2], [True, False], ["a", "b"], [np.float32(1.0), np.float32(2.0)],
    [(1.0, 2), (3.0, 4)], [[1.0, 2], [3.0, 4]], [{"a": 1, "b": (2.0, "s")}, {"a": 3, "b": (4.0, "t")}],
    [np.arange(3), np.arange(3, 6)], [Point(1.0, 2), Point(3.0, 4)],
])
def test_default_collate_matches_torch(batch):
    def plain(value):
        if isinstance(value, (cr.Tensor, torch.Tensor)):
            array = value.numpy()
            return ("tensor", str(array.dtype), array.tolist())
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return (type(value).__name__, [plain(v) for v in value])
        if isinstance(value, (list, tuple)):
            return (type(value).__name__, [plain(v) for v in value])
        return value

    assert plain(default_collate(batch)) == plain(torch.utils.data.default_collate(batch))


def test_loader_errors_are_clear():
    with pytest.raises(ValueError, match="batch_size must be an integer"):
        DataLoader(dataset(), batch_size=0)
    with pytest.raises(ValueError, match="not both"):
        DataLoader(dataset(), sampler=[0], shuffle=True)
    with pytest.raises(TypeError, match="map-style"):
        DataLoader(42)
    with pytest.raises(ValueError, match="different first dimensions"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="worker_init_fn"):
        DataLoader(dataset(), worker_init_fn=print)


def test_num_workers_and_pin_memory_are_accepted_and_change_nothing():
    plain = seen(DataLoader(dataset(), batch_size=3, shuffle=True, generator=3))
    assert seen(DataLoader(dataset(), batch_size=3, shuffle=True, generator=3, num_workers=2, pin_memory=True,
                           persistent_workers=True)) == plain


# -- random_split -------------------------------------------------------------------------------------


def test_random_split_covers_the_data_set_without_overlap_reproducibly():
    parts = random_split(dataset(10), [6, 3, 1], generator=0)
    assert [len(p) for p in parts] == [6, 3, 1]
    indices = [i for p in parts for i in p.indices]
    assert sorted(indices) == list(range(10))
    assert [p.indices for p in random_split(dataset(10), [6, 3, 1], generator=0)] == [p.indices for p in parts]
    assert isinstance(parts[0], Subset) and int(parts[0][0][1]) == parts[0].indices[0]


@pytest.mark.parametrize("n, fractions", [(10, [0.8, 0.2]), (11, [0.5, 0.5]), (7, [0.3, 0.3, 0.4]), (5, [0.25, 0.75])])
def test_random_split_fractions_give_torchs_lengths(n, fractions):
    ours = [len(p) for p in random_split(dataset(n), fractions, generator=0)]
    theirs = [len(p) for p in torch.utils.data.random_split(range(n), fractions)]
    assert ours == theirs and sum(ours) == n


def test_random_split_refuses_bad_lengths():
    with pytest.raises(ValueError, match="sum to 9"):
        random_split(dataset(10), [5, 4])
    with pytest.raises(ValueError, match="not 1"):
        random_split(dataset(10), [0.5, 0.4])


def test_a_subset_loads_in_batches():
    train, _ = random_split(dataset(10), [7, 3], generator=2)
    got = seen(DataLoader(train, batch_size=3))
    assert got == train.indices


# -- IDX (MNIST) files --------------------------------------------------------------------------------


def test_read_idx_reads_the_gzipped_fixture():
    images = read_idx(FIXTURES / "t10k-images-idx3-ubyte.gz")
    assert images.shape == (3, 4, 5) and images.dtype == np.uint8
    k, i, j = np.indices((3, 4, 5))
    np.testing.assert_array_equal(images, (k * 20 + i * 5 + j) * 3 % 256)


def test_read_idx_reads_a_float_file():
    array = read_idx(FIXTURES / "floats-idx2-float.idx")
    assert array.dtype == np.float32 and array.dtype.isnative
    np.testing.assert_array_equal(array, [[1.5, -2.0], [0.25, 3.0]])


def test_load_mnist_finds_the_standard_names():
    images, labels = load_mnist(FIXTURES, train=False)
    assert images.shape == (3, 4, 5) and labels.tolist() == [7, 2, 1]
    with pytest.raises(IDXError, match="train-images-idx3-ubyte"):
        load_mnist(FIXTURES, train=True)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_write_idx_round_trips(tmp_path, dtype, name):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_read_idx_refuses_damaged_files(tmp_path):
    whole = (FIXTURES / "t10k-labels-idx1-ubyte").read_bytes()
    cases = {"short": (whole[:-1], "declares shape \\(3,\\)"), "foreign": (b"PK\x03\x04xxxx", "not an IDX file"),
             "code": (b"\x00\x00\x07\x01" + whole[4:], "unknown type code 0x07"),
             "header": (b"\x00\x00\x08\x03\x00", "truncated in its header"),
             "gzip": (b"\x1f\x8b\x08\x00garbage", "damaged gzip")}
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(IDXError, match=message):
            read_idx(tmp_path / name)
    with pytest.raises(IDXError, match="does not exist"):
        read_idx(tmp_path / "missing")


@pytest.mark.parametrize("module", ["chainrule.data.datasets", "chainrule.data.loader", "chainrule.data.idx"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
