"""The Python half of Go's TestGoPythonGo (internal/convert/crosslang_test.go).

Reads model messages from stdin and writes each back after protobuf → dataclass → protobuf
through the generated converters, so that Go can check Go → Python → Go is exact.

Input, repeated until EOF: a 4-byte big-endian length and the message name, then a 4-byte
length and the serialized message. Output, one per input in order: a status byte (0 = the
re-serialized message follows, 1 = a Python error message follows), a 4-byte length and the
bytes. Run as ``python go_echo.py`` from anywhere; it imports the installed ``mmplugin``.
"""

from __future__ import annotations

import struct
import sys
import traceback
from typing import BinaryIO

from mmplugin._gen import convert as c

_LEN = struct.Struct(">I")


def _read_exact(src: BinaryIO, n: int) -> bytes | None:
    data = src.read(n)
    if not data:
        return None
    if len(data) != n:
        raise EOFError(f"truncated input: wanted {n} bytes, got {len(data)}")
    return data


def _read_frame(src: BinaryIO) -> bytes | None:
    head = _read_exact(src, _LEN.size)
    if head is None:
        return None
    (n,) = _LEN.unpack(head)
    return _read_exact(src, n) if n else b""


def echo(name: str, data: bytes) -> bytes:
    """One message through the Python converters and back to its wire form."""
    codec = _CODECS[name]
    model = codec.from_pb(codec.message.FromString(data))
    return codec.to_pb(model).SerializeToString()


_CODECS = {codec.name: codec for codec in c.MODELS}


def main(src: BinaryIO, dst: BinaryIO) -> None:
    while True:
        name = _read_frame(src)
        if name is None:
            break
        data = _read_frame(src)
        if data is None:
            raise EOFError("input ends between a message name and its data")
        try:
            status, out = 0, echo(name.decode(), data)
        except Exception:
            status, out = 1, traceback.format_exc().encode()
        dst.write(bytes([status]) + _LEN.pack(len(out)) + out)
    dst.flush()


if __name__ == "__main__":
    main(sys.stdin.buffer, sys.stdout.buffer)
