"""Custom actions of the therapist search and consultation requests (thin: bot.directory does the work)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot.directory import db
from bot.directory.flow import (
    PAGE_SIZE,
    Step,
    apply_answer,
    control_of,
    conversation_ref,
    criteria_from_slots,
    explain_no_match,
    is_confident_control,
    is_question_aside,
    present,
    start_values,
    widen_updates,
)
from bot.directory.models import Referral, Therapist
from bot.directory.search import search, widenings
from bot.directory.understand import SLOTS, read_contact, read_contact_method, read_message, refers_to
from bot.directory.vocab import get_vocab

logger = logging.getLogger(__name__)


def _latest(tracker: Tracker) -> tuple[str, str | None, list[dict[str, Any]]]:
    latest = tracker.latest_message or {}
    return str(latest.get("text") or ""), (latest.get("intent") or {}).get("name"), list(latest.get("entities") or [])


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in _latest(tracker)[2]:
        if entity.get("entity") == name and entity.get("value") is not None:
            return str(entity["value"])
    return None


def _slots(tracker: Tracker) -> dict[str, Any]:
    return {name: tracker.get_slot(name) for name in tracker.slots if name.startswith("search_")}


class ActionStartTherapistSearch(Action):
    """Start a new search, filling what the opening message already says."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_start_therapist_search"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Reset the search slots to what the message says (the form then asks for the rest)."""
        text, intent, _ = _latest(tracker)
        values = start_values(text if intent == "find_therapist" and not text.startswith("/") else "")
        values["search_unclear"] = False
        return [SlotSet(name, value) for name, value in values.items()]


def _question_response(intent: str | None, latest: dict[str, Any]) -> str:
    """The response that answers a question asked in the middle of the search."""
    if intent == "faq":
        selected = ((latest.get("response_selector") or {}).get("faq") or {}).get("response") or {}
        return str(selected.get("utter_action") or "utter_help")
    return "utter_iamabot" if intent == "bot_challenge" else "utter_help"


class ValidateTherapistSearchForm(FormValidationAction):
    """Read each answer of therapist_search_form; unclear answers are asked again with examples."""

    def name(self) -> str:
        """Return the action's name."""
        return "validate_therapist_search_form"

    def _answer(self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        text, intent, _ = _latest(tracker)
        if not isinstance(value, str) or value != text:
            # Filled before the question was asked (from the opening message): already normalised.
            return {slot: value}
        if _entity(tracker, "search_field") in SLOTS:  # a "change this answer" button
            return self._refine(slot, text, dispatcher, tracker)
        latest = tracker.latest_message or {}
        confidence = float((latest.get("intent") or {}).get("confidence") or 0.0)
        if is_question_aside(text, intent, confidence):
            dispatcher.utter_message(response=_question_response(intent, latest))
            return {slot: None, "search_unclear": False}
        step = apply_answer(_slots(tracker), text, slot)
        # Otherwise an answer wins over what the intent classifier thought ("online" is not "refine").
        answered = step.updates.get(slot) is not None
        changing = "utter_search_changing" in step.responses
        control = None if changing else control_of(step, slot, text, intent, confidence)
        if control == "stop":
            # Ends the form; action_search_therapists then says the search stopped.
            return {slot: None, "requested_slot": None, "search_stopped": True, "search_unclear": False}
        if control == "start_over":
            dispatcher.utter_message(response="utter_search_start_over")
            return {**start_values(""), "search_unclear": False}
        if not answered and not changing and intent == "refine_search" and is_confident_control(confidence):
            return self._refine(slot, text, dispatcher, tracker)
        if changing:
            dispatcher.utter_message(response="utter_search_changing")
        step.updates["search_unclear"] = any(r.startswith("utter_search_reask") for r in step.responses)
        return step.updates

    def _refine(self, slot: str, text: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        """A change request in the middle of the form: empty that answer, or ask which one."""
        field = _entity(tracker, "search_field")
        if field not in SLOTS:
            cleared = read_message(text).cleared if not text.startswith("/") else []
            field = cleared[0] if cleared else None
        updates: dict[str, Any] = {slot: None, "search_unclear": False}
        if field is None:
            dispatcher.utter_message(response="utter_ask_refine")
            return updates
        dispatcher.utter_message(response="utter_search_changing")
        updates[field] = None
        return updates

    async def validate_search_state(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The state (from a name, a code, a ZIP or a city)."""
        return self._answer("search_state", slot_value, dispatcher, tracker)

    async def validate_search_insurance(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The insurer, self-pay (with a budget) or not sure."""
        return self._answer("search_insurance", slot_value, dispatcher, tracker)

    async def validate_search_needs(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """What the user wants help with."""
        return self._answer("search_needs", slot_value, dispatcher, tracker)

    async def validate_search_format(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """In person, online or either."""
        return self._answer("search_format", slot_value, dispatcher, tracker)

    async def validate_search_for(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Who the sessions are for."""
        return self._answer("search_for", slot_value, dispatcher, tracker)

    async def validate_search_preferences(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Optional language, gender and license preferences ("no preference" is an answer)."""
        return self._answer("search_preferences", slot_value, dispatcher, tracker)


class ActionSearchTherapists(Action):
    """Show the best three matches, the next page, or a widened search; explain when nothing matches."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_search_therapists"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Query the directory and send cards with buttons."""
        slots = _slots(tracker)
        if slots.get("search_stopped"):
            dispatcher.utter_message(response="utter_search_stopped")
            return [SlotSet("search_stopped", False)]
        if not slots.get("search_state"):
            dispatcher.utter_message(response="utter_no_search_yet")
            return []
        _, intent, _ = _latest(tracker)
        events: list[dict[str, Any]] = []
        offset = 0
        if intent == "more_results":
            offset = int(slots.get("search_page") or 0) + PAGE_SIZE
        vocab = get_vocab()
        criteria = criteria_from_slots(slots, vocab)
        try:
            with db.session_scope() as session:
                page = search(session, criteria=criteria, limit=PAGE_SIZE, offset=offset)
                if page.total and offset >= page.total:
                    offset = 0
                    page = search(session, criteria=criteria, limit=PAGE_SIZE, offset=0)
                if not page.matches:
                    options = widenings(session, criteria=criteria, neighbours=vocab.neighbours(criteria.state))
                    text, buttons = explain_no_match(criteria, options, vocab)
                    dispatcher.utter_message(text=text, buttons=buttons)
                    return [*events, SlotSet("search_page", 0), SlotSet("search_shown", [])]
                shown = present(page, criteria, vocab)
        except SQLAlchemyError:
            logger.exception("Therapist directory query failed")
            dispatcher.utter_message(response="utter_search_unavailable")
            return events
        for text in shown.texts:
            dispatcher.utter_message(text=text)
        for item in shown.cards:
            dispatcher.utter_message(text=item["text"])
        dispatcher.utter_message(json_message={"type": "therapist_cards", "cards": shown.cards})
        dispatcher.utter_message(response="utter_search_results_next", buttons=shown.buttons)
        return [*events, SlotSet("search_page", offset), SlotSet("search_shown", shown.shown)]


def _widened(key: str, tracker: Tracker) -> list[dict[str, Any]]:
    changes = widen_updates(key, _slots(tracker))
    return [SlotSet("refine_gate", "widened"), SlotSet("search_page", 0), *[SlotSet(k, v) for k, v in changes.items()]]


class ActionRefineSearch(Action):
    """Change one answer of a finished search (the form then asks it again), or apply a widening."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_refine_search"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Set refine_gate for the rules: widened (search again), chosen (the form asks again) or ask."""
        if not tracker.get_slot("search_state"):
            dispatcher.utter_message(response="utter_no_search_yet")
            return [SlotSet("refine_gate", "ask")]
        widen = _entity(tracker, "widen")
        if widen:
            return _widened(widen, tracker)
        field = _entity(tracker, "search_field")
        text = _latest(tracker)[0]
        reading = read_message(text) if not text.startswith("/") else None
        if reading is not None and reading.method == "any" and field is None:
            return _widened("method", tracker)
        if field not in SLOTS:
            field = reading.cleared[0] if reading is not None and reading.cleared else None
        if field is None:
            dispatcher.utter_message(response="utter_ask_refine")
            return [SlotSet("refine_gate", "ask")]
        events = [SlotSet("refine_gate", "chosen"), SlotSet(field, None), SlotSet("search_unclear", False)]
        events += [SlotSet("search_page", 0), SlotSet("search_nearby", False)]
        if field == "search_state":
            events += [SlotSet("search_city", None), SlotSet("search_zip", None)]
        if field == "search_insurance":
            events.append(SlotSet("search_budget", None))
        return events


class ActionStartConsultation(Action):
    """Pick the therapist for a consultation request (from a button or "the first one")."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_start_consultation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Set consultation_gate: ready (form starts) or choose (results shown again)."""
        shown = [int(i) for i in tracker.get_slot("search_shown") or []]
        text = _latest(tracker)[0]
        chosen = refers_to(text, shown, _entity(tracker, "therapist_id"))
        if chosen is None:
            if shown:
                dispatcher.utter_message(response="utter_consultation_choose")
                return [SlotSet("consultation_gate", "choose")]
            dispatcher.utter_message(response="utter_no_search_yet")
            return [SlotSet("consultation_gate", "choose")]
        try:
            with db.session_scope() as session:
                therapist = session.get(Therapist, chosen)
                name = therapist.name if therapist else None
        except SQLAlchemyError:
            logger.exception("Therapist directory query failed")
            dispatcher.utter_message(response="utter_search_unavailable")
            return [SlotSet("consultation_gate", "choose")]
        if name is None:
            dispatcher.utter_message(response="utter_consultation_choose")
            return [SlotSet("consultation_gate", "choose")]
        reset = [
            "referral_consent",
            "referral_contact_method",
            "referral_contact",
            "referral_times",
            "referral_attach_summary",
        ]
        return [
            SlotSet("consultation_gate", "ready"),
            SlotSet("referral_therapist", chosen),
            SlotSet("referral_name", name),
            SlotSet("referral_unclear", False),
            *[SlotSet(slot, None) for slot in reset],
        ]


class ValidateConsultationForm(FormValidationAction):
    """Consent, contact method and detail (checked), times, and whether to attach the summary."""

    def name(self) -> str:
        """Return the action's name."""
        return "validate_consultation_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        """Stop after a "no" to consent; ask about the summary only when there is one."""
        if tracker.get_slot("referral_consent") is False:
            return []
        if not tracker.get_slot("reflection_summary"):
            return [slot for slot in domain_slots if slot != "referral_attach_summary"]
        return domain_slots

    def _aside(
        self, slot: str, answered: bool, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any] | None:
        """A question to answer, or "stop" / "start over" (which end the request), instead of an answer."""
        if answered:
            return None
        text, intent, _ = _latest(tracker)
        latest = tracker.latest_message or {}
        confidence = float((latest.get("intent") or {}).get("confidence") or 0.0)
        if is_question_aside(text, intent, confidence):
            dispatcher.utter_message(response=_question_response(intent, latest))
            return {slot: None, "referral_unclear": False}
        if control_of(Step(), slot, text, intent, confidence):
            return {slot: None, "referral_consent": False, "requested_slot": None}
        return None

    async def validate_referral_contact_method(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """e-mail, phone or text; a contact detail typed straight away is kept too."""
        text = str(slot_value or "")
        method = read_contact_method(text)
        aside = self._aside("referral_contact_method", method is not None, dispatcher, tracker)
        if aside is not None:
            return aside
        if method is None:
            return {"referral_contact_method": None, "referral_unclear": True}
        result: dict[str, Any] = {"referral_contact_method": method, "referral_unclear": False}
        contact = read_contact(method, text)
        if contact.value:
            result["referral_contact"] = contact.value
        return result

    async def validate_referral_contact(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A valid e-mail address or US phone number, normalised."""
        method = str(tracker.get_slot("referral_contact_method") or "phone")
        text = str(slot_value or "")
        if text.startswith("+"):  # already normalised (typed together with the method)
            return {"referral_contact": text, "referral_unclear": False}
        contact = read_contact(method, text)
        aside = self._aside("referral_contact", contact.value is not None, dispatcher, tracker)
        if aside is not None:
            return aside
        if contact.value is None:
            return {"referral_contact": None, "referral_unclear": True}
        return {"referral_contact": contact.value, "referral_unclear": False}

    async def validate_referral_times(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Free text, kept short."""
        aside = self._aside("referral_times", False, dispatcher, tracker)
        if aside is not None:
            return aside
        text = " ".join(str(slot_value or "").split())[:300]
        return {"referral_times": text or None}


class ActionSubmitReferral(Action):
    """Store the referral (status new) when the user agreed; say honestly what happens next."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_submit_referral"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Save the request, or confirm that nothing was saved."""
        therapist_id = tracker.get_slot("referral_therapist")
        if tracker.get_slot("referral_consent") is not True or therapist_id is None:
            dispatcher.utter_message(response="utter_referral_declined")
            return [SlotSet("referral_contact", None)]
        summary = tracker.get_slot("reflection_summary") if tracker.get_slot("referral_attach_summary") else None
        try:
            with db.session_scope() as session:
                therapist = session.get(Therapist, int(therapist_id))
                if therapist is None:
                    dispatcher.utter_message(response="utter_consultation_choose")
                    return []
                session.add(
                    Referral(
                        therapist_id=therapist.id,
                        conversation_ref=conversation_ref(tracker.sender_id),
                        channel=str(tracker.get_latest_input_channel() or "")[:30],
                        contact_method=str(tracker.get_slot("referral_contact_method")),
                        contact_value=str(tracker.get_slot("referral_contact")),
                        contact_times=str(tracker.get_slot("referral_times") or ""),
                        summary=summary,
                    )
                )
                sample = bool(therapist.is_sample)
        except SQLAlchemyError:
            logger.exception("Could not store a referral")
            dispatcher.utter_message(response="utter_search_unavailable")
            return []
        dispatcher.utter_message(response="utter_referral_saved_sample" if sample else "utter_referral_saved")
        dispatcher.utter_message(response="utter_referral_next")
        return []
