"""Reading a feed file from disk for `manage.py import_feed`, with the same size cap as a fetch."""

from __future__ import annotations

import os
import stat


class SourceError(Exception):
    """A source that cannot be read: the message says what to fix."""


def read_file(path: str, max_bytes: int) -> bytes:
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise SourceError(f"no such file: {path}") from exc
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise SourceError(f"{path} is a directory; give feed files (e.g. {path.rstrip('/')}/*.xml)")
    if stat.S_ISREG(st.st_mode) and st.st_size > max_bytes:
        raise SourceError(f"file is {st.st_size:,} bytes, larger than the limit of {max_bytes:,} bytes")
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)  # pipes and devices: never read more than the cap
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise SourceError(f"input is larger than the limit of {max_bytes:,} bytes; not imported")
    return data
