"""Read a W&B offline run file (``run-<id>.wandb``) back: its run record and each history row.

The file is a LevelDB-style log of protobuf ``Record`` messages (W&B's own
format; ``wandb sync`` reads it the same way): a 7-byte header, then 32 KiB
blocks of chunks, each with a 7-byte header (CRC32, little-endian length,
type: 1 full, 2 first, 3 middle, 4 last). wandb no longer ships a Python
reader, so the tests carry this one; the messages are parsed with wandb's own
protobuf classes.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

BLOCK = 32768
HEADER = 7
FULL, LAST = 1, 4


def read_records(path: Path) -> list[Any]:
    """Every ``wandb_internal_pb2.Record`` in ``path``, in order."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    records, chunks, pos = [], [], HEADER
    while pos + HEADER <= len(data):
        if BLOCK - pos % BLOCK < HEADER:  # a block's tail too short for a header is padding
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        if length == 0 and kind == 0:
            break
        chunks.append(data[pos + HEADER:pos + HEADER + length])
        pos += HEADER + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(b"".join(chunks))
            records.append(record)
            chunks = []
    return records


def history_rows(records: list[Any]) -> dict[int, dict[str, Any]]:
    """step -> the values logged at that step (rows logged twice at one step merged)."""
    rows: dict[int, dict[str, Any]] = {}
    for record in records:
        if record.WhichOneof("record_type") == "history":
            values = {item.key or "/".join(item.nested_key): json.loads(item.value_json)
                      for item in record.history.item}
            rows.setdefault(values["_step"], {}).update(values)
    return rows


def run_record(records: list[Any]) -> Any:
    return next(r.run for r in records if r.WhichOneof("record_type") == "run")
