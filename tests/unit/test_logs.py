"""Log lines say which consumer, case and event they are about, and untrusted text cannot forge one."""

from __future__ import annotations

import json
import logging

import pytest

from shared.logs import EscapedText, JsonLines, _WithContext, context


def written(formatter: logging.Formatter, message: str, *args: object) -> str:
    record = logging.LogRecord("lianban.test", logging.WARNING, __file__, 1, message, args, None)
    _WithContext().filter(record)
    return formatter.format(record)


def test_a_json_line_carries_the_consumer_the_case_and_the_event() -> None:
    with context(consumer="lianban-demo-intake"), context(case_id="LB1", event_id="e-1"):
        line = json.loads(written(JsonLines(), "dead-lettered %s", "x"))
    assert line["message"] == "dead-lettered x"
    assert (line["consumer"], line["case_id"], line["event_id"]) == ("lianban-demo-intake", "LB1", "e-1")


def test_outside_a_message_there_is_no_context() -> None:
    assert "case_id" not in json.loads(written(JsonLines(), "idle"))


@pytest.mark.parametrize("formatter", [JsonLines(), EscapedText()], ids=["json", "text"])
def test_a_key_with_a_line_break_cannot_forge_a_second_line(formatter: logging.Formatter) -> None:
    forged = "LB1\n2026-11-24 00:00:00 ERROR lianban: 假的记录"
    with context(case_id=forged):
        text = written(formatter, "dead-lettered key %s", forged)
    assert "\n" not in text
    assert "假的记录" in text  # kept, escaped, readable
