"""The crisis NLU component on single messages, without a trained model."""

from __future__ import annotations

from typing import Any

from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_addons.crisis_component import CRISIS_KEY, CrisisDetectorComponent


def _process(text: str, ranking: list[dict[str, Any]]) -> Message:
    component = CrisisDetectorComponent(CrisisDetectorComponent.get_default_config())
    message = Message(data={TEXT: text, INTENT: ranking[0], INTENT_RANKING_KEY: ranking})
    component.process([message])
    return message


def test_crisis_sets_the_intent_and_no_other_intent_comes_close() -> None:
    ranking = [{"name": "help", "confidence": 0.97}, {"name": "greet", "confidence": 0.03}]
    message = _process("i want to kill myself", ranking)
    assert message.get(INTENT)["name"] == "crisis"
    top, second = message.get(INTENT_RANKING_KEY)[:2]
    # The FallbackClassifier calls a top-two gap under 0.1 ambiguous; the gap must stay wide.
    assert top["confidence"] - second["confidence"] > 0.4
    assert message.get(CRISIS_KEY)["level"] == "high"


def test_a_benign_message_keeps_its_intent() -> None:
    ranking = [{"name": "faq", "confidence": 0.9}, {"name": "help", "confidence": 0.1}]
    message = _process("what is anxious attachment", ranking)
    assert message.get(INTENT)["name"] == "faq"
    assert message.get(CRISIS_KEY)["level"] == "none"


def test_the_classifier_crisis_intent_alone_is_replaced() -> None:
    ranking = [{"name": "crisis", "confidence": 0.8}, {"name": "faq", "confidence": 0.2}]
    message = _process("what is a secure base", ranking)
    assert message.get(INTENT)["name"] == "faq"


def test_button_payloads_are_left_alone() -> None:
    ranking = [{"name": "help_now", "confidence": 1.0}]
    message = _process("/help_now", ranking)
    assert message.get(CRISIS_KEY) is None and message.get(INTENT)["name"] == "help_now"
