"""The REST channel's last-resort check, without a running server."""

from __future__ import annotations

import asyncio

from bot.rasa_addons.channels import _validate, ensure_safe_reply


def test_crisis_message_with_empty_reply_gets_crisis_response() -> None:
    replies = asyncio.run(ensure_safe_reply("i want to kill myself", [], None, "rest"))
    assert replies and "988" in replies[0]["text"] and "911" in replies[0]["text"]


def test_crisis_message_with_unrelated_reply_gets_crisis_response_first() -> None:
    unrelated = [{"recipient_id": "x", "text": "Anxious attachment often forms when..."}]
    replies = asyncio.run(ensure_safe_reply("kms", unrelated, None, "rest"))
    assert "988" in replies[0]["text"] and replies[1] == unrelated[0]


def test_crisis_reply_that_names_resources_is_left_alone() -> None:
    good = [{"recipient_id": "x", "text": "Please call 911 now, or call or text 988."}]
    assert asyncio.run(ensure_safe_reply("i want to kill myself", good, None, "rest")) == good


def test_country_metadata_changes_the_resources() -> None:
    replies = asyncio.run(ensure_safe_reply("i want to kill myself", [], {"country": "AU"}, "rest"))
    assert "000" in replies[0]["text"] and "13 11 14" in replies[0]["text"]


def test_empty_reply_to_ordinary_message_gets_a_clear_message() -> None:
    replies = asyncio.run(ensure_safe_reply("what is secure attachment", [], None, "rest"))
    assert "something went wrong on my side" in replies[0]["text"]


def test_ordinary_reply_passes_through() -> None:
    ordinary = [{"recipient_id": "x", "text": "Secure attachment means..."}]
    assert asyncio.run(ensure_safe_reply("what is secure attachment", ordinary, None, "rest")) == ordinary


def test_request_validation() -> None:
    assert _validate({"sender": "a", "message": "hi"}) is None
    assert _validate(None) == "not_json_object"
    assert _validate(["x"]) == "not_json_object"
    assert _validate({"message": "hi"}) == "bad_sender"
    assert _validate({"sender": 5, "message": "hi"}) == "bad_sender"
    assert _validate({"sender": "a", "message": ""}) == "empty_message"
    assert _validate({"sender": "a", "message": {"x": 1}}) == "empty_message"
    assert _validate({"sender": "a", "message": "x" * 5001}) == "message_too_long"
    assert _validate({"sender": "a", "message": "hi", "metadata": "x"}) == "bad_metadata"
