"""Whether a state file is a usable SQLite database, judged without writing to it: its header, or every page.

A damaged file must stop a command with one line an operator can act on, before a connection is opened on
it: SQLite reports some damage only at the first query, by then a daemon would have started half its work.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

MAGIC = b"SQLite format 3\x00"


def header_problem(path: Path) -> str | None:
    """Why the file at `path` cannot be an SQLite database, from its first 100 bytes and its size (cheap).

    None for a sound header, an empty file or no file (both become a new database).
    """
    try:
        with path.open("rb") as file:
            head = file.read(100)
            size = os.fstat(file.fileno()).st_size
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if size == 0:
        return None
    if not head.startswith(MAGIC[: len(head)]) or size < len(MAGIC):
        return "file is not a database (it does not start with the SQLite header)"
    if len(head) < 100:
        return f"truncated to {size} bytes"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    # The header's page count is valid when its two change counters agree; a write-ahead log with content may
    # still hold pages a checkpoint was writing when the process died, which SQLite replays on opening.
    counted = head[24:28] == head[92:96] and pages > 0
    if counted and size < pages * page_size and not _has_log(path):
        return f"truncated to {size} of its {pages * page_size} bytes"
    return None


def file_problem(path: Path) -> str | None:
    """Why the file at `path` cannot be used, after reading every page (read-only: nothing in it changes).

    Reading every page takes about a second per gigabyte; a missing file is no problem.
    """
    problem = header_problem(path)
    if problem is not None or not path.exists() or path.stat().st_size == 0:
        return problem
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as exc:
        return str(exc)
    findings = [str(row[0]) for row in rows]
    return None if findings == ["ok"] else "; ".join(findings[:3])


def _has_log(path: Path) -> bool:
    try:
        return path.with_name(path.name + "-wal").stat().st_size > 0
    except OSError:
        return False
