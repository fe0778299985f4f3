"""The safe writer: every file chainrule writes goes through ``chainrule.io.write_file``."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import UnsafeTarget, check_target, write_bytes, write_file
from chainrule.io.writer import temporary_files
from cli_helpers import one_line, run_cli


def test_a_symlink_keeps_being_a_link_and_its_target_is_replaced(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to("target.txt")
    write_bytes(link, b"new")
    assert link.is_symlink() and os.readlink(link) == "target.txt"
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "target.txt"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.npz"
    link.symlink_to(tmp_path / "made.npz")
    cr.save({"a": 1}, link)
    assert link.is_symlink() and cr.load(tmp_path / "made.npz") == {"a": 1}


def test_fifo_directory_and_device_are_refused_and_left_alone(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path in (fifo, tmp_path, "/dev/null"):
        with pytest.raises(UnsafeTarget):
            write_bytes(path, b"x")
        with pytest.raises(UnsafeTarget):
            check_target(path)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_device_is_never_replaced_even_by_the_cli(capsys, tmp_path):
    status, _, err = run_cli(capsys, "explain", "example1", "-o", "/dev/null")
    assert status == 2
    one_line(err, "/dev/null", "device")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    status, _, err = run_cli(capsys, "train", "xor", "--epochs", "1", "--no-progress", "--save", "/dev/null")
    assert status == 2 and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    one_line(err, "--save /dev/null", "device")


def test_modes_existing_kept_new_from_the_umask(tmp_path):
    existing = tmp_path / "existing.npz"
    existing.write_bytes(b"")
    os.chmod(existing, 0o640)
    cr.save({"a": 1}, existing)
    assert stat.S_IMODE(os.stat(existing).st_mode) == 0o640
    old = os.umask(0o027)
    try:
        write_bytes(tmp_path / "new.txt", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.txt").st_mode) == 0o640
    old = os.umask(0o022)
    try:
        cr.save({"a": 1}, tmp_path / "new.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o644


def test_the_temporary_file_goes_on_every_failure(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"before")

    def fail(file):
        file.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_file(path, fail)
    assert path.read_bytes() == b"before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_leftovers_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    path = tmp_path / "model.npz"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    leftover = tmp_path / f".model.npz.chainrule-tmp-{dead_pid}-0"
    leftover.write_bytes(b"half a checkpoint")
    live = tmp_path / f".model.npz.chainrule-tmp-{os.getppid()}-0"  # a writer that is still running
    live.write_bytes(b"in progress")
    other = tmp_path / f".other.npz.chainrule-tmp-{dead_pid}-0"  # another target's: not ours to judge
    other.write_bytes(b"x")
    cr.save({"a": 1}, path)
    assert not leftover.exists() and live.exists() and other.exists()
    assert temporary_files(path) == [live]


def test_paths_that_cannot_be_written_are_one_line(capsys, tmp_path):
    (tmp_path / "afile").write_text("x")
    cases = [
        (str(tmp_path / "afile" / "x.txt"), "Not a directory"),
        ("", "empty"),
        (str(tmp_path / "nodir" / "x.txt"), "does not exist"),
        (str(tmp_path), "directory"),
    ]
    for path, fragment in cases:
        status, _, err = run_cli(capsys, "explain", "example1", "-o", path)
        assert status == 2, (path, err)
        one_line(err, fragment)
        status, _, err = run_cli(capsys, "train", "xor", "--epochs", "1", "--no-progress", "--save", path)
        assert status == 2, (path, err)
        one_line(err, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def as_nobody(*argv, cwd="/"):
    """Run the command as user nobody (everything is imported first, while still root: nobody cannot
    read root's Python installation)."""
    code = ("import contextlib, io, os, sys, numpy.ma; from chainrule.cli import main\n"
            "import chainrule.train, chainrule.data, chainrule.io\n"
            "from chainrule.cli import train_cmd, train_problem, train_data, train_model, train_report\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(['explain', 'example1'])\n"
            "os.setgid(65534); os.setuid(65534); sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-c", code, *map(str, argv)], capture_output=True, text=True, env=env,
                          cwd=cwd)


@pytest.fixture
def shared_folder():
    """A folder in /tmp that user nobody can reach (pytest's own tmp_path is private to root)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="chainrule-shared-"))
    os.chmod(folder, 0o777)
    yield folder
    shutil.rmtree(folder)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to another user")


@needs_root
def test_an_unsearchable_directory_is_one_line(shared_folder):
    locked = shared_folder / "locked"
    locked.mkdir(mode=0o700)
    result = as_nobody("explain", "example1", "-o", locked / "x.txt")
    assert result.returncode == 2, result.stderr
    one_line(result.stderr, "Permission denied")


@needs_root
def test_a_read_only_file_is_not_replaced_even_in_a_writable_folder(shared_folder):
    protected = shared_folder / "protected.txt"
    protected.write_text("keep me")
    os.chmod(protected, 0o444)
    result = as_nobody("explain", "example1", "-o", protected)
    assert result.returncode == 2, result.stderr
    one_line(result.stderr, "Permission denied", "read-only")
    assert protected.read_text() == "keep me"
    result = as_nobody("train", "xor", "--epochs", "1", "--no-progress", "--save", shared_folder / "m.npz")
    assert result.returncode == 0, result.stderr  # and a new file in that folder is fine
    assert sorted(p.name for p in shared_folder.iterdir()) == ["m.npz", "protected.txt"]


def test_a_long_file_name_gets_a_temporary_name_that_fits(tmp_path):
    name = "n" * 250 + ".npz"
    cr.save({"a": 1}, tmp_path / name)
    cr.save({"a": 2}, tmp_path / name)
    assert cr.load(tmp_path / name) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_plots_go_through_the_writer(tmp_path):
    pytest.importorskip("matplotlib")
    history = cr.train.History(mode="batch", step_loss=[1.0, 0.5], epoch_loss=[1.0, 0.5])
    link = tmp_path / "loss.png"
    link.symlink_to("real.png")
    history.plot(link)
    assert link.is_symlink() and (tmp_path / "real.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(UnsafeTarget):
        history.plot("/dev/null")


def test_a_checkpoint_written_over_a_symlink_loads(tmp_path):
    (tmp_path / "runs").mkdir()
    link = tmp_path / "latest.npz"
    link.symlink_to(tmp_path / "runs" / "run1.npz")
    cr.save({"w": np.arange(3.0)}, link)
    assert np.array_equal(cr.load(link)["w"], np.arange(3.0))


def test_a_pipe_named_through_proc_is_refused(tmp_path):
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(UnsafeTarget, match="FIFO"):
            write_bytes(f"/proc/self/fd/{write_end}", b"x")
    finally:
        os.close(read_end), os.close(write_end)


def test_a_link_into_a_missing_folder_names_that_folder(tmp_path):
    link = tmp_path / "out.npz"
    link.symlink_to(tmp_path / "nowhere" / "x.npz")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        cr.save({"a": 1}, link)
