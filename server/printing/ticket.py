"""One paper ticket as ESC/POS bytes: the layout is decided once, then drawn as printer text or as one raster image.

Text mode sends Chinese as GB18030 bytes in the printer's Chinese character mode (FS &): 300-500 bytes a ticket;
python-escpos's own ``text()`` cannot be used for it: it only switches to GB18030 when a string holds a character
in U+4E00..U+9FA5, so a run of full-width punctuation ("（，：￥）") or a rarer character becomes "?" and FS & is never
sent. Image mode draws everything with a TrueType font, for printers without a Chinese font (40-60 KB a ticket).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import qrcode
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from PIL import Image, ImageDraw, ImageFont

from server.printing.settings import TICKET_FIELDS, PrinterConfig, TicketLayout

#: Chinese character mode on: multi-byte GB18030 sequences print as 24x24 characters (ESC @ may turn it off).
FS_CHINESE_MODE = b"\x1c\x26"
#: Font A: ASCII is 12x24 dots, a Chinese character 24x24, so a line holds dots // 12 columns.
COLUMN_DOTS = 12
LINE_DOTS = 24
#: A QR module of ~0.75 mm on 80 mm paper and 0.5 mm on 58 mm, read easily by phone cameras.
QR_MODULE_DIVISOR = 96
QR_CAPTION = "扫码查看叫号进度"
#: In an image, a line is this much taller than its font size.
LINE_SPACING = 1.25

# Line breaking: these never start a line, those never end one; runs of ASCII letters/digits stay together.
_CLOSING = frozenset("，。、；：？！）》」』】〕〉”’,.;:?!)]}%")
_OPENING = frozenset("（《「『【〔〈“‘([{")


class FontError(ValueError):
    """The image-mode font cannot be loaded; check_font raises it at start-up rather than at the first ticket."""


@dataclass(frozen=True)
class TicketPrint:
    """What goes on paper. Never anything personal (no name, phone, ID)."""

    hall_name: str
    number: str  # "A012"
    service_name: str  # "居民身份证核发（换领）"
    waiting_ahead: int  # printed as "前面还有 N 人等候"
    issued_at: datetime  # aware, already in the hall's time zone; printed "2026-11-30 09:05"
    windows: str  # where to go (TicketView.windows_text), printed "办理窗口：1号窗口、6号窗口" or "…：4号窗口（二楼）"
    tag: str | None  # "绿色通道" or "预约" or None (printed inverted)
    track_url: str | None  # QR code payload (the resident's phone tracking page)
    notice: str | None  # one line of 一次性告知, e.g. "请携带：户口簿、原身份证" (wrapped)
    reprint: bool = False  # a reprint prints a clear "补打" mark near the top
    complaint_phone: str = ""  # the hall's 投诉电话 (seed 2.2.4), printed "投诉电话：0571-1234567"; "" prints none


# ---------------------------------------------------------------- the layout, shared by both modes

@dataclass(frozen=True)
class _Text:
    """A paragraph; each mode wraps it to its own line width. Empty text is a blank line."""

    text: str
    align: str = "center"  # "center" | "left"
    size: int = 1  # width and height multiplier
    bold: bool = False
    invert: bool = False


@dataclass(frozen=True)
class _Qr:
    payload: str


_Block = _Text | _Qr
_BLANK = _Text("")


def _clean(text: str) -> str:
    """Control and format characters would be ESC/POS commands or invisible on paper: they become spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


def _paragraph(text: str | None, align: str = "center", size: int = 1, bold: bool = False) -> list[_Block]:
    text = _clean(text or "")
    return [_Text(text, align, size, bold)] if text else []


