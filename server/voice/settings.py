"""config.toml ``[voice]``: how calls are spoken. A light module: it imports neither the voice engine nor gevent,
so reading config.toml (server.config) does not start either."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from server.config_types import Flag, Integer, Text, between, config_table, fraction, refuse

#: words a minute for the calls a display reads while others wait, unless config.toml says (never below rate)
BUSY_RATE = 200


@config_table
class VoiceSettings:
    """config.toml ``[voice]``."""

    enabled: Flag = True
    #: espeak-ng voice, by its name or file: "cmn-latn-pinyin" (sit/cmn-Latn-pinyin) reads Latin letters as
    #: pinyin; "cmn" reads them, and words like 号/到/口, as English; "zh" does not exist and leaves English on
    voice: Text = "cmn-latn-pinyin"
    rate: between(60, 400, "words a minute; 150 is calm speech") = 150  # words per minute
    volume: fraction("must be a number above 0 and at most 1.0") = 1.0  # 0.0-1.0
    #: readings of the sentence when nobody else waits (played so by the displays)
    repeat: between(1, 3, words="must be 1, 2 or 3 (readings of the sentence in one announcement)") = 2
    yao: Flag = False  # read the digit 1 as 幺 (clearer over a noisy hall)
    chime: Flag = True  # the ding-dong before the sentence when nobody else waits
    busy_rate: Integer = BUSY_RATE  # words a minute for the calls a display reads while others wait
    #: seconds from a call to its number being spoken that the displays keep to
    announce_within: between(5, 120, "seconds from a call to its number being spoken") = 15

    @model_validator(mode="before")
    @classmethod
    def _busy_never_slower(cls, table: Any) -> Any:
        """Without busy_rate, a hall that speaks fast keeps its rate while calls wait."""
        if isinstance(table, dict) and "busy_rate" not in table and isinstance(table.get("rate"), int):
            return {**table, "busy_rate": max(table["rate"], BUSY_RATE)}
        return table

    @model_validator(mode="after")
    def _busy_rate_bounded(self) -> VoiceSettings:
        if not self.rate <= self.busy_rate <= 400:
            raise refuse(f"must be between rate ({self.rate}) and 400 (words a minute while calls wait)", "busy_rate")
        return self
