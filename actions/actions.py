"""Custom actions of the assistant. Wording lives in domain.yml responses."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue.suggestions import none_of_these_payload, suggest_options
from bot.reflection.bank import get_bank
from bot.reflection.compose import compose, get_wording, summary_text
from bot.reflection.cues import get_analyzer
from bot.reflection.intake import Turn, gate, handle_message, is_complete, next_question
from bot.reflection.scoring import Picture, Scores, pick, score

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


class ActionCheckIntake(Action):
    """Decide where a request to reflect leads (sets `intake_gate`; the rules branch on it)."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_check_intake"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Set the gate, and clear the stored answers when starting over."""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        where, clear = gate(get_bank(), tracker.get_slot("consent_given"), tracker.get_slot("intake_answers"), intent)
        events = [SlotSet("intake_gate", where)]
        if clear or where == "start":
            events += [SlotSet("intake_answers", {}), SlotSet("intake_current", None)]
        return events


class ActionAskIntakeCurrent(Action):
    """Ask the next intake question: free text, or a statement rated 1-5 with buttons."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_ask_intake_current"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Send the first unanswered question with its progress."""
        bank = get_bank()
        question = next_question(bank, tracker.get_slot("intake_answers") or {})
        if question is None:
            return []
        progress = bank.progress.format(number=bank.index(question.id) + 1, total=len(bank.questions))
        if question.is_rating:
            buttons = [
                {"title": bank.scale_labels[value], "payload": f'/rate{{"rating": "{value}"}}'}
                for value in range(bank.scale_min, bank.scale_max + 1)
            ]
            dispatcher.utter_message(text=f"{progress} {question.text}\n{bank.scale_prompt}", buttons=buttons)
        else:
            dispatcher.utter_message(text=f"{progress} {question.text}")
        return []


def _intake_turn(tracker: Tracker, slot_value: Any = None) -> Turn:
    """What the latest message does to the intake."""
    latest = tracker.latest_message or {}
    intent = latest.get("intent") or {}
    return handle_message(
        get_bank(),
        tracker.get_slot("intake_answers"),
        str(latest.get("text") or slot_value or ""),
        intent.get("name"),
        float(intent.get("confidence") or 0.0),
        list(latest.get("entities") or []),
        (latest.get("crisis") or {}).get("level"),
    )


class ValidateIntakeForm(FormValidationAction):
    """Store each intake answer, or handle skip, back and "why do you ask?"."""

    def name(self) -> str:
        """Return the action's name."""
        return "validate_intake_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Reject the form when the message asks for something else, so the dialogue rules answer it."""
        if tracker.get_slot("intake_current") is not None and _intake_turn(tracker).interrupt:
            return [SlotSet("intake_current", None), ActionExecutionRejected(self.form_name())]
        return await super().run(dispatcher, tracker, domain)

    async def validate_intake_current(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Apply the message to the answers; keep the form going until every question is done."""
        turn = _intake_turn(tracker, slot_value)
        for response in turn.responses:
            dispatcher.utter_message(response=response)
        for text in turn.say:
            dispatcher.utter_message(text=text)
        return {"intake_answers": turn.answers, "intake_current": "complete" if turn.complete else None}


def _reflect(answers: dict[str, Any]) -> tuple[Scores, Picture]:
    scores = score(answers, get_bank(), get_analyzer())
    return scores, pick(scores, get_wording()["thresholds"])


def _completed_answers(tracker: Tracker, dispatcher: CollectingDispatcher) -> dict[str, Any] | None:
    """The finished intake's answers, or None after offering a reflection when there are none."""
    answers: dict[str, Any] = tracker.get_slot("intake_answers") or {}
    if is_complete(get_bank(), answers):
        return answers
    dispatcher.utter_message(response="utter_no_reflection_yet")
    return None


class ActionReflect(Action):
    """Give the non-diagnostic reflection once the intake is complete."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_reflect"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Send the reflection and the next steps; keep the pattern and summary in slots."""
        answers = _completed_answers(tracker, dispatcher)
        if answers is None:
            return []
        scores, picture = _reflect(answers)
        for message in compose(scores, picture, answers).messages:
            dispatcher.utter_message(text=message)
        dispatcher.utter_message(response="utter_reflection_next_steps")
        return [
            SlotSet("reflection_pattern", picture.pattern),
            SlotSet("reflection_summary", summary_text(get_bank(), answers, scores, picture)),
            SlotSet("intake_current", None),
        ]


class ActionReflectionSummary(Action):
    """Show the reflection summary, with a downloadable copy for the web widget."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_reflection_summary"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Send the summary text and a custom payload the widget offers as a file."""
        answers = _completed_answers(tracker, dispatcher)
        if answers is None:
            return []
        scores, picture = _reflect(answers)
        summary = summary_text(get_bank(), answers, scores, picture)
        dispatcher.utter_message(response="utter_summary_intro")
        dispatcher.utter_message(text=summary)
        dispatcher.utter_message(
            json_message={"type": "reflection_summary", "filename": "reflection-summary.txt", "text": summary}
        )
        dispatcher.utter_message(response="utter_reflection_next_steps")
        return [SlotSet("reflection_summary", summary)]


class ActionExplainPattern(Action):
    """Say more about the pattern the reflection named."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_explain_pattern"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Send the pattern's longer explanation, or offer a reflection if there is none yet."""
        pattern = tracker.get_slot("reflection_pattern")
        patterns = get_wording()["patterns"]
        if pattern not in patterns:
            dispatcher.utter_message(response="utter_no_reflection_yet")
            return []
        dispatcher.utter_message(text=str(patterns[pattern]["learn_more"]))
        dispatcher.utter_message(response="utter_reflection_next_steps")
        return []
