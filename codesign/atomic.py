"""One atomic writer for every output codesign writes, a file or a whole directory.

The rule: a file appears complete or not at all. Data goes into a temporary sibling (same directory,
so the final rename is atomic on POSIX), is flushed and fsync'ed, then renamed onto the target; on any
failure (ENOSPC, EROFS, KeyboardInterrupt, a bug) the temporary is removed and the target is left as it
was. Directories created on the way are removed again on failure.

What a target may be:

* a regular file (replaced: the user asked for it by naming it) or nothing yet;
* a symbolic link: **followed** -- the file it points to is written and the link stays a link (a link
  into a missing directory is refused);
* a directory, a device file, a FIFO or a socket: **refused** (exit 2), never replaced -- writing
  `--out /dev/null` as root must not replace the machine's /dev/null.

Output directories (`atomic_dir`) are built in a temporary sibling and renamed into place when complete;
an existing one is replaced only with `force` (moved aside first, removed after the rename).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from codesign.errors import OutputExistsError, UsageError, os_error


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket")):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"


def resolve_output_file(path: str | os.PathLike[str]) -> Path:
    """The regular file a write to `path` must produce: `path` itself, or the file a symlink points to.

    Raises UsageError (exit 2) when `path` is (or links to) a directory, a device, a FIFO or a socket,
    when a link loops, or when a component of the parent is a file.
    """
    p = Path(os.fsdecode(path))
    if str(p) in ("", "."):
        raise UsageError("empty output path; give a file name")
    if p.is_symlink():
        try:
            target = p.resolve(strict=False)
        except (OSError, RuntimeError):
            raise UsageError(f"cannot write {p}: its symbolic link loops; fix or remove the link") from None
        if not target.parent.is_dir():
            raise UsageError(
                f"cannot write {p}: it is a symbolic link to {target}, whose directory does not exist; "
                "fix the link or remove it"
            )
        p = target
    try:
        st = p.stat()
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise UsageError(
            f"cannot write {p}: a part of its directory path is a file, not a directory; fix the path"
        ) from None
    except OSError as exc:
        raise os_error(exc, "write", p) from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        what = _kind(st.st_mode)
        fix = "give a file name inside it" if stat.S_ISDIR(st.st_mode) else "give a regular file name"
        raise UsageError(f"cannot write {p}: it is {what}, which codesign never replaces; {fix}")
    return p


def _make_parents(directory: Path) -> list[Path]:
    """mkdir -p that returns the directories it created (deepest last), for removal on failure."""
    created: list[Path] = []
    missing = []
    d = directory
    while not d.exists() and not d.is_symlink():
        missing.append(d)
        if d.parent == d:
            break
        d = d.parent
    if d.exists() and not d.is_dir():
        raise UsageError(f"cannot write into {directory}: {d} is a file, not a directory; fix the path")
    for m in reversed(missing):
        try:
            m.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            _remove_dirs(created)
            raise os_error(exc, "create directory", m) from None
        created.append(m)
    return created


def _remove_dirs(created: list[Path]) -> None:
    for d in reversed(created):
        with contextlib.suppress(OSError):
            d.rmdir()


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> Path:
    """Write `data` to `path` atomically (see the module docstring); returns the file written.

    `mode`: the new file's permissions (default: an existing file's, else 0666 & ~umask).
    Raises UsageError for a non-regular target, EnvironmentFailure (exit 5) for ENOSPC/EROFS/EACCES,
    with the temporary removed and the target unchanged.
    """
    target = resolve_output_file(path)
    created = _make_parents(target.parent)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is None:
            try:
                mode = stat.S_IMODE(target.stat().st_mode)
            except OSError:
                mode = 0o666 & ~current_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
        _fsync_dir(target.parent)
    except OSError as exc:
        raise os_error(exc, "write", target) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            _remove_dirs(created)
    return target


def write_text_atomic(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """`write_bytes_atomic` of `text` encoded as `encoding` (UTF-8); returns the file written."""
    return write_bytes_atomic(path, text.encode(encoding))


def _merge_into(src: Path, dst: Path) -> None:
    """Move every entry of `src` into the existing directory `dst` (rename per entry; subdirectories merged)."""
    for entry in sorted(src.iterdir()):
        there = dst / entry.name
        if entry.is_dir() and not entry.is_symlink() and there.is_dir() and not there.is_symlink():
            _merge_into(entry, there)
        else:
            if there.is_dir() and not there.is_symlink():
                shutil.rmtree(there)
            os.replace(entry, there)


def current_umask() -> int:
    """The process's file-mode creation mask (read by setting it and putting it back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def staging_dir(parent: Path, prefix: str, suffix: str = "") -> Path:
    """A new empty directory in `parent` to build an output in before it is renamed into place, with the
    permissions `os.mkdir` would give it (0777 & ~umask; `tempfile.mkdtemp` makes it owner-only).
    Raises OSError as `mkdtemp` and `chmod` do."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent))
    tmp.chmod(0o777 & ~current_umask())
    return tmp


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], force: bool = False, merge: bool = False) -> Iterator[Path]:
    """Build an output directory whole or not at all.

    Yields a temporary sibling directory to fill; when the block ends without an exception it is renamed
    to `path`. An existing `path` is refused (OutputExistsError, exit 2) unless `force`, in which case it
    is moved aside, replaced, then deleted. With `merge`, an existing `path` is kept and the new files
    are moved into it only once all of them are written (files of the same name replaced; for results
    directories that hold other runs' files too). On any exception (including KeyboardInterrupt) the
    temporary is deleted and `path` is left as it was. A `path` that is a file or a device is refused.
    """
    target = Path(os.fsdecode(path))
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        what = "a symbolic link" if target.is_symlink() else _kind(target.stat().st_mode)
        if target.is_file() and not target.is_symlink():
            what = "a file"
        raise UsageError(f"cannot write directory {target}: it is {what}; give a directory name")
    if target.is_dir() and not force and not merge:
        raise OutputExistsError(f"{target} exists; pass --force to replace it, or choose another directory")
    created = _make_parents(target.parent)
    try:
        tmp = staging_dir(target.parent, prefix=f".{target.name}.", suffix=".partial")
    except OSError as exc:
        _remove_dirs(created)
        raise os_error(exc, "create directory", target.parent) from None
    try:
        yield tmp
        fsync_tree(tmp)
        old = None
        if merge and target.is_dir():
            _merge_into(tmp, target)
            shutil.rmtree(tmp, ignore_errors=True)
            _fsync_dir(target)
            return
        if target.is_dir():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.rmdir(old)
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except BaseException:
            if old is not None:
                os.replace(old, target)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(target.parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_dirs(created)
        err = os_error(exc, "write", exc.filename or target)
        raise err from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_dirs(created)
        raise


def fsync_tree(root: str | os.PathLike[str]) -> None:
    """fsync every file under `root` (before `atomic_dir` renames it into place, for crash safety)."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)


__all__ = [
    "atomic_dir",
    "fsync_tree",
    "resolve_output_file",
    "write_bytes_atomic",
    "write_text_atomic",
]
