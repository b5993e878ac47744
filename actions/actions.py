"""Custom actions of the assistant. Wording lives in domain.yml responses."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue.suggestions import none_of_these_payload, suggest_options

DomainDict = dict[str, Any]


class ActionDeleteConversation(Action):
    """Confirm the deletion; the tracker store deletes the events when it sees this action."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_delete_conversation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Tell the user the conversation is deleted."""
        dispatcher.utter_message(response="utter_conversation_deleted")
        return []


class ActionDefaultAskAffirmation(Action):
    """First stage of the two-stage fallback: offer the likely options as buttons."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_default_ask_affirmation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Offer up to three likely intents and a "something else" button."""
        latest = tracker.latest_message or {}
        buttons: list[dict[str, Any]] = [
            dict(option)
            for option in suggest_options(latest.get("intent_ranking") or [], latest.get("response_selector") or {})
        ]
        title = domain["responses"]["utter_affirmation_something_else"][0]["text"]
        buttons.append({"title": title, "payload": none_of_these_payload()})
        dispatcher.utter_message(response="utter_ask_affirmation_options", buttons=buttons)
        return []
