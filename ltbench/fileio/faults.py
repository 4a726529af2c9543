"""One place that turns file-system faults into one-sentence errors, leaving no stub folders behind.

The results root and the caches live on disks the user chose: they may be
unwritable, full, read-only, or have a file where a folder should be. Python
reports these as ``OSError``s whose tracebacks do not say what to do; here
they become ``LtbenchError``s naming the path, the cause and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Iterator

from ltbench.errors import LtbenchError

CAUSES = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a file is in the way where a folder is needed",
    errno.EEXIST: "a file is in the way where a folder is needed",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENAMETOOLONG: "a name in the path is too long for the file system",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
}
REMEDY = ("point LTBENCH_RESULTS, LTBENCH_CACHE or output.root at a folder you can write, "
          "or free space there")


def describe(exc: OSError, path: str | os.PathLike[str], action: str = "write") -> LtbenchError:
    """``exc`` as one sentence naming the real culprit (the file in the way, else ``path``) and the cause."""
    cause = CAUSES.get(exc.errno or 0, (exc.strerror or type(exc).__name__).lower())
    culprit = _file_in_the_way(Path(path)) if exc.errno in (errno.ENOTDIR, errno.EEXIST) else None
    if culprit is not None:
        return LtbenchError(f"Cannot {action} {path}: {culprit} is a file, not a folder; move it away or {REMEDY}.")
    return LtbenchError(f"Cannot {action} {path}: {cause}; {REMEDY}.")


def is_fs_fault(exc: BaseException) -> bool:
    """True for an ``OSError`` from the operating system (it has an errno), not e.g. PIL's decoding errors."""
    return isinstance(exc, OSError) and exc.errno is not None


@contextlib.contextmanager
def guard(path: str | os.PathLike[str], action: str = "write") -> Iterator[None]:
    """Turn file-system faults inside the block into ``describe``'s error.

    On such a fault, the folders the block created on the way to ``path``
    are removed again when they are empty, so a failed run leaves no stub
    run directory. Other exceptions pass through untouched.
    """
    target = Path(path)
    anchor = existing_ancestor(target)
    try:
        yield
    except OSError as exc:
        if not is_fs_fault(exc):
            raise
        remove_empty_dirs(target, anchor)
        raise describe(exc, target, action) from None


def existing_ancestor(path: Path) -> Path:
    """``path`` itself or its nearest ancestor that exists (as anything)."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or ".")


def remove_empty_dirs(path: Path, stop: Path) -> None:
    """``rmdir`` ``path`` and its parents below ``stop`` while they are empty folders."""
    for candidate in (path, *path.parents):
        if candidate == stop or stop not in candidate.parents:
            return
        try:
            candidate.rmdir()
        except OSError:
            if os.path.lexists(candidate):
                return


def check_writable(folder: str | os.PathLike[str], what: str) -> None:
    """Refuse, creating nothing, a folder that could not be created or written.

    For the config-resolve step: an unusable results root or cache fails
    before any dataset is read or feature computed, not after training.
    """
    target = Path(folder).expanduser()
    anchor = existing_ancestor(target)
    if not os.path.isdir(anchor):
        raise LtbenchError(f"Cannot use {target} as the {what}: {anchor} is a file, not a folder; "
                           f"move it away or {REMEDY}.")
    limit = _name_max(anchor)
    long_names = [part for part in target.relative_to(anchor).parts if len(os.fsencode(part)) > limit]
    if long_names:
        cause = f"the name {long_names[0][:40]}... is too long (the file system allows {limit} bytes)"
    elif not os.access(anchor, os.W_OK | os.X_OK):
        cause = f"permission denied in {anchor}"
    elif os.statvfs(anchor).f_flag & os.ST_RDONLY:
        cause = f"{anchor} is on a read-only file system"
    else:
        return
    raise LtbenchError(f"Cannot use {target} as the {what}: {cause}; {REMEDY}.")


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _file_in_the_way(path: Path) -> Path | None:
    """The first component of ``path`` that exists but is not a folder (the culprit of ENOTDIR)."""
    for candidate in reversed((path, *path.parents)):
        if os.path.lexists(candidate) and not os.path.isdir(candidate):
            return candidate
    return None
