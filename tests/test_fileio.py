"""Atomic writes: strict JSON, umask-honouring modes, pid-named temp files that get swept, one-sentence disk faults."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ltbench.fileio import atomic as fileio
from ltbench.errors import LtbenchError
from ltbench.fileio.atomic import atomic_write, to_json, write_json, write_text
from ltbench.fileio.faults import check_writable, guard
from ltbench.fileio.tempfiles import HOST, PATTERN, pid_alive, sweep_stale_temp_files


def strict_load(text: str) -> object:
    def refuse(constant: str) -> None:
        raise ValueError(f"non-strict JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


def test_json_is_strict_nan_and_infinities_become_null(tmp_path):
    data = {"map": {"total": float("nan"), "head": np.float32("inf")}, "ap": [1.5, -float("inf"), None],
            "array": np.array([0.25, np.nan]), "n": np.int64(3)}
    write_json(tmp_path / "m.json", data)
    assert strict_load((tmp_path / "m.json").read_text()) == {
        "map": {"total": None, "head": None}, "ap": [1.5, None, None], "array": [0.25, None], "n": 3}
    assert to_json({"x": float("nan")}) == '{"x": null}'


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_honour_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == mode


def test_temp_file_carries_the_writers_pid_and_is_gone_after(tmp_path):
    seen = []

    def write(handle):
        seen.extend(p.name for p in tmp_path.iterdir())
        handle.write(b"data")

    atomic_write(tmp_path / "f.bin", write)
    (name,) = seen
    match = PATTERN.match(name)
    assert match and match["target"] == "f.bin" and int(match["pid"]) == os.getpid() and match["host"] == HOST
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_interrupted_write_leaves_no_temp_file(tmp_path):
    def write(handle):
        handle.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "f.bin", write)
    assert list(tmp_path.iterdir()) == []


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sweep_deletes_only_temp_files_whose_writer_is_gone(tmp_path):
    gone = tmp_path / f".checkpoint.pt.{dead_pid()}.{HOST}.0123abcd.tmp"
    alive = tmp_path / f".checkpoint.pt.{os.getppid()}.{HOST}.0123abcd.tmp"
    other_host = tmp_path / f".checkpoint.pt.{dead_pid()}.ffffff.0123abcd.tmp"  # its pid means nothing here
    other_host_old = tmp_path / f".checkpoint.pt.{dead_pid()}.eeeeee.0123abcd.tmp"
    legacy_old, legacy_new = tmp_path / ".scores.npz.ab_cd12x.tmp", tmp_path / ".scores.npz.zz_cd12x.tmp"
    unrelated = tmp_path / "notes.tmp"
    for path in (gone, alive, other_host, other_host_old, legacy_old, legacy_new, unrelated):
        path.write_bytes(b"x")
    for path in (other_host_old, legacy_old):
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    assert sorted(sweep_stale_temp_files(tmp_path)) == sorted([gone, other_host_old, legacy_old])
    assert sorted(tmp_path.iterdir()) == sorted([alive, other_host, legacy_new, unrelated])


def test_a_write_sweeps_what_killed_writers_left_in_its_folder(tmp_path):
    leftovers = [tmp_path / f".{name}.{dead_pid()}.{HOST}.0123abcd.tmp" for name in ("metrics.json", "scores.npz")]
    for leftover in leftovers:
        leftover.write_bytes(b"half")
    write_json(tmp_path / "metrics.json", {"a": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_pid_alive_sees_live_and_dead_processes():
    assert pid_alive(os.getpid()) and pid_alive(os.getppid())
    assert not pid_alive(dead_pid())


def one_sentence(exc: pytest.ExceptionInfo[LtbenchError]) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.endswith(".")
    return message


def test_results_root_that_is_a_file_names_it_and_creates_nothing(tmp_path):
    root = tmp_path / "results"
    root.write_text("not a folder")
    with pytest.raises(LtbenchError) as exc:
        write_json(root / "runs" / "mnist_lt" / "run" / "metrics.json", {})
    assert f"{root} is a file, not a folder" in one_sentence(exc)
    assert sorted(tmp_path.iterdir()) == [root]


def test_name_too_long_is_named_and_leaves_no_stub_folders(tmp_path):
    with pytest.raises(LtbenchError) as exc:
        write_json(tmp_path / "runs" / ("x" * 300) / "metrics.json", {})
    assert "too long" in one_sentence(exc)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code, cause", [(errno.ENOSPC, "the disk is full"), (errno.EACCES, "permission denied"),
                                         (errno.EROFS, "read-only"), (errno.EDQUOT, "quota")])
def test_disk_faults_while_writing_name_the_cause_and_leave_nothing(tmp_path, monkeypatch, code, cause):
    def fail(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fileio.os, "fsync", fail)
    target = tmp_path / "runs" / "run" / "checkpoint.pt"
    with pytest.raises(LtbenchError) as exc:
        atomic_write(target, lambda h: h.write(b"x" * 1000))
    message = one_sentence(exc)
    assert str(target) in message and cause in message and ".tmp" not in message
    assert list(tmp_path.iterdir()) == []


def test_guard_lets_other_errors_through(tmp_path):
    with pytest.raises(OSError, match="image file is truncated"):  # PIL's decode errors carry no errno
        with guard(tmp_path / "x"):
            raise OSError("image file is truncated")


def test_check_writable_refuses_without_creating_anything(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(LtbenchError, match="is a file, not a folder"):
        check_writable(blocker / "runs", "results root")
    with pytest.raises(LtbenchError, match="is too long"):
        check_writable(tmp_path / ("y" * 300) / "runs", "results root")
    check_writable(tmp_path / "new" / "runs", "results root")
    assert sorted(tmp_path.iterdir()) == [blocker]
