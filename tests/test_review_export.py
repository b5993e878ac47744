"""Tests for the review exports (bot.review.export): Rasa test story, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.review import export
from bot.review.models import Conversation, Escalation, Event, Note, Tag
from bot.settings import PROJECT_ROOT

RASA = PROJECT_ROOT / ".venv" / "bin" / "rasa"
KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
START = datetime(2026, 3, 1, 10, 0)


def _event(seq: int, kind: str, **fields: Any) -> Event:
    values: dict[str, Any] = {"text": "", "intent": "", "confidence": None, "crisis_level": "", "name": "", "value": ""}
    values.update(fields)
    return Event(seq=seq, at=START + timedelta(seconds=seq), kind=kind, crisis_category="", **values)


def conversation() -> Conversation:
    """An anonymized conversation with every kind of event, and some the domain does not know."""
    events: list[tuple[str, dict[str, Any]]] = [
        ("session", {}),
        ("action", {"name": "action_session_start"}),
        ("action", {"name": "action_listen"}),
        ("user", {"text": "hi, I'm <PERSON_1>", "intent": "greet", "confidence": 0.98, "crisis_level": "none"}),
        ("action", {"name": "utter_intro"}),
        ("bot", {"text": "Hello! I'm a reflection assistant, not a therapist."}),
        ("action", {"name": "consent_form"}),
        ("form", {"name": "consent_form"}),
        ("slot", {"name": "requested_slot", "value": '"consent_given"'}),
        ("action", {"name": "action_listen"}),
        ("user", {"text": "yes", "intent": "affirm", "confidence": 0.95}),
        ("action", {"name": "consent_form"}),
        ("slot", {"name": "consent_given", "value": "true"}),
        ("slot", {"name": "requested_slot", "value": "null"}),
        ("form", {"name": ""}),
        ("action", {"name": "utter_after_consent"}),
        ("action", {"name": "utter_menu"}),
        ("action", {"name": "action_listen"}),
        ("user", {"text": "what is anxious attachment", "intent": "faq/anxious", "confidence": 0.9}),
        ("action", {"name": "utter_faq"}),
        ("action", {"name": "action_listen"}),
        ("user", {"text": "find me a therapist in <LOCATION_1>\nwho takes <INSURANCE_1>", "intent": "find_therapist"}),
        ("action", {"name": "action_start_therapist_search"}),
        ("slot", {"name": "search_state", "value": '"<LOCATION_1>"'}),
        ("slot", {"name": "debug_internal", "value": "1"}),  # not a slot of the domain
        ("action", {"name": "action_made_up"}),  # not an action of the domain
        ("action", {"name": "action_listen"}),
        ("user", {"text": "blorp", "intent": "made_up_intent"}),  # not an intent of the domain
        ("user", {"text": "/affirm", "intent": "affirm", "confidence": 1.0}),  # a button payload
        ("action", {"name": "utter_goodbye"}),
    ]
    return Conversation(
        key=KEY,
        channel="web",
        started_at=START,
        last_event_at=START + timedelta(minutes=5),
        user_turns=6,
        max_crisis_level="none",
        reached_reflection=False,
        requested_therapist=True,
        fallbacks=0,
        review_status="new",
        steps='["entry", "consent", "finder"]',
        slots='{"consent_given": true, "search_state": "<LOCATION_1>"}',
        pseudonyms='{"9a8b7c6d5e4f": "<PERSON_1>"}',
        events=[_event(seq, kind, **fields) for seq, (kind, fields) in enumerate(events, start=1)],
        tags=[Tag(tag="good-flow"), Tag(tag="finder")],
        notes=[Note(author="cleo", created_at=START + timedelta(days=1), text="Consent went smoothly.")],
        escalations=[],
    )


def test_story_is_valid_yaml_with_the_right_steps() -> None:
    text = export.story_yaml(conversation())
    data = yaml.safe_load(text)
    assert data["version"] == "3.1"
    [story] = data["stories"]
    assert story["story"] == f"review {KEY}"
    assert story["steps"] == [
        {"user": "hi, I'm <PERSON_1>\n", "intent": "greet"},
        {"action": "utter_intro"},
        {"action": "consent_form"},
        {"active_loop": "consent_form"},
        {"slot_was_set": [{"requested_slot": "consent_given"}]},
        {"user": "yes\n", "intent": "affirm"},
        {"action": "consent_form"},
        {"slot_was_set": [{"consent_given": True}]},
        {"slot_was_set": [{"requested_slot": None}]},
        {"active_loop": None},
        {"action": "utter_after_consent"},
        {"action": "utter_menu"},
        {"user": "what is anxious attachment\n", "intent": "faq/anxious"},
        {"action": "utter_faq"},
        {"user": "find me a therapist in <LOCATION_1>\nwho takes <INSURANCE_1>\n", "intent": "find_therapist"},
        {"action": "action_start_therapist_search"},
        {"slot_was_set": [{"search_state": "<LOCATION_1>"}]},
        {"user": "/affirm\n", "intent": "affirm"},
        {"action": "utter_goodbye"},
    ]


def test_story_uses_the_requested_layout_and_says_what_it_left_out() -> None:
    text = export.story_yaml(conversation())
    assert "  - user: |\n      hi, I'm <PERSON_1>\n    intent: greet\n" in text
    assert "action: action_listen" not in text and "action_session_start" not in text
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert any("'action_made_up'" in line for line in comments)
    assert any("'debug_internal'" in line for line in comments)
    assert any("'made_up_intent'" in line for line in comments)
    assert "blorp" not in text  # the skipped turn's text is not copied into the comment
    assert "Hello! I'm a reflection assistant" not in text  # bot texts are not story steps


def test_story_keeps_only_what_the_domain_names() -> None:
    domain = export.load_domain()
    assert {"greet", "faq", "nlu_fallback"} <= domain.intents
    assert domain.knows_action("utter_faq") and domain.knows_action("consent_form")
    assert domain.knows_action("action_default_fallback") and not domain.knows_action("action_made_up")
    assert "requested_slot" in domain.slots and "consent_given" in domain.slots
    story = yaml.safe_load(export.story_yaml(conversation(), domain))["stories"][0]
    for step in story["steps"]:
        if "intent" in step:
            assert step["intent"].split("/")[0] in domain.intents
        if "action" in step:
            assert domain.knows_action(step["action"])
        if "slot_was_set" in step:
            assert next(iter(step["slot_was_set"][0])) in domain.slots
        if step.get("active_loop"):
            assert step["active_loop"] in domain.forms


def test_rasa_default_names_match_the_installed_rasa() -> None:
    constants = pytest.importorskip("rasa.shared.core.constants")
    assert export.RASA_DEFAULT_ACTIONS == set(constants.DEFAULT_ACTION_NAMES) - {"..."}
    assert export.RASA_DEFAULT_INTENTS == set(constants.DEFAULT_INTENTS)


@pytest.mark.skipif(not RASA.exists(), reason="Rasa is not installed in .venv")
def test_story_passes_rasa_data_validate(tmp_path: Path) -> None:
    """Runs Rasa's own validator once (about 10-20 s); needs no network (telemetry is off)."""
    data = tmp_path / "data"
    data.mkdir()
    # A test-stories file name, as it would be saved under tests/ (full retrieval intents are allowed there).
    (data / "test_review_story.yml").write_text(export.story_yaml(conversation()), encoding="utf-8")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [str(RASA), "data", "validate", "--domain", "domain.yml", "--data", str(data), "--config", "config.yml"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    for problem in ("not listed in the domain", "not part of the domain", "Issue found", "unexpected step"):
        assert problem not in output, problem


def test_json_has_the_conversation_and_nothing_that_identifies() -> None:
    text = export.conversation_json(conversation())
    data = json.loads(text)
    assert data["key"] == KEY
    assert data["channel"] == "web"
    assert data["started_at"] == "2026-03-01T10:00:00"
    assert data["steps"] == ["entry", "consent", "finder"]
    assert data["slots"] == {"consent_given": True, "search_state": "<LOCATION_1>"}
    assert data["tags"] == ["finder", "good-flow"]
    assert data["notes"] == [{"author": "cleo", "created_at": "2026-03-02T10:00:00", "text": "Consent went smoothly."}]
    assert [e["seq"] for e in data["events"]] == list(range(1, 31))
    user = data["events"][3]
    assert user["kind"] == "user" and user["text"] == "hi, I'm <PERSON_1>" and user["confidence"] == 0.98
    assert data["events"][12] == {**data["events"][12], "kind": "slot", "name": "consent_given", "value": True}
    assert "pseudonyms" not in data and "9a8b7c6d5e4f" not in text
    assert data["escalations"] == []


def test_json_lists_escalations_with_their_review() -> None:
    c = conversation()
    c.escalations = [
        Escalation(
            id=7,
            at=START,
            level="high",
            category="suicide",
            message="I don't want to be here",
            reply="I'm really glad you told me.",
            recognized=True,
            respectful=True,
            right_resource=False,
            comment="Should have named the category line.",
            reviewed_by="cleo",
            reviewed_at=START + timedelta(hours=2),
        )
    ]
    [escalation] = json.loads(export.conversation_json(c))["escalations"]
    assert escalation["level"] == "high" and escalation["right_resource"] is False
    assert escalation["reviewed_by"] == "cleo" and escalation["reviewed_at"] == "2026-03-01T12:00:00"


def test_csv_has_a_header_and_one_row_per_conversation() -> None:
    first = conversation()
    second = conversation()
    second.key = "ffffffffffffffffffffffffffffffff"
    second.channel = "=HYPERLINK(evil)"  # a formula must not reach a spreadsheet as one
    second.tags = []
    second.reached_reflection = True
    text = export.conversations_csv([first, second])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(export.CSV_COLUMNS)
    assert len(rows) == 3
    assert rows[1] == [
        KEY,
        "web",
        "2026-03-01T10:00:00",
        "2026-03-01T10:05:00",
        "6",
        "none",
        "no",
        "yes",
        "0",
        "new",
        "finder; good-flow",
    ]
    assert rows[2][0] == "ffffffffffffffffffffffffffffffff"
    assert rows[2][1] == "'=HYPERLINK(evil)"
    assert rows[2][6] == "yes" and rows[2][10] == ""


def test_csv_of_nothing_is_just_the_header() -> None:
    assert export.conversations_csv([]) == ",".join(export.CSV_COLUMNS) + "\r\n"
