"""Exports of the review store: a conversation as a Rasa test story or JSON, the list as CSV.

Everything exported is already anonymized (placeholders such as <PERSON_1>); the exports add no
sender id and no pseudonym hashes.

The story keeps user turns (text and intent), actions, form activations (`active_loop`) and
slots, and only what the project's domain knows, so that `rasa data validate` accepts it:
`action_listen`, session starts and anything the domain does not name are left out (and listed
in a comment at the top).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.review.models import Conversation, Event
from bot.settings import PROJECT_ROOT

DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
# Rasa 3.6's built-in actions, intents and slots (rasa.shared.core.constants), which every domain has.
RASA_DEFAULT_ACTIONS = frozenset(
    {
        "action_listen",
        "action_restart",
        "action_session_start",
        "action_default_fallback",
        "action_deactivate_loop",
        "action_revert_fallback_events",
        "action_default_ask_affirmation",
        "action_default_ask_rephrase",
        "action_two_stage_fallback",
        "action_unlikely_intent",
        "action_back",
        "action_extract_slots",
    }
)
RASA_DEFAULT_INTENTS = frozenset({"restart", "back", "out_of_scope", "session_start", "nlu_fallback"})
RASA_FORM_SLOTS = frozenset({"requested_slot"})
# Not steps of a story: Rasa runs them itself.
SKIPPED_ACTIONS = frozenset({"action_listen", "action_session_start", "action_extract_slots"})
CSV_COLUMNS = (
    "key",
    "channel",
    "started_at",
    "last_event_at",
    "user_turns",
    "max_crisis_level",
    "reached_reflection",
    "requested_therapist",
    "fallbacks",
    "review_status",
    "tags",
)


@dataclass(frozen=True)
class DomainNames:
    """What a Rasa domain names: the only intents, actions, forms and slots a story may use."""

    intents: frozenset[str]
    actions: frozenset[str]
    forms: frozenset[str]
    slots: frozenset[str]

    def knows_action(self, name: str) -> bool:
        """Whether `name` is an action of the domain (including responses and retrieval actions)."""
        retrieval = name.startswith("utter_") and name.removeprefix("utter_") in self.intents
        return name in self.actions or name in self.forms or retrieval


@lru_cache(maxsize=4)
def load_domain(path: Path = DOMAIN_FILE) -> DomainNames:
    """Read the names a story may use from a Rasa domain file.

    Args:
        path: The domain YAML (the project's `domain.yml` by default).

    Returns:
        Its intents, actions (with responses and Rasa's defaults), forms and slots.
    """
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    intents = set(RASA_DEFAULT_INTENTS)
    for item in data.get("intents") or []:
        intents.add(next(iter(item)) if isinstance(item, dict) else str(item))
    actions = set(RASA_DEFAULT_ACTIONS) | {str(a) for a in data.get("actions") or []}
    actions |= {str(name) for name in (data.get("responses") or {})}
    forms = frozenset(str(name) for name in (data.get("forms") or {}))
    slots = frozenset(str(name) for name in (data.get("slots") or {})) | RASA_FORM_SLOTS
    return DomainNames(frozenset(intents), frozenset(actions), forms, slots)


def _slot_value(raw: str) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw


class _LiteralText(str):
    """A user message, written as a YAML block (`user: |`)."""


class _StoryDumper(yaml.SafeDumper):
    """Writes `_LiteralText` as a literal block, everything else as PyYAML's safe dumper does."""


def _literal(dumper: yaml.SafeDumper, text: _LiteralText) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(text), style="|")


_StoryDumper.add_representer(_LiteralText, _literal)


def story_steps(events: Iterable[Event], domain: DomainNames) -> tuple[list[dict[str, Any]], list[str]]:
    """The story steps of a conversation's events.

    Args:
        events: The conversation's events, in `seq` order.
        domain: What the domain names.

    Returns:
        The steps, and a note for each event that was left out because the domain does not know it.
    """
    steps: list[dict[str, Any]] = []
    skipped: list[str] = []
    for event in events:
        if event.kind == "user":
            intent = str(event.intent or "")
            if intent.split("/", 1)[0] not in domain.intents:
                skipped.append(f"event {event.seq}: intent {intent or '(none)'!r} is not in the domain")
                continue
            text = str(event.text or "").strip()
            steps.append({"user": _LiteralText(text + "\n"), "intent": intent} if text else {"intent": intent})
        elif event.kind == "action":
            name = str(event.name or "")
            if name in SKIPPED_ACTIONS:
                continue
            if not domain.knows_action(name):
                skipped.append(f"event {event.seq}: action {name!r} is not in the domain")
                continue
            steps.append({"action": name})
        elif event.kind == "form":
            name = str(event.name or "")
            if name and name not in domain.forms:
                skipped.append(f"event {event.seq}: form {name!r} is not in the domain")
                continue
            steps.append({"active_loop": name or None})
        elif event.kind == "slot":
            name = str(event.name or "")
            if name not in domain.slots:
                skipped.append(f"event {event.seq}: slot {name!r} is not in the domain")
                continue
            steps.append({"slot_was_set": [{name: _slot_value(str(event.value or ""))}]})
    return steps, skipped


def story_yaml(conversation: Conversation, domain: DomainNames | None = None) -> str:
    """One conversation as an anonymized Rasa test story.

    Args:
        conversation: The conversation, with its events.
        domain: What the domain names (the project's `domain.yml` by default).

    Returns:
        A stories YAML document (`version: "3.1"`, one story named after the conversation key).
    """
    steps, skipped = story_steps(conversation.events, domain or load_domain())
    document = {"version": "3.1", "stories": [{"story": f"review {conversation.key}", "steps": steps}]}
    header = [
        f"# Conversation {conversation.key} from the review store, anonymized.",
        "# Only intents, actions, forms and slots of the domain are kept.",
    ]
    header += [f"# Left out: {line}" for line in skipped]
    body = yaml.dump(document, Dumper=_StoryDumper, sort_keys=False, allow_unicode=True, width=1000)
    return "\n".join(header) + "\n" + body


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def conversation_data(conversation: Conversation) -> dict[str, Any]:
    """One conversation as plain data: its facts, events, tags, notes and escalations.

    Args:
        conversation: The conversation.

    Returns:
        A JSON-ready mapping (no sender id, no pseudonym hashes).
    """
    try:
        steps = json.loads(conversation.steps or "[]")
        slots = json.loads(conversation.slots or "{}")
    except ValueError:
        steps, slots = [], {}
    return {
        "key": conversation.key,
        "channel": conversation.channel,
        "started_at": _iso(conversation.started_at),
        "last_event_at": _iso(conversation.last_event_at),
        "user_turns": conversation.user_turns,
        "max_crisis_level": conversation.max_crisis_level,
        "reached_reflection": bool(conversation.reached_reflection),
        "requested_therapist": bool(conversation.requested_therapist),
        "fallbacks": conversation.fallbacks,
        "review_status": conversation.review_status,
        "steps": steps,
        "slots": slots,
        "tags": sorted(tag.tag for tag in conversation.tags),
        "notes": [{"author": n.author, "created_at": _iso(n.created_at), "text": n.text} for n in conversation.notes],
        "events": [
            {
                "seq": e.seq,
                "at": _iso(e.at),
                "kind": e.kind,
                "text": e.text,
                "intent": e.intent,
                "confidence": e.confidence,
                "crisis_level": e.crisis_level,
                "crisis_category": e.crisis_category,
                "name": e.name,
                "value": _slot_value(e.value) if e.kind == "slot" else e.value,
            }
            for e in conversation.events
        ],
        "escalations": [
            {
                "id": x.id,
                "at": _iso(x.at),
                "level": x.level,
                "category": x.category,
                "message": x.message,
                "reply": x.reply,
                "recognized": x.recognized,
                "respectful": x.respectful,
                "right_resource": x.right_resource,
                "comment": x.comment,
                "reviewed_by": x.reviewed_by,
                "reviewed_at": _iso(x.reviewed_at),
            }
            for x in sorted(conversation.escalations, key=lambda x: (x.at, x.id))
        ],
    }


def conversation_json(conversation: Conversation) -> str:
    """One conversation as a JSON document (see `conversation_data`).

    Args:
        conversation: The conversation.

    Returns:
        Indented JSON text.
    """
    return json.dumps(conversation_data(conversation), ensure_ascii=False, indent=2) + "\n"


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def conversations_csv(conversations: Iterable[Conversation]) -> str:
    """The conversation list as CSV, one row per conversation, with a header row.

    Args:
        conversations: The conversations, in the order wanted.

    Returns:
        CSV text (columns as in `CSV_COLUMNS`; booleans as yes/no; tags joined by "; ").
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for c in conversations:
        writer.writerow(
            [
                _cell(value)
                for value in (
                    c.key,
                    c.channel,
                    _iso(c.started_at),
                    _iso(c.last_event_at),
                    c.user_turns,
                    c.max_crisis_level,
                    "yes" if c.reached_reflection else "no",
                    "yes" if c.requested_therapist else "no",
                    c.fallbacks,
                    c.review_status,
                    "; ".join(sorted(tag.tag for tag in c.tags)),
                )
            ]
        )
    return out.getvalue()
