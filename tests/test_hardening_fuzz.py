"""Fuzzing the command line: argument vectors, TOML problem files and CSV files, run in-process.

Every run must end with status 0, 1 or 2, print no traceback and no "internal error", and write
nothing outside its temporary folder. The examples are bounded (small data, few epochs,
--max-updates) so that the whole file runs in well under a minute.
"""

import contextlib
import io
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule.cli import main

# CHAINRULE_FUZZ_EXAMPLES=500 explores further, with fresh random examples each time.
EXPLORE = os.environ.get("CHAINRULE_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(EXPLORE or 60), deadline=None, derandomize=not EXPLORE, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
REPOSITORY = Path(__file__).resolve().parent.parent

# Mostly sensible values, so that runs get past validation into the work; now and then a hostile one.
sensible = st.sampled_from(["0", "1", "2", "0.1", "0.5", "0.01", "3", "0.25"])
hostile = st.sampled_from(["-1", "1e308", "-1e-320", "nan", "inf", "-inf", "1e999", "0x10", "", " ", "3.5", "1_000",
                           "2,3", "abc", "é", "\x00", "99999999999999999999", "-0"])
numbers = st.one_of(sensible, sensible, sensible, hostile)
names = st.sampled_from(["example1", "example2", "example3", "xor", "moons", "seed", "circles", "nope",
                         "problem.toml", "data.csv", "missing.toml", ".", "..", "/", "", "-", "w*x", "sigmoid(w*x)",
                         "w", "(w)", "exp(w,w)", "w**9**9", "a" * 300, "w+" * 40 + "w", "sub/x.toml", "link.toml"])
GOOD_NAMES = {"train": st.sampled_from(["xor", "moons", "problem.toml", "data.csv", "link.toml"]),
              "explain": st.sampled_from(["example1", "example2", "example3", "w*x", "sigmoid(w*x + b)"]),
              "worksheet": st.sampled_from(["example1", "example2", "example3"]),
              "check": st.sampled_from(["answers.toml", "problem.toml"])}
outputs = st.sampled_from(["out.txt", "out.png", "out.html", "", "sub", "sub/x.txt", "nofolder/x.txt", "link.txt",
                           "fifo", "/dev/null", "out.npz", "data.csv/x"])

EXPLAIN_FLAGS = {"--format": st.sampled_from(["text", "markdown", "json", "dot", "html", "bogus"]),
                 "--precision": numbers, "--steps": st.sampled_from(["1", "2", "0", "1000000", "x"]),
                 "--set": st.lists(st.sampled_from(["w=1", "x=2", "b=0.5", "w", "=3", "w=nan", "y=1", "w=1e308"]),
                                   min_size=1, max_size=3),
                 "--target": numbers, "--loss": st.sampled_from(["mse", "bce", "hinge", "none", "bogus"]),
                 "--lr": numbers, "--optimizer": st.sampled_from(["sgd", "adam", "momentum", "x"]),
                 "--params": st.sampled_from(["w", "w,b", "zz", "", ","]), "--output": outputs,
                 "--detail": st.sampled_from(["auto", "elements", "summary"]), "--exact": None,
                 "--color": st.sampled_from(["never", "always"])}
TRAIN_FLAGS = {"--sizes": st.sampled_from(["2,4,1", "2,3,3,2", "1,1", "2,0,1", "abc", "2", "2,100000,100000,1",
                                           "2,16,1", "64,4,10"]),
               "--activation": st.sampled_from(["relu", "tanh", "sigmoid", "softmax", "x"]),
               "--output": st.sampled_from(["identity", "sigmoid", "softmax", "x"]),
               "--loss": st.sampled_from(["mse", "bce", "bce_with_logits", "cross_entropy", "hinge", "l1", "x"]),
               "--optimizer": st.sampled_from(["sgd", "momentum", "adam", "adamw", "rmsprop", "x"]),
               "--lr": numbers, "--momentum": numbers, "--weight-decay": numbers,
               "--mode": st.sampled_from(["batch", "stochastic", "minibatch", "mini-batch", "x"]),
               "--batch-size": numbers, "--epochs": st.sampled_from(["1", "2", "3", "0", "-1", "x", "99999999"]),
               "--seed": numbers, "--shuffle": None, "--no-shuffle": None, "--early-stopping": numbers,
               "--target": st.sampled_from(["0", "1", "-1", "label", "x", "99"]), "--delimiter": st.sampled_from(
                   [",", ";", "\t", "", "ab"]), "--test-size": numbers, "--standardize": None,
               "--samples": st.sampled_from(["10", "40", "0", "-5", "100000000", "x"]), "--noise": numbers,
               "--save": outputs, "--checkpoint-every": st.sampled_from(["1", "2", "0", "x"]),
               "--resume": st.sampled_from(["saved.npz", "problem.toml", "missing.npz", "data.csv", ""]),
               "--compare-modes": None, "--max-updates": st.sampled_from(["200", "1", "0"])}


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(["explain", "train", "worksheet", "check", "examples", "bogus"]))
    argv = [command]
    if command in ("explain", "train", "worksheet", "check"):
        argv.append(draw(st.one_of(GOOD_NAMES[command], GOOD_NAMES[command], names)))
    flags = {"explain": EXPLAIN_FLAGS, "train": TRAIN_FLAGS, "worksheet": {
        "--format": st.sampled_from(["markdown", "html", "x"]), "--output": outputs, "--solution": outputs,
        "--answers": outputs, "--precision": numbers}}.get(command, {})
    for flag in draw(st.lists(st.sampled_from(sorted(flags)), max_size=4, unique=True)) if flags else []:
        argv.append(flag)
        value = flags[flag]
        if value is not None:
            drawn = draw(value)
            argv.extend(drawn if isinstance(drawn, list) else [drawn])
    if command == "train":  # bounded: a handful of updates on small data, whatever else was drawn
        argv += ["--no-progress", "--max-updates", "300", "--max-samples", "400"]
    return argv


