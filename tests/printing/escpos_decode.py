"""A strict decoder of the ESC/POS subset hallq sends, so tests can read a ticket back the way a printer would.

It raises on any byte sequence it does not know, on multi-byte text outside Chinese character mode (FS &), and on
commands a printer ignores where they stand (ESC a, a QR or a raster image with text pending on the line), rather
than guessing. ``next_token`` is also the fake printer's way to find real-time status queries in a stream without
mistaking bytes inside image or QR data for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

LF = 0x0A

#: Commands with a fixed number of parameter bytes: prefix -> (name, parameter count).
_FIXED: dict[bytes, tuple[str, int]] = {
    b"\x1b@": ("ESC @", 0),  # initialise
    b"\x1ba": ("ESC a", 1),  # justification
    b"\x1b!": ("ESC !", 1),  # print mode (ASCII size, emphasis)
    b"\x1bE": ("ESC E", 1),  # emphasis
    b"\x1b-": ("ESC -", 1),  # underline
    b"\x1bM": ("ESC M", 1),  # font
    b"\x1bd": ("ESC d", 1),  # print and feed n lines
    b"\x1bt": ("ESC t", 1),  # code table (python-escpos's text() sends it)
    b"\x1d!": ("GS !", 1),  # character size
    b"\x1dB": ("GS B", 1),  # white/black reverse
    b"\x1c&": ("FS &", 0),  # Chinese character mode on
    b"\x1c.": ("FS .", 0),  # Chinese character mode off
    b"\x10\x04": ("DLE EOT", 1),  # real-time status
}
_PREFIXES = (*_FIXED, b"\x1dV", b"\x1d(k", b"\x1dv0")


class UnknownCommand(ValueError):
    """A byte sequence outside the subset: a renderer bug, or a command the decoder must learn deliberately."""


@dataclass(frozen=True)
class Token:
    name: str  # "text", "LF", or a command such as "GS ( k"
    params: bytes = b""
    data: bytes = b""  # text bytes, QR data, raster bytes


def _text_end(data: bytes, i: int) -> int:
    """End of the run of printable bytes (ASCII, whole GB18030 sequences) from ``i``; ``i`` if none is complete."""
    end = len(data)
    while i < end:
        lead = data[i]
        if 0x20 <= lead <= 0x7E:
            i += 1
        elif 0x81 <= lead <= 0xFE and i + 1 < end and (0x40 <= data[i + 1] <= 0xFE and data[i + 1] != 0x7F):
            i += 2
        elif (0x81 <= lead <= 0xFE and i + 3 < end and 0x30 <= data[i + 1] <= 0x39
              and 0x81 <= data[i + 2] <= 0xFE and 0x30 <= data[i + 3] <= 0x39):
            i += 4
        else:
            break
    return i


def _little(data: bytes) -> int:
    return int.from_bytes(data, "little")


def next_token(data: bytes, i: int) -> tuple[Token, int] | None:
    """The token at ``data[i]`` and the offset after it; None when ``data`` ends inside it."""
    if data[i] == LF:
        return Token("LF"), i + 1
    end = _text_end(data, i)
    if end > i:
        return Token("text", data=data[i:end]), end
    for prefix, (name, count) in _FIXED.items():
        if data.startswith(prefix, i):
            start = i + len(prefix)
            return (Token(name, data[start:start + count]), start + count) if start + count <= len(data) else None
    if data.startswith(b"\x1dV", i):  # cut: GS V m, or GS V m n for m = 65/66
        if i + 2 >= len(data):
            return None
        count = 2 if data[i + 2] in (65, 66) else 1
        return (Token("GS V", data[i + 2:i + 2 + count]), i + 2 + count) if i + 2 + count <= len(data) else None
    if data.startswith(b"\x1d(k", i):  # 2D code: GS ( k pL pH cn fn [m] data
        if i + 5 > len(data):
            return None
        end = i + 5 + _little(data[i + 3:i + 5])
        return (Token("GS ( k", data[i + 5:i + 7], data[i + 7:end]), end) if end <= len(data) else None
    if data.startswith(b"\x1dv0", i):  # raster image: GS v 0 m xL xH yL yH d1...dk
        if i + 8 > len(data):
            return None
        end = i + 8 + _little(data[i + 4:i + 6]) * _little(data[i + 6:i + 8])
        return (Token("GS v 0", data[i + 3:i + 8], data[i + 8:end]), end) if end <= len(data) else None
    rest = data[i:]
    if any(prefix.startswith(rest) for prefix in _PREFIXES) or (rest[0] >= 0x81 and len(rest) < 4):
        return None  # a command or a GB18030 sequence cut by the end of the data
    raise UnknownCommand(f"unknown ESC/POS bytes at offset {i}: {data[i:i + 8].hex(' ')}")


@dataclass(frozen=True)
class Segment:
    """Text printed in one style."""

    text: str
    width: int
    height: int
    bold: bool
    inverted: bool

    @property
    def big(self) -> bool:
        return self.width > 1 or self.height > 1


@dataclass
class Decoded:
    commands: list[str] = field(default_factory=list)  # token names in order
    lines: list[list[Segment]] = field(default_factory=list)  # every printed non-empty line
    qr_payloads: list[str] = field(default_factory=list)  # printed QR codes
    images: list[tuple[int, int]] = field(default_factory=list)  # (width_dots, height_dots) of each raster
    rasters: list[bytes] = field(default_factory=list)  # their bits, 1 = black, rows of width_dots / 8 bytes
    cuts: int = 0
    status_queries: list[int] = field(default_factory=list)  # n of each DLE EOT n

    @property
    def texts(self) -> list[str]:
        return ["".join(segment.text for segment in line) for line in self.lines]

    def _runs(self, keep: Callable[[Segment], bool]) -> list[str]:
        """Per line, the text of the segments kept (lines with none left out)."""
        runs = ("".join(segment.text for segment in line if keep(segment)) for line in self.lines)
        return [run for run in runs if run]

    @property
    def double_size_texts(self) -> list[str]:
        return self._runs(lambda segment: segment.big)

    @property
    def inverted_texts(self) -> list[str]:
        return self._runs(lambda segment: segment.inverted)

    @property
    def bold_texts(self) -> list[str]:
        return self._runs(lambda segment: segment.bold)


@dataclass
class _Printer:
    """The state a printer keeps while reading a stream."""

    out: Decoded = field(default_factory=Decoded)
    line: list[Segment] = field(default_factory=list)
    chinese: bool = False
    width: int = 1
    height: int = 1
    bold: bool = False
    inverted: bool = False
    qr_data: bytes | None = None

    def reset(self) -> None:
        self.chinese, self.width, self.height, self.bold, self.inverted = False, 1, 1, False, False

    def end_line(self) -> None:
        if self.line:
            self.out.lines.append(self.line)
        self.line = []

    def at_line_start(self, what: str) -> None:
        if self.line:
            raise ValueError(f"{what} with {''.join(s.text for s in self.line)!r} pending on the line: ignored")

    def text(self, data: bytes) -> None:
        if not self.chinese and any(byte >= 0x80 for byte in data):
            raise ValueError(f"multi-byte text outside Chinese character mode (no FS & since ESC @): {data[:16]!r}")
        self.line.append(Segment(data.decode("gb18030"), self.width, self.height, self.bold, self.inverted))

    def qr(self, params: bytes, data: bytes) -> None:
        cn, fn = params
        if cn != 49:
            raise UnknownCommand(f"GS ( k for symbol type {cn}, not QR")
        if fn == 80:  # store: m = 48, then the data
            self.qr_data = data[1:]
        elif fn == 81:  # print the stored symbol
            self.at_line_start("QR print")
            if self.qr_data is None:
                raise ValueError("QR print without stored data")
            self.out.qr_payloads.append(self.qr_data.decode("utf-8"))
        elif fn not in (65, 67, 69):  # model, module size, error correction
            raise UnknownCommand(f"GS ( k QR function {fn}")

    def raster(self, params: bytes, data: bytes) -> None:
        self.at_line_start("GS v 0")
        if params[0] not in (0, 1, 2, 3, 48, 49, 50, 51):
            raise UnknownCommand(f"GS v 0 mode {params[0]}")
        self.out.images.append((_little(params[1:3]) * 8, _little(params[3:5])))
        self.out.rasters.append(data)

    def apply(self, token: Token) -> None:
        self.out.commands.append(token.name)
        n = token.params[0] if token.params else 0
        match token.name:
            case "text":
                self.text(token.data)
            case "LF":
                self.end_line()
            case "ESC d":
                self.end_line()
            case "ESC @":
                self.end_line()
                self.reset()
            case "FS &" | "FS .":
                self.chinese = token.name == "FS &"
            case "ESC a":
                self.at_line_start("ESC a")
                if n not in (0, 1, 2, 48, 49, 50):
                    raise UnknownCommand(f"ESC a {n}")
            case "ESC !":
                self.width, self.height, self.bold = 2 if n & 0x20 else 1, 2 if n & 0x10 else 1, bool(n & 0x08)
            case "GS !":
                self.width, self.height = (n >> 4) + 1, (n & 0x0F) + 1
                if self.width > 8 or self.height > 8:
                    raise UnknownCommand(f"GS ! {n:#04x}")
            case "ESC E":
                self.bold = bool(n & 1)
            case "GS B":
                self.inverted = bool(n & 1)
            case "GS V":
                self.end_line()
                self.out.cuts += 1
            case "DLE EOT":
                if not 1 <= n <= 4:
                    raise UnknownCommand(f"DLE EOT {n}")
                self.out.status_queries.append(n)
            case "GS ( k":
                self.qr(token.params, token.data)
            case "GS v 0":
                self.raster(token.params, token.data)
            case "ESC -" | "ESC M" | "ESC t":
                pass  # no effect on what the tests read


def decode(data: bytes) -> Decoded:
    """Read a whole stream; raises UnknownCommand / ValueError on anything a printer would not print as meant."""
    printer = _Printer()
    i = 0
    while i < len(data):
        found = next_token(data, i)
        if found is None:
            raise ValueError(f"the stream ends inside a command at offset {i}: {data[i:i + 8].hex(' ')}")
        token, i = found
        printer.apply(token)
    printer.end_line()
    return printer.out
