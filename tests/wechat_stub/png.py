"""A small PNG reader (stdlib only), enough to read the modules of a QR code back."""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def dark_pixels(data: bytes) -> list[list[bool]]:
    """Rows of pixels of a greyscale or palette PNG (bit depth <= 8), True where dark."""
    assert data[:8] == SIGNATURE, "not a PNG"
    header, palette, idat = _chunks(data)
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert color in (0, 3) and depth <= 8, f"unsupported PNG colour type {color}/{depth}"
    rows = _unfilter(zlib.decompress(idat), (width * depth + 7) // 8, height)
    values = [_unpack(row, depth, width) for row in rows]
    if color == 3:
        return [[sum(palette[v]) < 3 * 128 for v in row] for row in values]
    return [[v < (1 << depth) // 2 for v in row] for row in values]


def qr_modules(data: bytes) -> list[list[bool]]:
    """The module grid of a PNG QR code with a light quiet zone, True where dark."""
    pixels = dark_pixels(data)
    top = next(y for y, row in enumerate(pixels) if any(row))
    left = pixels[top].index(True)
    # The top-left finder pattern's top edge is 7 dark modules wide.
    run = next(i for i, dark in enumerate(pixels[top][left:] + [False]) if not dark)
    scale = run // 7
    size = (len(pixels[0]) - 2 * left) // scale
    return [
        [pixels[top + r * scale + scale // 2][left + c * scale + scale // 2] for c in range(size)]
        for r in range(size)
    ]


def _chunks(data: bytes) -> tuple[bytes, list[tuple[int, ...]], bytes]:
    """IHDR body, palette entries and the concatenated IDAT data."""
    pos, header, palette, idat = 8, b"", [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"PLTE":
            palette = [tuple(body[i : i + 3]) for i in range(0, len(body), 3)]
        elif kind == b"IDAT":
            idat += body
    return header, palette, idat


def _unfilter(raw: bytes, stride: int, height: int) -> list[bytes]:
    """Undo PNG's per-row filters (one byte per pixel unit at these depths)."""
    rows, previous = [], bytes(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 1] if i else 0
            b, c = previous[i], previous[i - 1] if i else 0
            line[i] = (line[i] + _predict(kind, a, b, c)) & 0xFF
        rows.append(bytes(line))
        previous = rows[-1]
    return rows


def _predict(kind: int, a: int, b: int, c: int) -> int:
    """The PNG filter predictor for one byte."""
    if kind == 0:
        return 0
    if kind == 1:
        return a
    if kind == 2:
        return b
    if kind == 3:
        return (a + b) // 2
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _unpack(row: bytes, depth: int, width: int) -> list[int]:
    """Pixel values from a row packed at `depth` bits per pixel."""
    if depth == 8:
        return list(row[:width])
    per_byte, mask = 8 // depth, (1 << depth) - 1
    return [(row[x // per_byte] >> (8 - depth * (x % per_byte + 1))) & mask for x in range(width)]