def _prepare(folder: Path) -> None:
    (folder / "sub").mkdir()
    (folder / "problem.toml").write_text('[data]\ntoy = "xor"\n[training]\nepochs = 2\n')
    (folder / "data.csv").write_text("a,b,label\n0,1,0\n1,0,1\n1,1,0\n0,0,1\n")
    (folder / "link.txt").symlink_to("target.txt")
    (folder / "link.toml").symlink_to("problem.toml")
    os.mkfifo(folder / "fifo")
    (folder / "answers.toml").write_text('problem = "example1"\n[answers]\n"z" = 0.5\n')
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["train", "xor", "--epochs", "2", "--no-progress", "--save", str(folder / "saved.npz")])


# Each example's folder lies in this private one, so that a write beside it ("../x") shows.
ROOT = Path(tempfile.mkdtemp(prefix="chainrule-fuzz-"))


def _snapshot() -> set:
    """What lies beside the example's folder and in the repository: it must not change."""
    return {str(p) for p in ROOT.rglob("*")} | {str(p) for p in REPOSITORY.iterdir()}


def run_in_temporary_folder(argv, prepare=_prepare):
    before = _snapshot()
    with tempfile.TemporaryDirectory(dir=ROOT) as folder:
        prepare(Path(folder))
        previous = os.getcwd()
        out, err = io.StringIO(), io.StringIO()
        os.chdir(folder)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    status = main(argv)
                except SystemExit as exit:  # argparse: bad usage (2) or --help (0)
                    status = exit.code
        finally:
            os.chdir(previous)
        leftovers = [p.name for p in Path(folder).rglob("*chainrule-tmp*")]
    after = _snapshot()
    assert after == before, (argv, after ^ before)
    return status, err.getvalue(), leftovers


def check(argv, status, err, leftovers):
    assert status in (0, 1, 2), (argv, status, err)
    assert "Traceback" not in err, (argv, err)
    assert "internal error" not in err and "--debug shows" not in err, (argv, err)  # no exception unforeseen
    assert not leftovers, (argv, leftovers)
    errors = [line for line in err.splitlines() if line.startswith("chainrule: error")]
    assert len(errors) <= 1, (argv, err)
    if status == 2 and errors:
        assert err.strip().splitlines()[-1].startswith("chainrule: error: "), (argv, err)


@FUZZ
@given(command_lines())
def test_command_lines(argv):
    check(argv, *run_in_temporary_folder(argv))


