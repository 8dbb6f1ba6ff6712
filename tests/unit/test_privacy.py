"""What everyone but the guide desk sees of a resident: 张*三, 138****1234, ****5X."""

from __future__ import annotations

import pytest

from server.privacy import mask_id_digits, mask_name, mask_numbers, mask_phone


@pytest.mark.parametrize(("name", "masked"), [("张三", "张*"), ("李四", "李*"), ("张小三", "张*三"),
                                              ("欧阳小明", "欧**明"), ("王", "*"), (" 赵六 ", "赵*"), ("", "")])
def test_names_keep_their_first_and_last_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(("phone", "masked"), [("13812341234", "138****1234"), ("138-1234-1234", "138****1234"),
                                               ("037112345678", "037*****5678"), ("12345678", "123*5678"),
                                               ("1234567", "***4567"), ("1234", "****"), ("", "")])
def test_phones_keep_three_digits_in_front_and_four_at_the_end(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_id_digits_keep_the_last_two() -> None:
    assert mask_id_digits("12345X") == "****5X"
    assert mask_id_digits(None) is None and mask_id_digits("") is None


def test_long_numbers_in_free_text_keep_their_first_three_and_last_four() -> None:
    assert mask_numbers("请回电13812341234，身份证11010519491231002X") == "请回电138****1234，身份证110***********002X"
    assert mask_numbers("窗口3号，等了25分钟") == "窗口3号，等了25分钟"  # short numbers are no one's phone
