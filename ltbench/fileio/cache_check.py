"""Cache entries that verify themselves on load: a corrupt one is named, deleted and rebuilt once.

A cache file can be damaged after it was written (a full disk, a bad copy, a
user's editor); reading it blindly gives a traceback that does not name the
file, or worse, silently wrong numbers. Every cache loads through
``load_cached``: a check that fails prints one warning line and deletes the
entry, and the caller rebuilds it as if it had never existed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Callable, TypeVar

from ltbench.fileio.faults import describe
from ltbench.progress import warn

T = TypeVar("T")


class CorruptCache(Exception):
    """A cache entry that exists but fails its check; the message says how."""


def load_cached(path: Path, load: Callable[[Path], T], what: str) -> T | None:
    """``load(path)``, or None when the entry is absent or corrupt (then warned about and deleted).

    ``load`` raises ``CorruptCache`` for a failed check; any other error while
    reading (a truncated pickle, a bad zip) counts as corruption too, except
    permission problems, which are the user's to fix and end in one sentence,
    and running out of memory.
    """
    if not path.is_file():
        return None
    try:
        return load(path)
    except PermissionError as exc:
        raise describe(exc, path, "read") from None
    except MemoryError:  # a sound entry too big for this moment's free memory must not be deleted
        raise
    except Exception as exc:  # readers of damaged files raise many unrelated types
        reason = str(exc) if isinstance(exc, CorruptCache) else f"{type(exc).__name__}: {exc}"
        warn(f"{what} cache {path} is corrupt ({' '.join(reason.split())[:100]}); deleting and rebuilding it.")
        path.unlink(missing_ok=True)
        return None


def check_zip(path: Path) -> None:
    """Raise ``CorruptCache`` unless every member of the zip at ``path`` matches its CRC-32.

    ``.npz`` and ``torch.save`` files are zips with a CRC per member; numpy
    checks it only when a member is read to its end, torch never does.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except zipfile.BadZipFile as exc:
        raise CorruptCache(f"not a complete zip archive: {exc}") from None
    if bad is not None:
        raise CorruptCache(f"member {bad} fails its CRC-32 check")

