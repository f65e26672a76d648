"""Reading a text source in large line-aligned blocks, refusing what is not line-oriented text.

Blocks end at a line break, so each can be parsed on its own; memory stays at a few blocks whatever the
file's size. A NUL byte (binary data), a line longer than :data:`MAX_LINE_BYTES` or an empty file stops
the read with an :class:`~tapescan.errors.IngestError` naming the file.
"""

from __future__ import annotations

from collections.abc import Iterator

from tapescan.errors import IngestError
from tapescan.ingest.sources import Source

BLOCK_BYTES = 16 << 20
MAX_LINE_BYTES = 1 << 20
UTF8_BOM = b"\xef\xbb\xbf"


def iter_blocks(source: Source, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Yield the source's bytes in blocks that each end with a line break."""
    carry = b""
    read_any = False
    with source.open() as stream:
        while True:
            chunk = stream.read(block_bytes)
            if not chunk:
                break
            if not read_any and chunk.startswith(UTF8_BOM):
                chunk = chunk[len(UTF8_BOM):]  # a byte order mark (files saved by Excel), not part of the first line
            read_any = read_any or bool(chunk.strip())
            _refuse_binary(source, chunk)
            data = carry + chunk if carry else chunk
            cut = data.rfind(b"\n") + 1 or data.rfind(b"\r") + 1  # \r alone only in old Mac files
            carry = data[cut:]
            if len(carry) > MAX_LINE_BYTES:
                raise IngestError(
                    f"{source.label}: a line is longer than {MAX_LINE_BYTES >> 20} MiB; this is not a file of "
                    "1-minute bars (check the file and the vendor named on the command line)."
                )
            if cut:
                yield data[:cut]
    if not read_any:
        raise IngestError(f"{source.label} is empty; remove it or download it again.")
    if carry.strip():
        yield carry + b"\n"


def _refuse_binary(source: Source, chunk: bytes) -> None:
    if b"\x00" in chunk:
        raise IngestError(
            f"{source.label} holds binary data (NUL bytes), not text; is it compressed or corrupt? "
            "Pass zip archives as they are, and re-download damaged files."
        )
