"""NLU component: runs the crisis detector on every message, after the intent classifier.

It attaches the verdict to the message (`crisis`: level, category, signals) and, when the level
is above none, sets the intent to `crisis` with full confidence, so that slot mappings that
exclude `crisis` reject the message inside forms and the crisis policy answers it. The trained
classifier's own `crisis` intent is only a signal: when the patterns do not confirm it, the next
intent is used; it may raise a message to `concern` on its own only when `classifier_escalates`
is on (off by default, see get_default_config).
It also extracts the user's country ("I'm in the UK") as the entity `country`.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.crisis.detector import combine_with_classifier, get_detector
from bot.crisis.helplines import country_mentioned
from bot.crisis.safety import CRISIS_INTENT

CRISIS_KEY = "crisis"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CrisisDetectorComponent(GraphComponent, IntentClassifier):
    """Sets the `crisis` intent and attaches the detector's verdict to every message."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Runs after an intent classifier, whose `crisis` confidence it reads."""
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """`classifier_escalates`: may the classifier alone raise a message to `concern`.

        `classifier_threshold`: the confidence it then needs. Off by default: measured on the
        development set (bench/crisis.py), letting it escalate raised false alarms on benign
        messages from 0.8% to 33.7%, asking people mid-reflection whether they are suicidal.
        """
        return {"classifier_escalates": False, "classifier_threshold": 0.9}

    def __init__(self, config: dict[str, Any]) -> None:
        """Keep the config; the detector itself loads lazily on first use."""
        self.config = config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CrisisDetectorComponent:
        """Create the component (see GraphComponent)."""
        return cls(config)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CrisisDetectorComponent:
        """Load the component and build the detector now, before the first user waits for it."""
        component = cls.create(config, model_storage, resource, execution_context)
        get_detector()
        return component

    def process(self, messages: list[Message]) -> list[Message]:
        """Assess each message and set its intent and `crisis` verdict."""
        for message in messages:
            text = message.get(TEXT) or ""
            if not text or text.startswith("/"):
                continue  # button payloads carry their intent already
            self._process_one(message, text)
        return messages

    def _process_one(self, message: Message, text: str) -> None:
        ranking: list[dict[str, Any]] = list(message.get(INTENT_RANKING_KEY) or [])
        classifier_confidence = next(
            (float(item.get("confidence") or 0.0) for item in ranking if item.get("name") == CRISIS_INTENT), 0.0
        )
        verdict = get_detector().assess(text)
        if self.config["classifier_escalates"]:
            verdict = combine_with_classifier(
                verdict, classifier_confidence, threshold=float(self.config["classifier_threshold"])
            )
        message.set(CRISIS_KEY, verdict.as_dict(), add_to_output=True)
        others = [item for item in ranking if item.get("name") != CRISIS_INTENT]
        if verdict.is_crisis:
            crisis_intent = {"name": CRISIS_INTENT, "confidence": 1.0}
            message.set(INTENT, crisis_intent, add_to_output=True)
            # Halve the rest so the FallbackClassifier's ambiguity check cannot replace `crisis`.
            halved = [{**item, "confidence": float(item.get("confidence") or 0.0) * 0.5} for item in others]
            message.set(INTENT_RANKING_KEY, [crisis_intent, *halved], add_to_output=True)
        elif (message.get(INTENT) or {}).get("name") == CRISIS_INTENT:
            fallback = others[0] if others else {"name": "nlu_fallback", "confidence": 0.0}
            message.set(INTENT, fallback, add_to_output=True)
            message.set(INTENT_RANKING_KEY, others, add_to_output=True)
        country = country_mentioned(text)
        if country:
            entities = list(message.get(ENTITIES) or [])
            entities.append(
                {"entity": "country", "value": country, "start": 0, "end": len(text), "extractor": type(self).__name__}
            )
            message.set(ENTITIES, entities, add_to_output=True)
