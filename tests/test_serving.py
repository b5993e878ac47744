"""How the Rasa server treats a failing action server: a short timeout and a clear reply."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, FollowupAction
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_addons.serving import (
    answer_failed_actions,
    apply_action_timeout,
    validate_action_results_with_one_validator,
)
from bot.settings import PROJECT_ROOT
from tests.conftest import free_port


def test_the_action_timeout_replaces_rasas_five_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    import rasa.core.actions.action as rasa_action

    monkeypatch.setattr(rasa_action, "DEFAULT_REQUEST_TIMEOUT", 300)
    assert apply_action_timeout(7) == 7
    assert rasa_action.DEFAULT_REQUEST_TIMEOUT == 7
    with pytest.raises(ValueError, match="ACTION_TIMEOUT_SECONDS"):
        apply_action_timeout(0)


def _run_unreachable_action() -> list[object]:
    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    endpoint = EndpointConfig(url=f"http://127.0.0.1:{free_port()}/webhook")  # nothing listens there
    action = RemoteAction("action_check_intake", endpoint)
    tracker = DialogueStateTracker.from_events("s", [], slots=domain.slots)
    return list(
        asyncio.run(
            action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain)
        )
    )


def test_a_failed_action_says_so_and_waits_for_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.shared.exceptions import RasaException

    rasas_own = getattr(RemoteAction.run, "__wrapped__", RemoteAction.run)
    monkeypatch.setattr(RemoteAction, "run", rasas_own)  # restored after the test
    with pytest.raises(RasaException):  # Rasa's own behaviour: the caller drops the action's events
        _run_unreachable_action()
    answer_failed_actions()
    answer_failed_actions()  # a second call does not wrap twice
    assert RemoteAction.run.__wrapped__ is rasas_own
    events = _run_unreachable_action()
    assert isinstance(events[0], BotUttered)
    assert "something went wrong on my side" in str(events[0].text)
    assert "988" in str(events[0].text)
    assert isinstance(events[-1], FollowupAction) and events[-1].action_name == "action_listen"


def test_action_replies_are_checked_by_one_validator_with_rasas_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    from jsonschema import ValidationError

    rasas_own = RemoteAction._validate_action_result
    monkeypatch.setattr(RemoteAction, "_validate_action_result", rasas_own)  # restored after the test
    validate_action_results_with_one_validator()
    validate_action_results_with_one_validator()  # a second call does not wrap twice
    action = RemoteAction("action_check_intake", None)
    valid = {
        "events": [{"event": "slot", "name": "intake_answers", "value": {"q": "an answer"}, "timestamp": None}],
        "responses": [{"text": "Question 2 of 14.", "buttons": [{"title": "1", "payload": "/rate"}]}],
    }
    assert action._validate_action_result(valid) is True
    invalid = {"events": [{"event": "slot", "name": "x"}, {"no_event_key": 1}], "responses": "not a list"}
    with pytest.raises(ValidationError) as raised:
        action._validate_action_result(invalid)
    with pytest.raises(ValidationError) as rasas:
        rasas_own(action, invalid)
    assert raised.value.message == rasas.value.message
    assert "Failed to validate Action server response" in raised.value.message
