"""A corpus of crafted checkpoints, made here: every one raises CheckpointError, quickly, without allocating."""

import io
import json
import struct
import time
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule.io.checkpoint import MAX_DEPTH

MANIFEST = "__chainrule_manifest__"


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def npy_header(shape, descr="<f8", fortran=False) -> bytes:
    """An .npy header that declares ``shape`` (no data behind it)."""
    text = repr({"descr": descr, "fortran_order": fortran, "shape": shape}).encode("latin1")
    text += b" " * (63 - (len(text) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def manifest_bytes(state, fmt="chainrule-checkpoint-1") -> bytes:
    """The manifest member for ``state``; a str is taken as the manifest's JSON text itself."""
    text = state if isinstance(state, str) else json.dumps({"format": fmt, "state": state})
    return npy(np.frombuffer(text.encode(), dtype=np.uint8))


def archive(path, members: dict, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zipped:
        for name, content in members.items():
            zipped.writestr(name, content)
    return path


def crafted(tmp_path):
    """(name, path) pairs of malformed checkpoints."""
    good = {"__dict__": {"w": {"__array__": "a0"}}}
    cases = {}

    def add(name, members, **kwargs):
        cases[name] = archive(tmp_path / f"{name}.npz", members, **kwargs)

    add("array-reference-missing", {f"{MANIFEST}.npy": manifest_bytes({"__array__": "a999"})})
    add("array-reference-to-manifest", {f"{MANIFEST}.npy": manifest_bytes({"__array__": MANIFEST})})
    add("array-reference-int", {f"{MANIFEST}.npy": manifest_bytes({"__array__": 3})})
    add("array-reference-list", {f"{MANIFEST}.npy": manifest_bytes({"__array__": [1]})})
    add("state-missing", {f"{MANIFEST}.npy": npy(np.frombuffer(b'{"format": "chainrule-checkpoint-1"}', np.uint8))})
    add("manifest-a-list", {f"{MANIFEST}.npy": npy(np.frombuffer(b"[1, 2]", np.uint8))})
    add("manifest-not-json", {f"{MANIFEST}.npy": npy(np.frombuffer(b"{nope", np.uint8))})
    add("manifest-not-utf8", {f"{MANIFEST}.npy": npy(np.frombuffer(b"\xff\xfe", np.uint8))})
    add("manifest-floats", {f"{MANIFEST}.npy": npy(np.zeros(4))})
    add("manifest-missing", {"a0.npy": npy(np.ones(2))})
    add("dict-a-list", {f"{MANIFEST}.npy": manifest_bytes({"__dict__": [1, 2]})})
    add("list-an-int", {f"{MANIFEST}.npy": manifest_bytes({"__list__": 3, "tuple": False})})
    add("list-without-flag", {f"{MANIFEST}.npy": manifest_bytes({"__list__": []})})
    add("bare-list", {f"{MANIFEST}.npy": manifest_bytes([1, 2])})
    add("unknown-tag", {f"{MANIFEST}.npy": manifest_bytes({"__pickle__": "x"})})
    add("scalar-bad-dtype", {f"{MANIFEST}.npy": manifest_bytes({"__scalar__": 1, "dtype": "no-such-dtype"})})
    add("scalar-object-dtype", {f"{MANIFEST}.npy": manifest_bytes({"__scalar__": 1, "dtype": "O"})})
    add("scalar-void-dtype", {f"{MANIFEST}.npy": manifest_bytes({"__scalar__": 1, "dtype": "V8"})})
    add("scalar-datetime", {f"{MANIFEST}.npy": manifest_bytes({"__scalar__": 1, "dtype": "<M8[D]"})})
    add("scalar-overflow", {f"{MANIFEST}.npy": manifest_bytes({"__scalar__": 10 ** 30, "dtype": "<i4"})})
    add("scalar-list-value", {f"{MANIFEST}.npy": manifest_bytes({"__scalar__": [1], "dtype": "<f8"})})
    deep = '{"__list__": [' * 5000 + "1" + '], "tuple": false}' * 5000
    add("deep-5000", {f"{MANIFEST}.npy": manifest_bytes('{"format": "chainrule-checkpoint-1", "state": ' + deep + "}")})
    add("many-entries", {f"{MANIFEST}.npy": manifest_bytes(
        '{"format": "chainrule-checkpoint-1", "state": {"__list__": [' + ",".join(["0"] * 1_000_001)
        + '], "tuple": false}}')})
    add("duplicate-member", {f"{MANIFEST}.npy": manifest_bytes(good), "a0.npy": npy(np.ones(1)),
                             "a0.npy ": npy(np.ones(1))})
    add("empty-archive", {})
    nested = "[" * 100_000 + "]" * 100_000
    add("deep-json-100000", {f"{MANIFEST}.npy": manifest_bytes(
        '{"format": "chainrule-checkpoint-1", "state": ' + nested + "}")})
    moderate = 1
    for _ in range(MAX_DEPTH + 5):
        moderate = {"__list__": [moderate], "tuple": False}
    add("deep-beyond-limit", {f"{MANIFEST}.npy": manifest_bytes(moderate)})
    add("huge-declared-shape", {f"{MANIFEST}.npy": manifest_bytes(good), "a0.npy": npy_header((10 ** 12,))})
    add("shape-bytes-mismatch", {f"{MANIFEST}.npy": manifest_bytes(good),
                                 "a0.npy": npy_header((100,)) + b"\0" * 80})
    add("negative-shape", {f"{MANIFEST}.npy": manifest_bytes(good), "a0.npy": npy_header((-1,))})
    add("object-array", {f"{MANIFEST}.npy": manifest_bytes(good), "a0.npy": npy_header((1,), "|O") + b"\0" * 8})
    add("structured-array", {f"{MANIFEST}.npy": manifest_bytes(good),
                             "a0.npy": npy_header((1,), [("a", "<f8")]) + b"\0" * 8})
    add("string-array", {f"{MANIFEST}.npy": manifest_bytes(good), "a0.npy": npy(np.array(["abc"]))})
    add("garbage-header", {f"{MANIFEST}.npy": manifest_bytes(good),
                           "a0.npy": b"\x93NUMPY\x01\x00\x10\x00{junk junk junk}"})
    add("not-npy-member", {f"{MANIFEST}.npy": manifest_bytes(good), "readme.txt": b"hello"})
    add("wrong-format", {f"{MANIFEST}.npy": manifest_bytes(1, fmt="something-else")})
    add("format-a-list", {f"{MANIFEST}.npy": npy(np.frombuffer(b'{"format": [1], "state": 1}', np.uint8))})
    (tmp_path / "text.npz").write_text("ok\n")
    cases["three-bytes-of-text"] = tmp_path / "text.npz"
    cases["directory"] = tmp_path
    good_file = cr.save({"w": np.arange(1000.0)}, tmp_path / "good.npz")
    content = good_file.read_bytes()
    flipped = bytearray(content)
    flipped[len(content) // 3] ^= 0xFF
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    cases["flipped-byte"] = tmp_path / "flipped.npz"
    return cases


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return crafted(tmp_path_factory.mktemp("crafted"))


def test_every_crafted_checkpoint_raises_checkpoint_error_quickly(corpus):
    assert len(corpus) >= 40
    for name, path in corpus.items():
        start = time.perf_counter()
        with pytest.raises(cr.CheckpointError) as error:
            cr.load(path)
        elapsed = time.perf_counter() - start
        assert str(path) in str(error.value) or name == "directory", (name, error.value)
        assert elapsed < 5, (name, elapsed)  # a generous bound: the point is no 1.9 GB read, no hang


def test_a_decompression_bomb_is_refused_before_it_is_inflated(tmp_path):
    bomb = tmp_path / "bomb.npz"
    zeros = np.zeros(4 << 20)  # 32 MiB of zeros deflate to about 32 KiB
    archive(bomb, {f"{MANIFEST}.npy": manifest_bytes({"__array__": "a0"}), "a0.npy": npy(zeros)},
            compression=zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 100_000
    with pytest.raises(cr.CheckpointError, match="more than the limit"):
        cr.load(bomb, max_bytes=1 << 20)
    assert cr.load(bomb)[:3].tolist() == [0.0, 0.0, 0.0]  # under the default cap it is an ordinary file


def test_an_oversized_manifest_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    from chainrule.io import checkpoint

    path = cr.save({"names": ["x" * 1000] * 10}, tmp_path / "big.npz")
    monkeypatch.setattr(checkpoint, "MAX_MANIFEST_BYTES", 5000)
    with pytest.raises(cr.CheckpointError, match="manifest of"):
        cr.load(path)


def test_the_size_cap_can_be_raised_for_a_file_you_trust(tmp_path):
    path = cr.save({"w": np.ones(1000)}, tmp_path / "w.npz")
    with pytest.raises(cr.CheckpointError, match="max_bytes"):
        cr.load(path, max_bytes=4000)
    assert cr.load(path, max_bytes=None)["w"].shape == (1000,)
    assert cr.load(path, max_bytes=10_000)["w"].sum() == 1000


def test_loaded_arrays_are_writable_and_keep_order_and_dtype(tmp_path):
    state = {"f": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "i": np.arange(4, dtype=">i4"),
             "c": np.array([1 + 2j]), "e": np.zeros((0, 3)), "s": np.float32(1.5), "b": np.bool_(True)}
    loaded = cr.load(cr.save(state, tmp_path / "x.npz"))
    for key, value in state.items():
        assert np.array_equal(loaded[key], value) and np.asarray(loaded[key]).dtype == np.asarray(value).dtype, key
    loaded["f"][0, 0] = 9.0  # a training run updates loaded parameters in place


def test_save_refuses_what_load_would_refuse(tmp_path):
    looped = {}
    looped["self"] = looped
    with pytest.raises(TypeError, match="nested"):
        cr.save(looped, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="scalar"):
        cr.save({"when": np.datetime64("2024-01-01")}, tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()
