"""How the Rasa server treats the action server, beyond what endpoints.yml can set.

Rasa waits up to 300 s (`DEFAULT_REQUEST_TIMEOUT`) for the action server, and a hung action server
blocks that conversation for the whole time. `apply_action_timeout` lowers the wait for custom
actions to `ACTION_TIMEOUT_SECONDS` (10 by default).

When a custom action fails (timed out, unreachable, or an error on the action server), Rasa drops
its events and lets the policies predict on as if it had run, so the user may get an unrelated
reply ("I didn't understand"). `answer_failed_actions` makes such an action say `utter_no_reply`
(sorry, try again; the emergency numbers) and wait for the user. Crisis replies never need the
action server. Form validation rejections are not failures and pass through unchanged.

Rasa checks every reply of the action server with `jsonschema.validate`, which first checks the
schema itself against JSON Schema's metaschema, on every call: measured in a conversation through
the intake and the therapist search, that was 74% of the Rasa server's CPU time.
`validate_action_results_with_one_validator` checks the same replies against the same schema
with a validator built once.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.settings import get_settings

logger = logging.getLogger(__name__)
NO_REPLY_RESPONSE = "utter_no_reply"
_MARK = "_answers_failures"


def configure_serving() -> None:
    """Apply the action timeout and the reply to failed actions (idempotent)."""
    apply_action_timeout()
    answer_failed_actions()
    validate_action_results_with_one_validator()


def validate_action_results_with_one_validator() -> None:
    """Validate the action server's replies with one prebuilt validator instead of a new one per reply.

    A valid reply passes the same schema as before; an invalid one goes to Rasa's own check, which
    raises its usual error.
    """
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction._validate_action_result
    if getattr(original, _MARK, False):
        return
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # once, instead of on every reply
    validator = validator_class(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        if validator.is_valid(result):
            return True
        return bool(original(self, result))  # raises Rasa's error for an invalid reply

    setattr(_validate_action_result, _MARK, True)
    RemoteAction._validate_action_result = _validate_action_result


def answer_failed_actions() -> None:
    """Make a failed custom action answer with `utter_no_reply` and then listen."""
    import asyncio

    import aiohttp
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import FollowupAction
    from rasa.shared.exceptions import RasaException

    original = RemoteAction.run
    if getattr(original, _MARK, False):
        return

    async def run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list[Any]:
        try:
            return list(await original(self, output_channel, nlg, tracker, domain))
        except ActionExecutionRejection:
            raise
        except (asyncio.TimeoutError, aiohttp.ClientError, RasaException) as exc:
            logger.error(
                "Custom action %s failed (%s); the user is told to try again.", self.name(), type(exc).__name__
            )
            message = await nlg.generate(NO_REPLY_RESPONSE, tracker, output_channel.name())
            # The processor sends the returned bot utterance to the channel, as for any action.
            events: list[Any] = []
            if message:
                events.append(create_bot_utterance({**message, "utter_action": NO_REPLY_RESPONSE}))
            return [*events, FollowupAction(ACTION_LISTEN_NAME)]

    setattr(run, _MARK, True)
    run.__wrapped__ = original  # type: ignore[attr-defined]
    RemoteAction.run = run


def apply_action_timeout(seconds: int | None = None) -> int:
    """Set how long Rasa waits for a custom action, in seconds.

    Args:
        seconds: The limit; the `ACTION_TIMEOUT_SECONDS` setting when None.

    Returns:
        The limit now in force.
    """
    import rasa.core.actions.action as rasa_action

    limit = int(seconds if seconds is not None else get_settings().action_timeout_seconds)
    if limit <= 0:
        raise ValueError(f"ACTION_TIMEOUT_SECONDS must be positive, got {limit}")
    # RemoteAction.run reads this module-level name on every call.
    rasa_action.DEFAULT_REQUEST_TIMEOUT = limit
    return limit