TOML_KEYS = {
    "data": ["toy", "csv", "target", "delimiter", "samples", "noise", "factor", "classes", "seed", "test_size",
             "standardize", "x", "y", "inputs"],
    "model": ["sizes", "activation", "output", "seed", "kind", "weights", "bias", "expression", "parameters"],
    "training": ["loss", "optimizer", "lr", "momentum", "weight_decay", "mode", "batch_size", "epochs", "seed",
                 "shuffle", "early_stopping", "min_delta", "steps"],
}
toml_values = st.one_of(
    st.integers(-3, 40), st.sampled_from([0.0, 0.5, -1.5, 1e308, 1e-320]), st.booleans(),
    st.sampled_from(['"xor"', '"moons"', '"seed"', '"relu"', '"sigmoid"', '"mse"', '"bce"', '"adam"', '"batch"',
                     '"stochastic"', '"data.csv"', '"w*x"', '"neuron"', '"mlp"', '"expression"', '""', "nan", "inf",
                     '"../../etc/passwd"']),
    st.lists(st.integers(-1, 6), max_size=4).map(str),
    st.lists(st.sampled_from([0.0, 1.0, -0.5]), max_size=3).map(str),
    st.just("{ w = 0.5, b = 0.1 }"), st.just("[[1.0, 2.0], [0.5, 0.5]]"), st.just('{ x = 1.0 }'),
)


TOML_BASES = {
    "train": {"data": {"toy": '"xor"'}, "model": {"sizes": "[2, 4, 1]"}, "training": {"epochs": "2"}},
    "explain": {"model": {"kind": '"neuron"', "weights": "[0.5]", "bias": "0.0", "activation": '"sigmoid"'},
                "data": {"x": "[1.0]", "y": "0.0"}, "training": {"lr": "0.1"}},
}


@st.composite
def toml_documents(draw):
    """A valid problem file (for train or explain) with a few keys changed, added or removed."""
    tables = {name: dict(table) for name, table in TOML_BASES[draw(st.sampled_from(sorted(TOML_BASES)))].items()}
    for _ in range(draw(st.integers(0, 3))):
        table = draw(st.sampled_from(sorted(TOML_KEYS) + ["extra", "display"]))
        key = draw(st.sampled_from(TOML_KEYS.get(table, ["key", "precision"])))
        if draw(st.integers(0, 4)) == 0:
            tables.get(table, {}).pop(key, None)
        else:
            value = draw(toml_values)
            tables.setdefault(table, {})[key] = str(value).lower() if isinstance(value, bool) else str(value)
    lines = ['title = "fuzz"'] if draw(st.booleans()) else []
    for table, entries in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {value}" for key, value in entries.items()]
    text = "\n".join(lines) + "\n"
    if draw(st.integers(0, 9)) == 0:  # now and then, damage it
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["=", "[", "\ufeff", "\x00", '"', "\n[data]\n"])) + text[cut:]
    return text


@FUZZ
@given(toml_documents(), st.sampled_from(["train", "explain", "worksheet"]))
def test_toml_documents(text, command):
    def prepare(folder):
        _prepare(folder)
        (folder / "fuzz.toml").write_text(text, encoding="utf-8", errors="surrogatepass")

    argv = [command, "fuzz.toml"] + (["--no-progress", "--max-updates", "300", "--max-samples", "400"]
                                     if command == "train" else [])
    check(argv, *run_in_temporary_folder(argv, prepare))


cells = st.one_of(st.integers(-2, 3).map(str), st.sampled_from(["0.5", "1e400", "nan", "inf", "", " ", "x", "1,5",
                                                                '"2"', "é", "-", "1e-320", "1_0", "\x00"]))


@st.composite
def csv_documents(draw):
    columns = draw(st.integers(1, 4))
    header = draw(st.lists(st.sampled_from(["a", "b", "label", "", "a", "é", "x" * 40]), min_size=columns,
                           max_size=columns))
    rows = draw(st.lists(st.lists(cells, min_size=columns - 1 if draw(st.booleans()) else columns,
                                  max_size=columns + (1 if draw(st.integers(0, 5)) == 0 else 0)), max_size=12))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    bom = "\ufeff" if draw(st.booleans()) else ""
    return bom + end.join(delimiter.join(row) for row in [header, *rows]) + end, delimiter


@FUZZ
@given(csv_documents(), st.lists(st.sampled_from(["--target", "label", "--loss", "mse", "--test-size", "0.5",
                                                  "--standardize", "--mode", "stochastic"]), max_size=4))
def test_csv_documents(document, extra):
    text, delimiter = document

    def prepare(folder):
        _prepare(folder)
        (folder / "fuzz.csv").write_text(text, encoding="utf-8", newline="")

    argv = ["train", "fuzz.csv", "--delimiter", delimiter, "--epochs", "2", "--no-progress", "--max-updates", "300",
            *extra]
    check(argv, *run_in_temporary_folder(argv, prepare))
