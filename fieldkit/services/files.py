"""Reading the files a user names: regular files only, and never more than a limit.

A FIFO would block, ``/dev/zero`` would fill the memory: both are refused in one sentence.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _


def unreadable(path: Path, exc: OSError) -> FieldkitError:
    return FieldkitError(
        _("Cannot read {path}: {reason}.").format(path=path, reason=exc.strerror or exc)
    )


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading in binary; refused unless it is a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # opening a FIFO must not block
    except OSError as exc:
        raise unreadable(path, exc) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FieldkitError(_("{path} is not a regular file.").format(path=path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_limited(path: Path, limit: int) -> bytes:
    """The whole of a regular file of at most ``limit`` bytes."""
    try:
        with open_regular(path) as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise unreadable(path, exc) from None
    if len(data) > limit:
        raise FieldkitError(
            _("{path} is larger than {limit} bytes: it is not the expected file.").format(
                path=path, limit=limit
            )
        )
    return data


def replaceable_target(path: Path) -> Path:
    """``path`` if a new file may be renamed over it: absent, or a regular file. (Renaming a
    written temp file over ``/dev/full`` as root replaced the device with a PDF.)"""
    if path.exists() and not path.is_file():
        raise FieldkitError(_("{path} is not a regular file.").format(path=path))
    return path
