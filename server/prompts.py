"""The kiosk's spoken prompts in 长辈模式: what each screen asks, the item chosen, the ticket's number and window,
read by the hall's own offline voice (the display's engine, server/announcer.py), never by the browser.

The kiosk names a prompt (and the item or the ticket it is about); the sentence is composed here from the hall's
words (vocabulary.KIOSK_PROMPTS), so no text a client sends is ever spoken. The answer names the WAV before it
exists: the resident's screen never waits for the synthesis.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, current_app

from server.announcer import Announcer
from server.operations import Answer, Body, operation
from server.queue import DomainError
from server.vocabulary import KIOSK_PROMPTS
from server.voice.phrase import spell_number, window_words
from server.web import hall

bp = Blueprint("prompts", __name__)


class PromptRequest(Body):
    #: home, category, appointment (what the screen asks), item (needs service), ticket (needs ticket)
    prompt: Literal["home", "category", "appointment", "item", "ticket"]
    #: the item chosen (config.toml [[services]] code): for the prompt item
    service: str | None = None
    #: the ticket just taken (its id): for the prompt ticket
    ticket: int | None = None


class Prompt(Answer):
    #: the sentence, as the kiosk shows it queued for speech
    text: str
    #: the WAV (/audio/<name>.wav), possibly still being made; none when voice is off (the kiosk stays silent)
    audio: str | None


def prompt_text(data: PromptRequest) -> str:
    """The sentence of a prompt, from the hall's words and the hall's own item or ticket."""
    template = KIOSK_PROMPTS[data.prompt]
    if data.prompt == "item":
        service = hall().config.service(data.service or "")
        if service is None:
            raise DomainError("not_found", "unknown_service", "没有这个办理事项")
        return template.replace("{item}", service.name)
    if data.prompt == "ticket":
        if data.ticket is None:
            raise DomainError("invalid", "ticket_required", "请给出号票")
        ticket = hall().engine.ticket(data.ticket)
        yao = current_app.extensions["hallq_announcer"].voice.settings.yao
        return template.replace("{number}", spell_number(ticket.number, yao)).replace(
            "{windows}", window_words(ticket.windows_text or "窗口"))
    return template


@operation(bp, "post", "/api/kiosk/prompts", summary="A spoken prompt of 长辈模式: its sentence and WAV (kiosk)",
           tag="queue", roles=("kiosk",), body=PromptRequest, answer=Prompt, errors=(404,),
           description="Answered at once; the WAV is synthesised in the background and served at /audio/<name> "
           "(which waits for it). Only sentences of the hall's words: no text from the kiosk is spoken.")
def prompt(data: PromptRequest) -> dict[str, Any]:
    text = prompt_text(data)
    announcer: Announcer = current_app.extensions["hallq_announcer"]
    return {"text": text, "audio": announcer.speak(text)}
