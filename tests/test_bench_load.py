"""The load benchmark's bookkeeping: the scripted conversation, lost messages, and the results file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import load, run
from bot.reflection.bank import get_bank


def test_the_script_runs_consent_the_whole_intake_and_a_search() -> None:
    script = load.conversation_script()
    bank = get_bank()
    assert script[:3] == ["hello", "yes", "/reflect_start"]
    intake = script[3 : 3 + len(bank.questions)]
    assert [text.startswith("/rate") for text in intake] == [q.is_rating for q in bank.questions]
    assert script[3 + len(bank.questions) :] == [*load.SEARCH, "/more_results"]


def test_lost_messages_are_the_sent_ones_missing_from_the_store() -> None:
    tally = load.Tally(latencies_ms=[10.0, 20.0, 30.0, 40.0], sent={"load-a": 3, "load-b": 1})
    figures = load.summarise(tally, 2.0, {"load-a": 2, "load-b": 1, "load-c": 5}, {"Rasa server": 900.0})
    assert figures["lost_messages"] == 1
    assert figures["messages"] == 4 and figures["messages_per_s"] == 2.0
    assert figures["p50_ms"] == 25.0 and figures["peak_rss_mb"] == {"Rasa server": 900.0}


def test_each_benchmark_keeps_the_others_part_of_the_results_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "results.json"
    monkeypatch.setattr(run, "RESULTS", path)
    run.write_results({"ours": {"p50": 1}, "ratios": {}})
    run.write_results({"single": {}, "scale_out": {}}, key="load")
    run.write_results({"ours": {"p50": 2}, "ratios": {}})
    data = json.loads(path.read_text())
    assert data["ours"] == {"p50": 2} and data["load"] == {"single": {}, "scale_out": {}}
