"""The one way chainrule writes a file: atomically, and only over a regular file.

``write_file(path, fill)`` opens a temporary file in the target's directory,
lets ``fill(file)`` write into it, flushes it to disk and renames it over the
target, so a reader sees the old file or the new one, never half of one.

What it takes care of, because every output path is named by a user:

* a symbolic link is followed: its target is replaced, and the link stays;
* only a regular file is ever replaced: a directory, a FIFO, a socket or a
  device (``/dev/full``, even as root) is refused with ``UnsafeTarget``;
* an existing file keeps its permission bits (and, for root, its owner); a new
  file gets the mode the umask gives, as ``open(path, "w")`` would;
* the temporary file is removed on every failure, Ctrl-C included; its name
  carries the writer's process id, so the next write to the same target
  removes what a killed writer (``kill -9``) left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["write_file", "write_bytes", "check_target", "UnsafeTarget", "temporary_files"]

# ".NAME.chainrule-tmp-PID-COUNTER": hidden, and tied to the process that made it.
_MARK = ".chainrule-tmp-"
_counter = iter(range(1 << 62))


class UnsafeTarget(OSError):
    """The path names something that is not a regular file, or no file at all."""


def _target_of(path) -> Path:
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if text == "" or text.strip() == "":
        raise UnsafeTarget(errno.EINVAL, "the file name is empty", text)
    if text.endswith(("/", os.sep)):
        raise UnsafeTarget(errno.EISDIR, "names a directory, not a file", text)
    # realpath follows every link (and leaves a dangling link's target to be created).
    return Path(os.path.realpath(text))


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _missing_folder(shown: str, target: Path) -> FileNotFoundError:
    """The error for a path whose folder does not exist (for a link: the folder the link points into)."""
    folder = str(target.parent) if os.path.islink(shown) else (os.path.dirname(shown) or ".")
    return FileNotFoundError(errno.ENOENT, f"directory {folder!r} does not exist", shown)


def _existing(shown: str) -> os.stat_result | None:
    """The status of what ``shown`` names when it is a regular file, None when nothing is there; refuses the rest.

    The path as given is asked, not its resolved form: the kernel follows links that no resolving
    by name can (``/proc/self/fd/1`` names a pipe or a terminal, not a file called ``pipe:[…]``).
    """
    try:
        status = os.stat(shown)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise type(error)(error.errno, error.strerror, shown) from None
    if not stat.S_ISREG(status.st_mode):
        code = errno.EISDIR if stat.S_ISDIR(status.st_mode) else errno.EINVAL
        raise UnsafeTarget(code, f"is {_kind(status.st_mode)}; chainrule only writes regular files", shown)
    return status


def check_target(path) -> None:
    """Raise the error ``write_file`` would raise before writing anything: for checks ahead of long work."""
    shown = os.fspath(path) if not isinstance(path, bytes) else os.fsdecode(path)
    target = _target_of(path)
    _existing(shown)
    if not target.parent.is_dir():
        raise _missing_folder(shown, target)
    if not os.access(target.parent, os.W_OK | os.X_OK):  # the temporary file is made there
        raise PermissionError(errno.EACCES, f"Permission denied (cannot create files in {str(target.parent)!r})",
                              shown)


# The start of the target's name that temporary names carry: short enough that the temporary name
# stays within the usual limit of 255 bytes a file name has.
_NAME_PART = 150


def _stem(target: Path) -> str:
    name = target.name
    while len(name.encode("utf-8", "surrogateescape")) > _NAME_PART:
        name = name[:-1]
    return f".{name}{_MARK}"


def temporary_files(target) -> list[Path]:
    """The temporary files of writes to ``target`` that exist now (its directory's leftovers included)."""
    target = Path(target)
    try:
        return sorted(target.parent.glob(f"{_glob_escape(_stem(target))}*"))
    except OSError:
        return []


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # somebody else's process: leave its file alone
    return True


def _remove_leftovers(target: Path) -> None:
    """Delete temporary files of earlier writes to ``target`` whose writer is dead."""
    for leftover in temporary_files(target):
        pid_text = leftover.name.rsplit(_MARK, 1)[-1].split("-", 1)[0]
        if pid_text.isdigit() and not _alive(int(pid_text)):
            with contextlib.suppress(OSError):
                leftover.unlink()


def write_file(path, fill: Callable[[BinaryIO], object]) -> Path:
    """Write ``path`` atomically with what ``fill(binary_file)`` writes; returns the file replaced or made."""
    shown = os.fspath(path) if not isinstance(path, bytes) else os.fsdecode(path)
    target = _target_of(path)
    previous = _existing(shown)
    _remove_leftovers(target)
    if previous is not None and os.geteuid() != 0 and not os.access(target, os.W_OK):
        # Replacing is allowed by the folder, but the user protected the file itself: respect that.
        raise PermissionError(errno.EACCES, "Permission denied (the file is read-only)", shown)
    temporary = target.with_name(f"{_stem(target)}{os.getpid()}-{next(_counter)}")
    # 0o666 through the umask: a new file gets the mode `open(path, "w")` would give it.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(temporary, flags, 0o666)
    except FileNotFoundError:
        raise _missing_folder(shown, target) from None
    except OSError as error:
        raise type(error)(error.errno, error.strerror, shown) from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            fill(file)
            file.flush()
            if previous is not None:
                os.fchmod(file.fileno(), stat.S_IMODE(previous.st_mode))
                if os.geteuid() == 0 and (previous.st_uid, previous.st_gid) != (0, 0):
                    with contextlib.suppress(OSError):
                        os.fchown(file.fileno(), previous.st_uid, previous.st_gid)
            os.fsync(file.fileno())
        # Checked again just before the rename: something may have appeared there meanwhile.
        _existing(shown)
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(error, OSError) and not isinstance(error, UnsafeTarget) and error.filename == str(temporary):
            raise type(error)(error.errno, error.strerror, shown) from None
        raise
    _sync_directory(target.parent)
    return target


def write_bytes(path, content: bytes) -> Path:
    return write_file(path, lambda file: file.write(content))


def _sync_directory(folder: Path) -> None:
    """Make the rename itself durable; not every system lets a directory be opened, so best effort."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
