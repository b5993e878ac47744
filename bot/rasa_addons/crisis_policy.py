"""Dialogue policy that answers crisis messages first, inside forms too.

Rasa discards every other prediction while a form is active and has not been rejected
(rasa/core/policies/ensemble.py). This policy's predictions are therefore flagged like a form's
(`is_no_user_prediction`) and carry a priority above RulePolicy's. The decision itself is made by
`bot.crisis.safety.decide`; this adapter reads the tracker and turns the decision into a
prediction with the slot events (and the end of any active form) attached.
"""

from __future__ import annotations

from typing import Any

from rasa.core.constants import POLICY_PRIORITY
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME, REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, Event, SlotSet
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.crisis.detector import get_detector
from bot.crisis.safety import CRISIS_INTENT, decide, owned_responses

CRISIS_POLICY_PRIORITY = 6  # RulePolicy is 4, MemoizationPolicy 3, TEDPolicy 1


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class CrisisPolicy(Policy):
    """Predicts the crisis and safety-mode responses chosen by `bot.crisis.safety`."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Priority above every built-in policy."""
        return {POLICY_PRIORITY: CRISIS_POLICY_PRIORITY}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        """Create the policy (see Policy)."""
        super().__init__(config, model_storage, resource, execution_context, featurizer)

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        """Nothing to learn: the rules live in bot.crisis."""
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Predict a crisis or safety response right after a user message, else abstain."""
        probabilities = self._default_predictions(domain)
        last_action = tracker.latest_action_name
        if last_action in owned_responses():
            return self._one_hot(domain, ACTION_LISTEN_NAME, [])
        if last_action != ACTION_LISTEN_NAME or tracker.latest_message is None:
            return self._prediction(probabilities)
        message = tracker.latest_message
        slots = tracker.current_slot_values()
        text = message.text or ""
        intent = message.intent.get("name")
        verdict = message.parse_data.get("crisis") or {}
        if verdict.get("level") in ("high", "imminent"):
            intent = CRISIS_INTENT  # whatever a later NLU component made of the intent
        decision = decide(
            intent,
            message.parse_data.get("crisis"),
            slots,
            self._country(tracker),
            names_imminence=bool(slots.get("safety_mode"))
            and not text.startswith("/")
            and get_detector().has_imminence(text),
        )
        if decision is None or decision.response not in domain.action_names_or_texts:
            return self._prediction(probabilities)
        known = {slot.name for slot in domain.slots}
        events: list[Event] = [SlotSet(name, value) for name, value in decision.slots.items() if name in known]
        if decision.end_form and tracker.active_loop_name:
            events += [ActiveLoop(None), SlotSet(REQUESTED_SLOT, None)]
        return self._one_hot(domain, decision.response, events)

    def _one_hot(self, domain: Domain, action: str, events: list[Event]) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities, events=events, is_no_user_prediction=True)

    @staticmethod
    def _country(tracker: DialogueStateTracker) -> str | None:
        slot = tracker.get_slot("country")
        if slot:
            return str(slot)
        metadata = (tracker.latest_message.metadata if tracker.latest_message else None) or {}
        value = metadata.get("country")
        return str(value) if value else None
