"""Paper tickets rendered to ESC/POS and read back with a strict decoder, in both modes and both paper widths."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from escpos.printer import Dummy

from server.config import parse_config
from server.printing import ticket as tickets
from server.printing.settings import Connection, PrinterConfig, TicketLayout
from server.printing.ticket import FontError, TicketPrint, check_font, render, render_image, render_text
from server.wayfinding import Wayfinding
from tests.conftest import SMALL_HALL
from tests.printing.escpos_decode import UnknownCommand, decode

URL = "https://hall.example.gov.cn/t/3f9c2a7b1e4d4c0a9b8e7f6a5d4c3b2a?h=chengguan"  # 70 characters
PUNCTUATION = "（，：￥）"
TICKET = TicketPrint(
    hall_name="城关镇便民服务中心", number="A012", service_name="居民身份证核发（换领）", waiting_ahead=3,
    issued_at=datetime(2026, 11, 30, 9, 5, 41, tzinfo=ZoneInfo("Asia/Shanghai")), windows="1号窗口、6号窗口",
    tag="绿色通道", track_url=URL, notice="请携带：户口簿、原身份证；工本费￥20（当场缴纳），换领期间可办临时身份证",
)
LAYOUT = TicketLayout()
WIDTHS = (80, 58)


def printer(width: int = 80, mode: str = "text", **changes: object) -> PrinterConfig:
    return dataclasses.replace(PrinterConfig("1号取号机", Connection(), mode=mode, paper_width=width), **changes)


def columns(text: str) -> int:
    """Display width on the printer: a multi-byte GB18030 character is two columns."""
    return sum(2 if len(ch.encode("gb18030")) > 1 else 1 for ch in text)


@pytest.mark.parametrize("width", WIDTHS)
def test_text_ticket_reads_back_with_every_field(width: int) -> None:
    data = render_text(TICKET, LAYOUT, printer(width))
    out = decode(data)
    text = "".join(out.texts)
    assert out.double_size_texts[0] == "A012"
    assert "居民身份证核发（换领）" in text  # one line on 80 mm, two on 58 mm
    assert "前面还有 3 人等候" in out.texts
    assert "取号时间：2026-11-30 09:05" in out.texts
    assert "办理窗口：1号窗口、6号窗口" in out.texts
    assert out.inverted_texts == [" 绿色通道 "]
    assert out.qr_payloads == [URL]
    assert TICKET.notice in text and LAYOUT.footer in out.texts
    assert text.index("城关镇") < text.index("A012") < text.index("居民") < text.index("前面") < text.index("请携带")
    assert out.cuts == 1 and out.commands[-2:] == ["ESC d", "GS V"]
    assert "补打" not in text
    assert len(data) <= 1024


@pytest.mark.parametrize("width", WIDTHS)
def test_text_lines_fit_the_paper_and_chinese_mode_is_set_once_before_any_text(width: int) -> None:
    out = decode(render_text(TICKET, LAYOUT, printer(width)))
    for line in out.lines:
        assert columns("".join(s.text for s in line)) * line[0].width <= printer(width).dots // 12
    assert out.commands[:2] == ["ESC @", "FS &"] and out.commands.count("FS &") == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_a_long_notice_is_wrapped_whole_and_no_line_starts_with_closing_punctuation(width: int) -> None:
    out = decode(render_text(TICKET, TicketLayout(fields=("notice",)), printer(width)))
    assert len(out.texts) >= 2 and "".join(out.texts) == TICKET.notice
    assert all(line[0] not in "，。：；）" for line in out.texts)
    assert max(map(columns, out.texts)) <= printer(width).dots // 12


def test_ascii_words_are_not_split_across_lines() -> None:
    notice = "Please bring your resident identity card and household register booklet 请携带身份证"
    out = decode(render_text(dataclasses.replace(TICKET, notice=notice), TicketLayout(fields=("notice",)),
                             printer(58)))
    assert len(out.texts) >= 3
    assert all(word in notice.split() for line in out.texts[:-1] for word in line.split())


def test_full_width_punctuation_and_mixed_lines_are_sent_as_gb18030() -> None:
    notice = f"收费{PUNCTUATION}：工本费￥20，ABC-123（A4 复印件）"
    data = render_text(dataclasses.replace(TICKET, notice=notice), LAYOUT, printer())
    assert notice.encode("gb18030") in data
    assert notice in decode(data).texts


def test_python_escpos_text_turns_punctuation_into_question_marks_which_is_why_tickets_bypass_it() -> None:
    """Measured with python-escpos 3.1: text() only uses GB18030 when the string holds a character in U+4E00..9FA5;
    otherwise each character is looked up in the single-byte code pages, and full-width ones become "?". Even when
    it does send GB18030, it never turns on Chinese character mode (FS &), and no GB18030 code page can be forced."""
    alone = Dummy()
    alone.text(PUNCTUATION)
    assert alone.output == b"\x1bt\x00?????"
    rare = Dummy()
    rare.text("䶮")  # U+4DAE, in place names; outside U+4E00..9FA5
    assert rare.output.endswith(b"?")
    mixed = Dummy()
    mixed.text("前面" + PUNCTUATION)
    assert mixed.output == ("前面" + PUNCTUATION).encode("gb18030") and b"\x1c&" not in mixed.output
    with pytest.raises(ValueError, match="Chinese character mode"):
        decode(mixed.output)
    with pytest.raises(KeyError):
        Dummy().charcode("GB18030")
    assert PUNCTUATION.encode("gb18030") in render_text(dataclasses.replace(TICKET, notice=PUNCTUATION), LAYOUT,
                                                        printer())


def test_reprint_puts_a_large_inverted_mark_on_the_first_line() -> None:
    out = decode(render_text(dataclasses.replace(TICKET, reprint=True), LAYOUT, printer()))
    assert out.texts[0].strip() == "补打"
    assert out.texts[0] in out.inverted_texts and out.texts[0] in out.double_size_texts
    assert out.texts[1] == "城关镇便民服务中心"


def test_empty_fields_are_left_out() -> None:
    bare = dataclasses.replace(TICKET, tag=None, track_url=None, notice=None, windows="")
    out = decode(render_text(bare, dataclasses.replace(LAYOUT, footer=""), printer()))
    assert out.texts == ["城关镇便民服务中心", "A012", "居民身份证核发（换领）", "前面还有 3 人等候",
                         "取号时间：2026-11-30 09:05"]
    assert out.qr_payloads == [] and out.inverted_texts == [] and out.cuts == 1


ZONED = "1号窗口、6号窗口（一楼）；4号窗口（二楼）"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_windows_line_names_the_zones_in_text_mode(width: int) -> None:
    hall = parse_config(SMALL_HALL)
    windows = Wayfinding(hall).places(hall.windows_serving("id-card"))
    assert windows == "1号窗口（一楼）；3号窗口、4号窗口（二楼）"
    out = decode(render_text(dataclasses.replace(TICKET, windows=ZONED), TicketLayout(fields=("windows",)),
                             printer(width)))
    assert "".join(out.texts) == f"办理窗口：{ZONED}"
    assert all(line[0] not in "，。、；）" for line in out.texts)  # wrapped (58 mm) before a name, not inside
    assert max(map(columns, out.texts)) <= printer(width).dots // 12


@pytest.mark.parametrize("width", WIDTHS)
def test_the_windows_line_names_the_zones_in_image_mode(width: int) -> None:
    """The raster of the windows field is the raster of exactly that line drawn as a plain footer."""
    config = printer(width, "image")
    zoned = render_image(dataclasses.replace(TICKET, windows=ZONED), TicketLayout(fields=("windows",)), config)
    drawn = render_image(TICKET, TicketLayout(fields=("footer",), footer=f"办理窗口：{ZONED}"), config)
    plain = render_image(TICKET, TicketLayout(fields=("windows",)), config)
    assert decode(zoned).rasters == decode(drawn).rasters != decode(plain).rasters


def test_layout_chooses_fields_and_their_order() -> None:
    layout = TicketLayout(fields=("number", "qr", "hall", "footer"), footer="过号请重新取号")
    out = decode(render_text(TICKET, layout, printer()))
    assert out.texts == ["A012", tickets.QR_CAPTION, "城关镇便民服务中心", "过号请重新取号"]
    assert out.qr_payloads == [URL]
    with pytest.raises(ValueError, match="unknown ticket field 'name'"):
        render_text(TICKET, TicketLayout(fields=("number", "name")), printer())


def test_control_characters_in_names_cannot_inject_commands() -> None:
    hostile = dataclasses.replace(TICKET, service_name="居民\x1b@身份证\n核发", hall_name="\x1d V\x00大厅")
    out = decode(render_text(hostile, LAYOUT, printer()))
    assert out.commands.count("ESC @") == 1 and out.cuts == 1
    assert "居民 @身份证 核发" in out.texts and "V 大厅" in out.texts


def test_a_profile_without_native_qr_gets_the_code_as_a_raster() -> None:
    config = printer(58, profile="POS-5890")  # common Chinese 58 mm printer: no GS ( k, no cutter
    out = decode(render_text(TICKET, LAYOUT, config))
    assert out.qr_payloads == [] and out.images and out.images[0][0] == config.dots
    assert "前面还有 3 人等候" in out.texts


@pytest.mark.parametrize("width", WIDTHS)
def test_image_ticket_is_one_raster_as_wide_as_the_paper(width: int) -> None:
    config = printer(width, "image")
    out = decode(render_image(dataclasses.replace(TICKET, reprint=True), LAYOUT, config))
    assert out.texts == [] and out.qr_payloads == []
    assert out.images and all(w == config.dots for w, _ in out.images)
    assert 400 < sum(h for _, h in out.images) < 2000
    assert out.cuts == 1
    blank_rows = sum(row == bytes(config.dots // 8) for raster in out.rasters
                     for row in (raster[i:i + config.dots // 8] for i in range(0, len(raster), config.dots // 8)))
    assert blank_rows < sum(h for _, h in out.images)  # something was drawn


def test_a_profile_narrower_than_the_paper_is_refused() -> None:
    with pytest.raises(ValueError, match="'TM-T88V' prints 512 dots"):  # 180 dpi: 512 dots on 80 mm paper
        render_text(TICKET, LAYOUT, printer(profile="TM-T88V"))


def test_render_follows_the_printer_mode() -> None:
    assert decode(render(TICKET, LAYOUT, printer(mode="image"))).images
    assert decode(render(TICKET, LAYOUT, printer())).qr_payloads == [URL]
    with pytest.raises(ValueError, match="unknown mode 'pdf'"):
        render(TICKET, LAYOUT, printer(mode="pdf"))


def test_a_missing_font_is_a_font_error_naming_the_path(tmp_path) -> None:
    missing = str(tmp_path / "nope.ttc")
    with pytest.raises(FontError, match=re.escape(missing)):
        check_font(missing)
    with pytest.raises(FontError, match=re.escape(missing)):
        render_image(TICKET, LAYOUT, printer(mode="image", font=missing))
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    with pytest.raises(FontError, match=re.escape(str(broken))):
        check_font(str(broken))
    check_font(PrinterConfig("x", Connection()).font)


@pytest.mark.parametrize("width", WIDTHS)
def test_test_page_shows_the_printer_settings_mixed_text_and_a_qr(width: int) -> None:
    now = datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    config = printer(width)
    out = decode(tickets.test_page(config, "城关镇便民服务中心", now))
    text = "".join(out.texts)
    assert "打印机：1号取号机" in text and "文字" in text and f"{width} mm" in text
    assert "中英混排 ABC 123，全角（，：￥）半角 (,:$)" in text
    assert out.qr_payloads == ["hallq print-test 1号取号机 2026-11-30 08:00"]
    assert out.cuts == 1
    image = decode(tickets.test_page(printer(width, "image"), "城关镇便民服务中心", now))
    assert image.images and all(w == config.dots for w, _ in image.images) and image.cuts == 1


def test_the_decoder_refuses_what_a_printer_would_not_print_as_meant() -> None:
    with pytest.raises(UnknownCommand):
        decode(b"\x1b@\x1bJ\x10")  # ESC J: outside the subset hallq sends
    with pytest.raises(ValueError, match="ends inside"):
        decode(b"\x1dv0\x00\x48\x00\x10\x00" + bytes(10))  # 72 x 16 bytes announced, 10 sent
    with pytest.raises(ValueError, match="pending"):
        decode(b"\x1b@\x1c&abc\x1ba\x01")  # justification in mid-line is ignored by printers
    assert decode(b"\x10\x04\x01\x10\x04\x04").status_queries == [1, 4]
