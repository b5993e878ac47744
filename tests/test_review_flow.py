"""Tests for the aggregate flow diagram (bot.review.flow): exact counts, drop-offs, SVG and table."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from bot.review import flow
from bot.review.texts import load_texts

INTAKE = [f"intake_{n}" for n in range(1, 15)]


def _steps(*names: str) -> str:
    return json.dumps(list(names))


# Six conversations: the counts below are worked out by hand from these.
SEEDED = [
    # 1. The whole way: intake, reflection, finder, results, consultation, referral.
    _steps(
        "entry", "consent", "intake_started", *INTAKE, "reflection", "finder", "results", "consultation", "referral"
    ),
    # 2. Intake done, reflection, then stopped.
    _steps("entry", "consent", "intake_started", *INTAKE, "reflection"),
    # 3. Stopped after the third intake answer; went back to answer 3 again (counted once).
    _steps("entry", "consent", "intake_started", "intake_1", "intake_2", "intake_3", "intake_2", "intake_3"),
    # 4. Consent, then straight to the therapist finder and its results.
    _steps("entry", "consent", "finder", "results"),
    # 5. Left at the entry.
    _steps("entry"),
    # 6. Unknown names are ignored; not a step list at all counts as no step.
    _steps("entry", "consent", "something_else"),
]


def _by_name(result: flow.Flow) -> dict[str, int]:
    return {step.name: step.reached for step in result.steps}


def test_steps_are_the_documented_order() -> None:
    assert flow.STEPS[:3] == ("entry", "consent", "intake_started")
    assert flow.STEPS[3:17] == tuple(INTAKE)
    assert flow.STEPS[17:] == ("reflection", "finder", "results", "consultation", "referral")


def test_counts_per_step_are_exact() -> None:
    result = flow.compute_flow(SEEDED)
    reached = _by_name(result)
    assert result.conversations == 6
    assert [step.name for step in result.steps] == list(flow.STEPS)
    expected = {
        "entry": 6,
        "consent": 5,  # all but 5
        "intake_started": 3,  # 1, 2, 3
        **{f"intake_{n}": 3 for n in (1, 2, 3)},
        **{f"intake_{n}": 2 for n in range(4, 15)},  # 1, 2
        "reflection": 2,  # 1, 2
        "finder": 2,  # 1, 4
        "results": 2,  # 1, 4
        "consultation": 1,
        "referral": 1,
    }
    assert reached == expected


def test_drop_offs_between_consecutive_steps_are_exact() -> None:
    result = flow.compute_flow(SEEDED)
    got = {(t.source, t.target): (t.continued, t.dropped) for t in result.transitions}
    expected = {
        ("entry", "consent"): (5, 1),  # 5 left at the entry
        ("consent", "intake_started"): (3, 2),  # 4 went to the finder instead, 6 stopped
        ("intake_started", "intake_1"): (3, 0),
        ("intake_1", "intake_2"): (3, 0),
        ("intake_2", "intake_3"): (3, 0),
        ("intake_3", "intake_4"): (2, 1),  # 3 stopped after answer 3
        **{(f"intake_{n}", f"intake_{n + 1}"): (2, 0) for n in range(4, 14)},
        ("intake_14", "reflection"): (2, 0),
        ("reflection", "finder"): (1, 1),  # 2 stopped at the reflection
        ("finder", "results"): (2, 0),
        ("results", "consultation"): (1, 1),  # 4 did not ask for a consultation
        ("consultation", "referral"): (1, 0),
    }
    assert got == expected
    rates = {t.source: t.drop_rate for t in result.transitions}
    assert rates["entry"] == 1 / 6
    assert rates["consent"] == 2 / 5
    assert rates["reflection"] == 0.5
    assert rates["intake_started"] == 0.0


def test_nothing_to_count() -> None:
    result = flow.compute_flow([])
    assert result.conversations == 0
    assert all(step.reached == 0 for step in result.steps)
    assert all(t.continued == t.dropped == 0 and t.drop_rate == 0.0 for t in result.transitions)
    ET.fromstring(str(flow.render_svg(result, load_texts()["flow"])))


def test_bad_step_lists_count_as_no_step() -> None:
    assert flow.parse_steps("not json") == set()
    assert flow.parse_steps('{"entry": 1}') == set()
    assert flow.parse_steps(None) == set()
    assert flow.parse_steps('["entry", 3, "results"]') == {"entry", "results"}


def test_svg_is_well_formed_and_shows_every_number() -> None:
    result = flow.compute_flow(SEEDED)
    svg = str(flow.render_svg(result, load_texts()["flow"]))
    root = ET.fromstring(svg)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert root.get("role") == "img"
    assert root.find("svg:title", ns) is not None and root.find("svg:desc", ns) is not None
    boxes = root.findall(".//svg:rect[@class='flow-box']", ns)
    assert len(boxes) == len(flow.STEPS)
    counts = [t.text for t in root.findall(".//svg:text[@class='flow-count']", ns)]
    assert counts[:4] == ["6 reached", "5 reached", "3 reached", "3 reached"]
    drops = [t.text or "" for t in root.findall(".//svg:text[@class='flow-drop']", ns)]
    assert len(drops) == len(flow.STEPS) - 1
    assert drops[0] == "1 did not go on (17%)"
    assert drops[1] == "2 did not go on (40%)"
    assert drops[-2] == "1 did not go on (50%)"  # results -> consultation
    labels = [t.text for t in root.findall(".//svg:text[@class='flow-label']", ns)]
    assert labels[3] == "Intake answer 1" and labels[-1] == "Referral sent"
    assert "style=" not in svg and "<script" not in svg


def test_labels_are_escaped_in_the_svg() -> None:
    texts = dict(load_texts()["flow"])
    texts["steps"] = {**texts["steps"], "entry": "<b>Entry & start</b>"}
    svg = str(flow.render_svg(flow.compute_flow([]), texts))
    assert "<b>" not in svg and "&lt;b&gt;Entry &amp; start&lt;/b&gt;" in svg


def test_step_labels_come_from_the_wording_file() -> None:
    labels = load_texts()["flow"]["steps"]
    assert flow.step_label("intake_14", labels) == "Intake answer 14"
    assert flow.step_label("finder", labels) == "Therapist finder"
    assert re.fullmatch(r"\d+%", flow.percent(1 / 3)) and flow.percent(1 / 3) == "33%"
