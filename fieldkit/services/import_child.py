"""The validating half of a large import, run as a child process (``python -m``).

It reads one JSON header line on stdin (file, number format, ranges, language), validates the
file batch by batch exactly as :func:`fieldkit.services.exchange.import_jsonl` does inline, and
writes length-prefixed msgpack frames on stdout: ``["batch", [...]]`` per batch, then ``["done"]``,
or ``["invalid", message, field]`` / ``["oserror", reason]`` / ``["failed", reason]`` and stops.
The parent writes while this process validates: the two halves use both cores.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from fieldkit.domain import validation
from fieldkit.errors import ValidationError
from fieldkit.i18n import set_language

HEADER = struct.Struct(">I")
_encode = msgspec.msgpack.Encoder().encode


def write_frame(out: BinaryIO, message: list[Any]) -> None:
    body = _encode(message)
    out.write(HEADER.pack(len(body)))
    out.write(body)
    out.flush()


def main() -> int:
    from fieldkit.services.exchange import _validated_batches

    header = json.loads(sys.stdin.readline())
    set_language(header["language"])
    fmt = validation.NumberFormat(pattern=header["pattern"], example=header["example"])
    ranges = [validation.BraceletRange(a, b) for a, b in header["ranges"]]
    out = sys.stdout.buffer
    try:
        for batch in _validated_batches(
            Path(header["path"]), fmt, ranges, header["site"], int(header["batch"])
        ):
            write_frame(out, ["batch", batch])
        write_frame(out, ["done"])
    except ValidationError as exc:
        write_frame(out, ["invalid", exc.message, exc.field])
    except OSError as exc:
        write_frame(out, ["oserror", exc.strerror or str(exc)])
    except BrokenPipeError:  # the parent gave up: nothing to say
        return 1
    except Exception as exc:  # reported to the parent, which says the import failed
        write_frame(out, ["failed", f"{type(exc).__name__}: {exc}"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
