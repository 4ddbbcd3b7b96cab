"""Paths as people write them in a file: `~` expanded as the shell would, relative to the file that names them."""

from __future__ import annotations

from pathlib import Path


def expand(path: Path) -> Path:
    """`~/x` and `~user/x` as the shell would expand them; a user without a home is a `ValueError`."""
    try:
        return path.expanduser()
    except RuntimeError:
        raise ValueError(f"cannot expand {str(path).split('/')[0]!r}: no such user or home directory") from None
