from __future__ import annotations

import asyncio
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionDefaultAskAffirmation, ActionDeleteConversation
from bot.settings import PROJECT_ROOT

DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


def _tracker(latest: dict[str, Any]) -> Tracker:
    return Tracker("user-1", {}, latest, [], False, None, {}, "action_listen")


def test_delete_action_confirms_with_domain_response() -> None:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionDeleteConversation().run(dispatcher, _tracker({}), DOMAIN))
    assert events == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_conversation_deleted"]


def test_ask_affirmation_offers_likely_options_and_something_else() -> None:
    latest = {
        "text": "i wanna kno abot the thingy",
        "intent": {"name": "nlu_fallback", "confidence": 0.6},
        "intent_ranking": [
            {"name": "faq", "confidence": 0.4},
            {"name": "reflect_start", "confidence": 0.3},
        ],
        "response_selector": {"faq": {"response": {"utter_action": "utter_faq/what_is_abt"}}},
    }
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionDefaultAskAffirmation().run(dispatcher, _tracker(latest), DOMAIN))
    (message,) = dispatcher.messages
    assert message["response"] == "utter_ask_affirmation_options"
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads == ["what is attachment based therapy", "/reflect_start", "/out_of_scope"]
    assert message["buttons"][-1]["title"] == DOMAIN["responses"]["utter_affirmation_something_else"][0]["text"]
