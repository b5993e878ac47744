from __future__ import annotations

from bot.dialogue.suggestions import load_suggestions, none_of_these_payload, suggest_options


def test_offers_top_intents_in_order_and_skips_meta_intents() -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.6},
        {"name": "help", "confidence": 0.3},
        {"name": "affirm", "confidence": 0.2},
        {"name": "find_therapist", "confidence": 0.1},
        {"name": "bot_challenge", "confidence": 0.08},
        {"name": "start_over", "confidence": 0.07},
    ]
    options = suggest_options(ranking)
    assert [o["payload"] for o in options] == ["/help", "/find_therapist", "/bot_challenge"]


def test_retrieval_intent_uses_the_selected_topic() -> None:
    selector = {"faq": {"response": {"utter_action": "utter_faq/avoidant"}}}
    options = suggest_options([{"name": "faq", "confidence": 0.4}], selector)
    assert options == [{"title": "Avoidant attachment", "payload": "what is avoidant attachment"}]


def test_low_confidence_only_falls_back_to_help() -> None:
    options = suggest_options([{"name": "reflect_start", "confidence": 0.01}])
    assert options == [load_suggestions()["options"]["help"]]


def test_none_of_these_is_out_of_scope() -> None:
    assert none_of_these_payload() == "/out_of_scope"


def test_every_faq_payload_is_a_training_example() -> None:
    import yaml

    from bot.settings import PROJECT_ROOT

    nlu = yaml.safe_load((PROJECT_ROOT / "data" / "nlu" / "faq.yml").read_text())["nlu"]
    examples = {
        item["intent"]: {line[2:].strip() for line in item["examples"].splitlines() if line.startswith("- ")}
        for item in nlu
    }
    for key, option in load_suggestions()["options"].items():
        if key.startswith("faq/"):
            assert option["payload"] in examples[key], key