def _field(name: str, ticket: TicketPrint, layout: TicketLayout, columns: int) -> list[_Block]:
    match name:
        case "hall":
            return _paragraph(ticket.hall_name, bold=True)
        case "number":
            number = _clean(ticket.number)
            return _paragraph(number, size=max(1, min(4, columns // max(1, sum(map(_columns, number))))), bold=True)
        case "service":
            return _paragraph(ticket.service_name, size=2, bold=True)
        case "waiting":
            return _paragraph(f"前面还有 {ticket.waiting_ahead} 人等候")
        case "issued_at":
            return _paragraph(f"取号时间：{ticket.issued_at:%Y-%m-%d %H:%M}")
        case "windows":
            windows = _clean(ticket.windows)
            return _paragraph(f"办理窗口：{windows}") if windows else []
        case "tag":
            tag = _clean(ticket.tag or "")
            return [_Text(f" {tag} ", size=2, invert=True)] if tag else []
        case "qr":
            return [_BLANK, _Qr(ticket.track_url), _Text(QR_CAPTION)] if ticket.track_url else []
        case "notice":
            return _paragraph(ticket.notice, align="left")
        case "complaint":
            phone = _clean(ticket.complaint_phone)
            return _paragraph(f"投诉电话：{phone}") if phone else []
        case "footer":
            return _paragraph(layout.footer)
    raise ValueError(f"unknown ticket field {name!r} (known: {', '.join(TICKET_FIELDS)})")


def _ticket_blocks(ticket: TicketPrint, layout: TicketLayout, printer: PrinterConfig) -> list[_Block]:
    columns = printer.dots // COLUMN_DOTS
    blocks: list[_Block] = [_Text(" 补打 ", size=2, invert=True)] if ticket.reprint else []
    for name in layout.fields:
        blocks += _field(name, ticket, layout, columns)
    return blocks


def _test_blocks(printer: PrinterConfig, hall_name: str, now: datetime) -> list[_Block]:
    columns = printer.dots // COLUMN_DOTS
    return [_Text("打印测试页", size=2, bold=True),
            *_paragraph(hall_name, bold=True),
            _Text(f"打印机：{_clean(printer.name)}", align="left"),
            _Text(f"方式：{'文字（GB18030）' if printer.mode == 'text' else '图像（光栅）'}", align="left"),
            _Text(f"纸宽：{printer.paper_width} mm（{printer.dots} 点，{columns} 列）", align="left"),
            _Text("中英混排 ABC 123，全角（，：￥）半角 (,:$)", align="left"),
            _Text(f"时间：{now:%Y-%m-%d %H:%M:%S}", align="left"),
            _BLANK,
            _Qr(f"hallq print-test {printer.name} {now:%Y-%m-%d %H:%M}"),
            _Text("扫描二维码应显示打印机名称与时间")]


# ---------------------------------------------------------------- line breaking

def _columns(ch: str) -> int:
    """Columns a character takes in Chinese mode: every multi-byte GB18030 character prints 24 dots wide."""
    return 2 if len(ch.encode("gb18030", "replace")) > 1 else 1


def _is_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _cut(line: str, following: str) -> int:
    """Where to break ``line`` when ``following`` does not fit on it; never 0: failing better, where it is full."""
    cut = len(line)
    if following in _CLOSING:
        cut -= 1
        while cut and line[cut] in _CLOSING:
            cut -= 1
    elif _is_word(following):
        while cut and _is_word(line[cut - 1]):
            cut -= 1
    while cut and line[cut - 1] in _OPENING:
        cut -= 1
    return cut or len(line)


def _wrap(text: str, limit: float, width: Callable[[str], float]) -> list[str]:
    """Greedy wrapping by display width (CJK is broken anywhere, but not before closing punctuation)."""
    lines: list[str] = []
    line, used = "", 0.0
    for ch in text:
        if not line and ch == " " and lines:
            continue
        w = width(ch)
        if line and used + w > limit:
            cut = _cut(line, ch)
            tail = line[cut:].lstrip()
            if sum(map(width, tail)) + w > limit:
                cut, tail = len(line), ""
            lines.append(line[:cut].rstrip())
            line, used = tail, sum(map(width, tail))
        line += ch
        used += w
    return [*lines, line] if line or not lines else lines


# ---------------------------------------------------------------- shared by both modes

def _job(printer: PrinterConfig) -> Dummy:
    """A byte collector that knows the paper width: with an "Unknown" width in its profile, python-escpos prints a
    warning to stdout on every image(). The profile data is replaced on this instance only (it is shared)."""
    job = Dummy(profile=printer.profile)
    data = job.profile.profile_data
    width = data.get("media", {}).get("width", {})
    pixels = width.get("pixels", "Unknown")
    if pixels == "Unknown":
        job.profile.profile_data = {**data, "media": {**data.get("media", {}),
                                                      "width": {**width, "pixels": printer.dots}}}
    elif int(pixels) < printer.dots:  # a 180 dpi head: lines and images sized for 203 dpi would not fit
        raise ValueError(f"printer {printer.name!r}: profile {printer.profile!r} prints {pixels} dots a line, "
                         f"fewer than the {printer.dots} of {printer.paper_width} mm paper")
    return job


def _qr_image(payload: str, module: int) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=module, border=0)
    code.add_data(payload)
    code.make(fit=True)
    return code.make_image().get_image().convert("1")


# ---------------------------------------------------------------- text mode

class _TextJob:
    """ESC/POS text; a style command is sent only when the style changes, since bytes are the budget."""

    def __init__(self, printer: PrinterConfig):
        self.printer = printer
        self.out = _job(printer)
        self.out.hw("INIT")
        self.out._raw(FS_CHINESE_MODE)
        self.align, self.size, self.bold, self.invert = "left", 1, False, False

    def _style(self, align: str, size: int, bold: bool, invert: bool) -> None:
        if align != self.align:
            self.out.set(align=align)
        if size != self.size:
            self.out.set(custom_size=True, width=size, height=size)  # GS !: ESC ! does not enlarge Chinese
        if bold != self.bold:
            self.out.set(bold=bold)
        if invert != self.invert:
            self.out.set(invert=invert)
        self.align, self.size, self.bold, self.invert = align, size, bold, invert

    def text(self, block: _Text) -> None:
        self._style(block.align, block.size, block.bold, block.invert)
        limit = self.printer.dots // COLUMN_DOTS // block.size
        lines = _wrap(block.text, limit, _columns)
        self.out._raw(b"".join(line.encode("gb18030", "replace") + b"\n" for line in lines))

    def qr(self, block: _Qr) -> None:
        self._style("center", 1, False, False)
        module = self.printer.dots // QR_MODULE_DIVISOR
        if self.out.profile.supports("qrCode"):
            self.out.qr(block.payload, ec=QR_ECLEVEL_M, size=module, native=True)
        else:  # e.g. the POS-5890 profile: the printer gets the code as a raster
            self.out.image(_qr_image(block.payload, module), center=True)

    def finish(self) -> bytes:
        self.out.cut()
        return self.out.output


def _render_text(blocks: Iterable[_Block], printer: PrinterConfig) -> bytes:
    job = _TextJob(printer)
    for block in blocks:
        if isinstance(block, _Qr):
            job.qr(block)
        else:
            job.text(block)
    return job.finish()


# ---------------------------------------------------------------- image mode

@functools.lru_cache(maxsize=32)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """Loading a CJK collection takes ~7 ms, so each (path, size) is loaded once."""
    try:
        return ImageFont.truetype(path, size)
    except OSError as exc:
        raise FontError(f"cannot load the ticket font {path!r}: {exc}") from exc


@functools.lru_cache(maxsize=8192)
def _advance(path: str, size: int, ch: str) -> float:
    """One character's width in dots: measuring takes ~0.1 ms, and tickets repeat a few hundred characters."""
    return _font(path, size).getlength(ch)


def check_font(path: str) -> None:
    """Raise FontError (naming the path) unless the font loads, so a bad path fails at start-up."""
    _font(path, LINE_DOTS)


def _line_image(text: str, block: _Text, font: ImageFont.FreeTypeFont, dots: int, stroke: int) -> Image.Image:
    ascent, descent = font.getmetrics()
    height = round(font.size * LINE_SPACING)
    line = Image.new("1", (dots, height), 1)
    if not text:
        return line
    draw = ImageDraw.Draw(line)
    width = font.getlength(text) + 2 * stroke
    x = (dots - width) / 2 if block.align == "center" else 0
    if block.invert:
        draw.rectangle((x, 0, x + width, height - 1), fill=0)
    ink = 1 if block.invert else 0
    draw.text((x + stroke, (height - ascent - descent) / 2), text, font=font, fill=ink,
              stroke_width=stroke, stroke_fill=ink)
    return line


def _image_pieces(blocks: Iterable[_Block], printer: PrinterConfig) -> Iterable[Image.Image]:
    dots = printer.dots
    for block in blocks:
        if isinstance(block, _Qr):
            code = _qr_image(block.payload, dots // QR_MODULE_DIVISOR)
            piece = Image.new("1", (dots, code.height), 1)
            piece.paste(code, ((dots - code.width) // 2, 0))
            yield piece
            continue
        font = _font(printer.font, LINE_DOTS * block.size)
        stroke = max(1, block.size // 2) if block.bold else 0
        width = functools.partial(_advance, printer.font, LINE_DOTS * block.size)
        for text in _wrap(block.text, dots - 2 * stroke - 2, width):
            yield _line_image(text, block, font, dots, stroke)


def _render_image(blocks: Iterable[_Block], printer: PrinterConfig) -> bytes:
    pieces = list(_image_pieces(blocks, printer))
    canvas = Image.new("1", (printer.dots, sum(piece.height for piece in pieces)), 1)
    top = 0
    for piece in pieces:
        canvas.paste(piece, (0, top))
        top += piece.height
    job = _job(printer)
    job.hw("INIT")
    job.image(canvas, impl="bitImageRaster")
    job.cut()
    return job.output


# ---------------------------------------------------------------- public

def render_text(ticket: TicketPrint, layout: TicketLayout, printer: PrinterConfig) -> bytes:
    """The ticket as printer text: small and fast, needs a printer with a GB18030 Chinese font."""
    return _render_text(_ticket_blocks(ticket, layout, printer), printer)


def render_image(ticket: TicketPrint, layout: TicketLayout, printer: PrinterConfig) -> bytes:
    """The ticket as one raster (GS v 0) drawn with printer.font: for printers without a Chinese font."""
    return _render_image(_ticket_blocks(ticket, layout, printer), printer)


_RENDERERS: dict[str, Callable[[Iterable[_Block], PrinterConfig], bytes]] = {
    "text": _render_text, "image": _render_image}


def _renderer(printer: PrinterConfig) -> Callable[[Iterable[_Block], PrinterConfig], bytes]:
    try:
        return _RENDERERS[printer.mode]
    except KeyError:
        raise ValueError(f"printer {printer.name!r}: unknown mode {printer.mode!r} (text or image)") from None


def render(ticket: TicketPrint, layout: TicketLayout, printer: PrinterConfig) -> bytes:
    """The ticket in the printer's configured mode."""
    return _renderer(printer)(_ticket_blocks(ticket, layout, printer), printer)


def test_page(printer: PrinterConfig, hall_name: str, now: datetime) -> bytes:
    """What `hallq print-test` prints: the printer's settings, mixed Chinese/ASCII/full-width text, a QR, a cut."""
    return _renderer(printer)(_test_blocks(printer, hall_name, now), printer)
