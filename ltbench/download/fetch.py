"""One file over HTTP(S): resumed with range requests, checked against its checksum, renamed into place only then.

A transfer writes ``<file>.part``; only a part whose checksum matches is
renamed to the file's name (an atomic rename), so a file under its real name
is always complete and verified. An interrupted transfer keeps its part and
the next attempt asks for the rest (``Range: bytes=N-``); a part that fails
its checksum is deleted. A file already in place with a matching checksum is
not fetched again.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from ltbench.errors import LtbenchError
from ltbench.progress import console

PART_SUFFIX = ".part"
CHUNK = 1 << 20
ATTEMPTS = 3  # transfers of one file that may break off before the user is asked to run again
TIMEOUT_S = 60
TRANSIENT = (http.client.IncompleteRead, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class Checksum:
    """A published digest: ``md5``, ``sha256`` or ``git-blob`` (git's blob id: SHA-1 of ``blob <size>\\0`` + bytes).

    ``expected`` may be a prefix where only that is published (torchvision's
    weight files carry the first hex digits of their SHA-256 in their name).
    """

    algorithm: str
    expected: str

    def digest(self, path: Path) -> str:
        if self.algorithm == "git-blob":
            hasher = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
        else:
            hasher = hashlib.new(self.algorithm)
        with path.open("rb") as file:
            while block := file.read(CHUNK):
                hasher.update(block)
        return hasher.hexdigest()

    def matches(self, path: Path) -> bool:
        return self.digest(path).startswith(self.expected.lower())


@dataclass(frozen=True)
class Remote:
    """A file to fetch: its URL, where it lands (relative to a folder; also its path under a mirror), its checksum."""

    url: str
    path: str
    checksum: Checksum
    size: int | None = None  # published size in bytes, when known

    def source(self, mirror: str | None) -> str:
        return f"{mirror.rstrip('/')}/{self.path}" if mirror else self.url


def fetch(remote: Remote, folder: Path, mirror: str | None = None) -> tuple[Path, bool]:
    """``remote`` verified at ``folder / remote.path``, and whether it had to be transferred."""
    target = folder / remote.path
    if target.is_file():
        if remote.checksum.matches(target):
            console.print(f"[green]verified[/] {target} (not fetched again)")
            return target, False
        console.print(f"[yellow]{target} does not match its {remote.checksum.algorithm}; fetching it again[/]")
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + PART_SUFFIX)
    url = remote.source(mirror)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _transfer(url, part, remote.size)
            break
        except TRANSIENT as exc:
            if attempt == ATTEMPTS:
                have = part.stat().st_size if part.exists() else 0
                raise LtbenchError(f"Downloading {url} broke off {ATTEMPTS} times ({type(exc).__name__}), "
                                   f"{have} bytes kept in {part}; run the same command again to resume.") from None
            console.print(f"[yellow]{url}: transfer broke off ({type(exc).__name__}); resuming[/]")
    if not remote.checksum.matches(part):
        part.unlink()
        raise LtbenchError(f"{url} does not match its published {remote.checksum.algorithm} "
                           f"{remote.checksum.expected}, so it was deleted; run the same command again, or check "
                           f"the --mirror.")
    os.replace(part, target)  # the file's name only ever holds a verified copy
    return target, True


def _transfer(url: str, part: Path, size: int | None) -> None:
    """Append the rest of ``url`` to ``part`` (all of it when the server ignores the range request)."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: the part is whole, the checksum decides
            return
        raise LtbenchError(f"Downloading {url} failed: the server answered HTTP {exc.code} {exc.reason}.") from None
    except urllib.error.URLError as exc:
        raise LtbenchError(f"Could not reach {url} ({exc.reason}); check the network or pass --mirror.") from None
    with response:
        if offset and response.status != 206:
            offset = 0  # the server sent the whole file
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length else size
        with part.open("ab" if offset else "wb") as out, _bar(Path(url).name, total, offset) as advance:
            while block := response.read(CHUNK):
                out.write(block)
                advance(len(block))
        if total is not None and part.stat().st_size < total:
            raise ConnectionError(f"{part.stat().st_size} of {total} bytes")


@contextlib.contextmanager
def _bar(name: str, total: int | None, done: int) -> Iterator[Callable[[int], None]]:
    """A rich download bar (bytes, speed, time left) that yields ``advance(bytes)``; quiet off a terminal."""
    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                        TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal)
    with progress:
        task = progress.add_task(name, total=total, completed=done)
        yield lambda count: progress.advance(task, count)


def check_free_space(folder: Path, needed: int) -> None:
    """Refuse to start when ``folder``'s disk lacks ``needed`` bytes."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if free < needed:
        raise LtbenchError(f"{folder} has {free / 1e9:.1f} GB free but the download needs {needed / 1e9:.1f} GB; "
                           f"free space or pass another --dest.")
