"""Behaviour of the plain-text renderer used by the SMS and Telegram connectors."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.channels.render import (
    Option,
    Outgoing,
    answer_to_payload,
    compact_card,
    get_wording,
    render_sms,
    render_telegram,
    split_sms,
    strip_markdown,
)

ROOT = Path(__file__).resolve().parents[1]

CRISIS = (
    "I'm really glad you told me, and I'm taking what you said seriously. You don't have to go through "
    "this alone, and you deserve support right now.\n\n"
    "If you are in immediate danger or might act on these thoughts, please call 911 now or go to the "
    "nearest emergency room.\n\n"
    "You can call or text 988 to reach the 988 Suicide & Crisis Lifeline, any time, day or night. "
    "It's free and confidential. You can also chat at https://988lifeline.org or text HOME to 741741 "
    "to reach the Crisis Text Line. If someone is hurting you, the National Domestic Violence Hotline "
    "is at 1-800-799-7233.\n\n"
    "I'm a program, not a therapist or an emergency service, and I can't call anyone for you. But I'm "
    "here to keep talking while you reach out. If it helps, you could tell someone you trust how you "
    "are feeling tonight, or stay somewhere with other people around. Are you safe right now?"
)

YES_NO = [{"title": "Yes, that's okay", "payload": "/affirm"}, {"title": "No, not right now", "payload": "/deny"}]
YES_NO_OPTIONS = (Option("Yes, that's okay", "/affirm"), Option("No, not right now", "/deny"))


def is_crisis(text: str) -> bool:
    return "988" in text or "911" in text


def make_card(**changes: Any) -> dict[str, Any]:
    card: dict[str, Any] = {
        "name": "Jane Doe",
        "credentials": "LCSW",
        "pronouns": "she/her",
        "where": ["Online (licensed in Texas)"],
        "insurance": "In network with Aetna",
        "specialties": ["Anxiety", "Relationships"],
        "needs_matched": ["Anxiety"],
        "methods": ["Emotionally focused therapy"],
        "fee": "$120/session, sliding scale",
        "free_consultation": True,
        "accepting_new_clients": True,
        "sample": False,
    }
    card.update(changes)
    card.setdefault(
        "text",
        f"{card['name']}, {card['credentials']} ({card['pronouns']})\nOnline (licensed in Texas)\n"
        f"In network with Aetna\nHelps with: Anxiety, Relationships\nFee: {card['fee']}",
    )
    return card


def tokens(text: str) -> list[str]:
    return text.split()


def listing(options: tuple[Option, ...]) -> str:
    words = get_wording()
    lines = [words["option_line"].format(number=n, title=o.title) for n, o in enumerate(options, start=1)]
    return "\n".join([words["options_intro"], *lines])


# --- wording --------------------------------------------------------------------------------------


def test_wording_is_plain_ascii_text() -> None:
    words = get_wording()
    flat = {key: value for key, value in words.items() if key not in {"card", "number_words"}}
    flat.update({f"card.{key}": value for key, value in words["card"].items()})
    for key in ("options_intro", "option_line", "choose_one", "image", "cards_heading"):
        assert key in flat
    for key in ("free_consultation", "sample", "not_accepting", "separator", "number"):
        assert f"card.{key}" in flat
    for key, value in flat.items():
        assert isinstance(value, str) and value.strip(), key
        assert value.isascii(), f"{key} would force UCS-2 SMS encoding"


def test_import_does_no_work_and_pulls_in_no_rasa() -> None:
    code = (
        "import sys, bot.channels.render as r; "
        "print(r.get_wording.cache_info().currsize, any(m == 'rasa' or m.startswith('rasa.') for m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["0", "False"]


# --- strip_markdown -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This is **important**.", "This is important."),
        ("I *really* hear you.", "I really hear you."),
        ("**Bold** and *italic* and ***both***", "Bold and italic and both"),
        ("See [the Lifeline](https://988lifeline.org).", "See the Lifeline (https://988lifeline.org)."),
        ("[https://988lifeline.org](https://988lifeline.org)", "https://988lifeline.org"),
        ("Chat at [988lifeline.org](https://988lifeline.org/)", "Chat at https://988lifeline.org/"),
        ("Call [988](tel:988) now", "Call 988 now"),
        (
            "[a page](https://en.wikipedia.org/wiki/Attachment_(psychology))",
            "a page (https://en.wikipedia.org/wiki/Attachment_(psychology))",
        ),
        ("Options:\n- one\n- two", "Options:\n- one\n- two"),
        ("One.\n\n\n\nTwo.\n\n \n\nThree.", "One.\n\nTwo.\n\nThree."),
        ("Keep\n\nthis blank line", "Keep\n\nthis blank line"),
        ("2*3*4 stays, and so does a * b", "2*3*4 stays, and so does a * b"),
        ("  padded  \n", "padded"),
        ("", ""),
    ],
)
def test_strip_markdown(text: str, expected: str) -> None:
    assert strip_markdown(text) == expected


def test_strip_markdown_handles_windows_line_breaks() -> None:
    assert strip_markdown("a\r\n\r\n\r\n\r\nb") == "a\n\nb"


# --- compact_card ---------------------------------------------------------------------------------


def test_compact_card_matches_the_example() -> None:
    assert compact_card(make_card(), 1) == (
        "1) Jane Doe, LCSW (she/her) - Online (licensed in Texas) - In network with Aetna - "
        "$120/session, sliding scale - Free consultation"
    )


def test_compact_card_marks_samples_and_waitlists_with_wording() -> None:
    card_words = get_wording()["card"]
    line = compact_card(make_card(sample=True, accepting_new_clients=False, free_consultation=False), 3)
    assert line.startswith("3) Jane Doe")
    assert line.endswith(card_words["not_accepting"] + card_words["separator"] + card_words["sample"])
    assert card_words["free_consultation"] not in line


def test_compact_card_leaves_out_missing_fields_without_dangling_separators() -> None:
    line = compact_card({"name": "Sam Lee", "where": [], "insurance": "", "fee": None}, 2)
    assert line == "2) Sam Lee"
    line = compact_card({"name": "Sam Lee", "where": ["In person: Austin, TX", "Online (licensed in Texas)"]}, 4)
    assert line == "4) Sam Lee - In person: Austin, TX - Online (licensed in Texas)"


def test_compact_card_is_one_line_even_with_multiline_fields() -> None:
    line = compact_card(make_card(insurance="Insurance:\nAetna,\n  Cigna"), 1)
    assert "\n" not in line
    assert "Insurance: Aetna, Cigna" in line


# --- split_sms ------------------------------------------------------------------------------------


def test_split_sms_short_and_empty() -> None:
    assert split_sms("  Hello there.  ", 50) == ["Hello there."]
    assert split_sms("", 50) == []
    assert split_sms(" \n\n ", 50) == []
    with pytest.raises(ValueError):
        split_sms("text", 0)


def test_split_sms_prefers_paragraphs_then_sentences() -> None:
    first = "First paragraph, one sentence. Second sentence here."
    second = "Another paragraph. With two sentences."
    assert split_sms(f"{first}\n\n{second}", 60) == [first, second]
    long_paragraph = "One short sentence. " * 6 + "And the end."
    parts = split_sms(long_paragraph, 45)
    assert all(part.endswith(".") for part in parts)
    assert all(len(part) <= 45 for part in parts)
    assert tokens(" ".join(parts)) == tokens(long_paragraph)


def test_split_sms_uses_word_boundaries_only_inside_a_long_sentence() -> None:
    text = "Short one. " + "this sentence goes on and on " * 5 + "until it stops."
    parts = split_sms(text, 40)
    assert parts[0] == "Short one."
    assert all(len(part) <= 40 for part in parts)
    assert tokens(" ".join(parts)) == tokens(text)


def test_split_sms_never_cuts_phone_numbers_or_urls() -> None:
    text = (
        "If you are in danger call 911. You can call or text 988 any time. The hotline is 1-800-799-7233 and "
        "the website is https://www.thehotline.org/get-help/ for chat. Text HOME to 741741 as well. "
    ) * 4
    whole = {"911.", "988", "1-800-799-7233", "https://www.thehotline.org/get-help/", "741741"}
    for limit in range(40, 200, 7):
        parts = split_sms(text, limit)
        assert all(0 < len(part) <= limit for part in parts)
        assert tokens(" ".join(parts)) == tokens(text)
        for part in parts:
            assert part == part.strip()
            for token in tokens(part):
                assert token in tokens(text), f"{token!r} was cut"
        assert sum(part.count("1-800-799-7233") for part in parts) == 4
        assert whole <= set(tokens(" ".join(parts)))


def test_split_sms_keeps_spaced_phone_numbers_together_when_it_can() -> None:
    text = "In the UK you can call Samaritans free on 116 123 at any hour of the day or night"
    for limit in range(44, len(text)):
        parts = split_sms(text, limit)
        assert any("116 123" in part for part in parts), (limit, parts)


def test_split_sms_cuts_a_token_only_when_it_alone_is_too_long() -> None:
    url = "https://example.org/" + "a" * 80
    parts = split_sms(f"Read this: {url} please", 50)
    assert all(0 < len(part) <= 50 for part in parts)
    assert "".join(parts).replace(" ", "") == f"Readthis:{url}please"


def test_split_sms_keeps_bullet_lines_whole() -> None:
    text = "Some things that can help:\n- breathe slowly for a minute\n- call someone you trust\n- drink water"
    parts = split_sms(text, 60)
    lines = [line for part in parts for line in part.split("\n")]
    assert lines == text.split("\n")


VOCAB = [
    "I",
    "hear",
    "you",
    "that",
    "sounds",
    "really",
    "hard",
    "and",
    "lonely",
    "988",
    "911",
    "1-800-799-7233",
    "https://988lifeline.org",
    "HOME",
    "741741",
    "it's",
    "okay",
    "to",
    "feel",
    "this",
    "way",
    '"quoted"',
    "(aside)",
    "116",
    "123",
    "attachment",
    "patterns",
    "can",
    "change",
    "with",
    "support",
    "e.g.",
    "a",
]


def random_text(rng: random.Random) -> tuple[str, list[list[list[str]]]]:
    paragraphs = []
    for _ in range(rng.randint(1, 4)):
        sentences = []
        for _ in range(rng.randint(1, 5)):
            words = [rng.choice(VOCAB) for _ in range(rng.randint(1, 25))]
            words[-1] += rng.choice([".", "!", "?", '."', "?)"])
            sentences.append(words)
        paragraphs.append(sentences)
    text = "\n\n".join(" ".join(" ".join(s) for s in p) for p in paragraphs)
    return text, paragraphs


def test_split_sms_invariants_on_many_random_texts() -> None:
    rng = random.Random(20240611)
    for _ in range(600):
        text, paragraphs = random_text(rng)
        limit = rng.randint(25, 400)
        parts = split_sms(text, limit)
        # every part is stripped, non-empty and within the limit, and nothing is lost or reordered
        assert all(part and part == part.strip() and len(part) <= limit for part in parts)
        assert tokens(" ".join(parts)) == tokens(text)
        # map each token to its sentence and paragraph, then check where the cuts fall
        sentence_of, paragraph_of, sentence_len, paragraph_len = [], [], [], []
        for p_index, paragraph in enumerate(paragraphs):
            paragraph_len.append(len(" ".join(" ".join(s) for s in paragraph)))
            for sentence in paragraph:
                sentence_len.append(len(" ".join(sentence)))
                sentence_of += [len(sentence_len) - 1] * len(sentence)
                paragraph_of += [p_index] * len(sentence)
        position = 0
        for part in parts[:-1]:
            position += len(tokens(part))
            last, following = position - 1, position
            if paragraph_of[last] == paragraph_of[following]:
                assert paragraph_len[paragraph_of[last]] > limit, "cut inside a paragraph that fits"
            if sentence_of[last] == sentence_of[following]:
                assert sentence_len[sentence_of[last]] > limit, "cut inside a sentence that fits"


# --- render_sms -----------------------------------------------------------------------------------


def test_render_sms_nothing_to_send() -> None:
    assert render_sms([]) == []
    assert render_telegram([]) == []
    summary = {"custom": {"type": "reflection_summary", "filename": "reflection-summary.txt", "text": "Long."}}
    assert render_sms([summary, {"custom": {"type": "other"}}, {"text": "   "}, {"image": "file:///x.png"}]) == []
    with pytest.raises(ValueError):
        render_sms([{"text": "hi"}], max_chars=700, hard_max=600)


def test_render_sms_joins_short_replies_and_strips_markdown() -> None:
    out = render_sms([{"text": "I **hear** you."}, {"text": "Take your *time*."}])
    assert out == [Outgoing("I hear you.\n\nTake your time.")]


def test_render_sms_puts_numbered_options_in_the_question_message() -> None:
    out = render_sms(
        [
            {"text": "Thanks for sharing that."},
            {"text": "May I ask you a few questions?", "buttons": YES_NO},
        ]
    )
    assert len(out) == 1
    intro = get_wording()["options_intro"]
    assert out[0].text == (
        "Thanks for sharing that.\n\nMay I ask you a few questions?\n\n"
        f"{intro}\n1. Yes, that's okay\n2. No, not right now"
    )
    assert out[0].options == YES_NO_OPTIONS
    assert answer_to_payload("2", out[0].options) == "/deny"


def test_render_sms_uses_only_the_last_buttons() -> None:
    out = render_sms(
        [
            {"text": "Pick a topic.", "buttons": [{"title": "Old", "payload": "/old"}]},
            {"text": "Or rather: may I continue?", "buttons": YES_NO},
        ]
    )
    assert [o.options for o in out if o.options] == [YES_NO_OPTIONS]
    assert "Old" not in " ".join(o.text for o in out)
    assert out[-1].text.endswith("1. Yes, that's okay\n2. No, not right now")


def test_render_sms_buttons_without_text_go_with_the_previous_text() -> None:
    out = render_sms([{"text": "Would you like to go on?"}, {"buttons": YES_NO}])
    assert out == [Outgoing(f"Would you like to go on?\n\n{listing(YES_NO_OPTIONS)}", YES_NO_OPTIONS)]
    alone = render_sms([{"buttons": YES_NO}])
    assert alone == [Outgoing(listing(YES_NO_OPTIONS), YES_NO_OPTIONS)]


def test_render_sms_nothing_is_added_after_the_options_list() -> None:
    out = render_sms([{"text": "Continue?", "buttons": YES_NO}, {"text": "Take your time."}])
    assert out == [Outgoing(f"Continue?\n\n{listing(YES_NO_OPTIONS)}", YES_NO_OPTIONS), Outgoing("Take your time.")]


def test_render_sms_long_question_keeps_the_list_with_its_last_part() -> None:
    body = "This is a sentence about how you have been feeling lately. " * 20
    out = render_sms([{"text": body + "Shall we keep going?", "buttons": YES_NO}], max_chars=300)
    assert all(len(o.text) <= 300 for o in out)
    assert [o.options for o in out] == [()] * (len(out) - 1) + [YES_NO_OPTIONS]
    assert out[-1].text.endswith(listing(YES_NO_OPTIONS))
    assert "Shall we keep going?\n\n" in out[-1].text
    text_only = " ".join(o.text for o in out).replace(listing(YES_NO_OPTIONS), "")
    assert tokens(text_only) == tokens(body + "Shall we keep going?")


def test_render_sms_moves_the_question_to_the_list_when_the_part_is_too_full() -> None:
    first = "It makes sense that this feels heavy. " * 10
    second = "Some people find it helps to name the feeling before acting on it. " * 3
    body = f"{first.strip()}\n\n{second}Would you like to continue?"
    assert len(body) < 612 < len(body) + len(listing(YES_NO_OPTIONS)) + 2
    out = render_sms([{"text": body, "buttons": YES_NO}], max_chars=612)
    assert out == [
        Outgoing(first.strip()),
        Outgoing(f"{second}Would you like to continue?\n\n{listing(YES_NO_OPTIONS)}", YES_NO_OPTIONS),
    ]


def test_render_sms_cards_replace_their_text_duplicates() -> None:
    cards = [make_card(), make_card(name="Sam Lee", pronouns="they/them", sample=True)]
    replies = [
        {"text": "I found 2 therapists online with therapists licensed in Texas. Here are 1 to 2:"},
        {"text": cards[0]["text"]},
        {"text": cards[1]["text"]},
        {"custom": {"type": "therapist_cards", "cards": cards}},
        {"text": "What would you like to do next?", "buttons": [{"title": "More results", "payload": "/more"}]},
    ]
    out = render_sms(replies)
    joined = "\n".join(o.text for o in out)
    assert "Helps with" not in joined
    assert joined.count(get_wording()["cards_heading"]) == 1
    assert compact_card(cards[0], 1) in joined
    assert compact_card(cards[1], 2) in joined
    heading_then_cards = f"{get_wording()['cards_heading']}\n{compact_card(cards[0], 1)}\n{compact_card(cards[1], 2)}"
    assert heading_then_cards in joined
    assert get_wording()["card"]["sample"] in compact_card(cards[1], 2)
    assert out[-1].options == (Option("More results", "/more"),)


def test_render_sms_ignores_the_reflection_summary_payload() -> None:
    summary = "Your reflection summary.\n\nYou tend to reach for closeness when stressed."
    replies: list[dict[str, Any]] = [
        {"text": summary},
        {"custom": {"type": "reflection_summary", "filename": "reflection-summary.txt", "text": summary}},
    ]
    assert render_sms(replies) == [Outgoing(summary)]


def test_render_sms_images_only_for_web_addresses() -> None:
    image_word = get_wording()["image"].format(url="https://example.org/a.png")
    out = render_sms([{"text": "Here is a picture.", "image": "https://example.org/a.png"}])
    assert out == [Outgoing(f"Here is a picture.\n{image_word}")]
    assert render_sms([{"image": "javascript:alert(1)"}, {"image": "data:image/png;base64,AAA"}]) == []


def test_render_sms_splits_long_plain_text_within_max_chars() -> None:
    text = "A calm sentence about attachment patterns and how they shape us. " * 30
    out = render_sms([{"text": text}])
    assert len(out) > 1
    assert all(0 < len(o.text) <= 612 and o.options == () for o in out)
    assert tokens(" ".join(o.text for o in out)) == tokens(text)


def test_render_sms_crisis_reply_arrives_whole_in_the_first_message() -> None:
    assert 850 <= len(CRISIS) <= 1000
    out = render_sms([{"text": CRISIS}, {"text": "I'm here."}], max_chars=612, keep_whole=is_crisis)
    assert out[0].text.startswith(CRISIS)
    assert len(out[0].text) <= 1600
    # without keep_whole the same text would be split
    assert CRISIS not in render_sms([{"text": CRISIS}], max_chars=612)[0].text


def test_render_sms_crisis_reply_with_buttons_keeps_question_and_list_together() -> None:
    buttons = [{"title": "I'm safe right now", "payload": "/safe"}, {"title": "I'm not safe", "payload": "/not_safe"}]
    out = render_sms([{"text": CRISIS, "buttons": buttons}], keep_whole=is_crisis)
    assert len(out) == 1
    assert out[0].text.startswith(CRISIS) and out[0].text.endswith("2. I'm not safe")
    assert answer_to_payload("1", out[0].options) == "/safe"


def test_render_sms_crisis_reply_after_a_short_text_still_comes_first() -> None:
    out = render_sms([{"text": "Thank you for telling me."}, {"text": CRISIS}], keep_whole=is_crisis)
    assert out[0].text == f"Thank you for telling me.\n\n{CRISIS}"


def test_render_sms_crisis_reply_is_not_merged_past_hard_max() -> None:
    before = "A long opening sentence about what you have shared with me today. " * 12
    out = render_sms([{"text": before}, {"text": CRISIS}], keep_whole=is_crisis)
    assert all(len(o.text) <= 1600 for o in out)
    assert sum(CRISIS in o.text for o in out) == 1


def test_render_sms_keep_whole_longer_than_hard_max_fills_the_first_part() -> None:
    sentences = [f"Sentence number {i} says you can call 988 at any time of day." for i in range(40)]
    text = " ".join(sentences)
    assert len(text) > 2000
    out = render_sms([{"text": text}], keep_whole=is_crisis)
    first = out[0].text
    assert len(first) <= 1600
    taken = len([s for s in sentences if s in first])
    assert first == " ".join(sentences[:taken])
    assert len(first) + 1 + len(sentences[taken]) > 1600, "the next sentence would have fitted"
    assert all(len(o.text) <= 1600 for o in out)
    assert tokens(" ".join(o.text for o in out)) == tokens(text)


def test_render_sms_keep_whole_with_paragraphs_still_fills_the_first_part() -> None:
    paragraphs = [f"Paragraph {i}. You can text 988 whenever you need to, day or night." for i in range(40)]
    text = "\n\n".join(paragraphs)
    out = render_sms([{"text": text}], keep_whole=is_crisis)
    assert 1600 - len(paragraphs[0]) - 2 < len(out[0].text) <= 1600


def test_render_sms_keep_whole_predicate_sees_the_text_as_written() -> None:
    seen: list[str] = []

    def spy(text: str) -> bool:
        seen.append(text)
        return False

    render_sms([{"text": "Call **988**."}, {"image": "https://example.org/a.png"}], keep_whole=spy)
    assert seen == ["Call **988**."]


def random_turn(rng: random.Random) -> list[dict[str, Any]]:
    replies: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 6)):
        reply: dict[str, Any] = {}
        if rng.random() < 0.85:
            reply["text"] = CRISIS if rng.random() < 0.15 else random_text(rng)[0]
        if rng.random() < 0.3:
            count = rng.randint(1, 4)
            reply["buttons"] = [{"title": f"Choice {i} {rng.choice(VOCAB)}", "payload": f"/c{i}"} for i in range(count)]
        if rng.random() < 0.1:
            reply["custom"] = {"type": "therapist_cards", "cards": [make_card(), make_card(name="Sam Lee")]}
        replies.append(reply)
    return replies


def test_render_sms_invariants_on_many_random_turns() -> None:
    rng = random.Random(7)
    for _ in range(300):
        replies = random_turn(rng)
        max_chars = rng.choice([160, 306, 459, 612])
        out = render_sms(replies, max_chars=max_chars, keep_whole=lambda text: "Lifeline" in text)
        assert all(o.text and o.text == o.text.strip() and len(o.text) <= 1600 for o in out)
        for o in out:
            if CRISIS not in o.text and len(o.text) > max_chars:
                pytest.fail(f"message of {len(o.text)} > {max_chars} without a keep-whole text")
        with_options = [o for o in out if o.options]
        last_buttons = next((r["buttons"] for r in reversed(replies) if r.get("buttons")), None)
        if last_buttons is None:
            assert with_options == []
        else:
            assert len(with_options) == 1
            assert [o.payload for o in with_options[0].options] == [b["payload"] for b in last_buttons]
            assert listing(with_options[0].options) in with_options[0].text
        if replies[0].get("text") == CRISIS:
            assert CRISIS in out[0].text
        # every text reply's words arrive, in order
        expected = [t for r in replies if r.get("text") for t in tokens(strip_markdown(r["text"]))]
        sent = " ".join(o.text for o in out)
        for o in with_options:
            sent = sent.replace(listing(o.options), " ")
        sent_tokens = tokens(sent)
        position = 0
        for token in expected:
            position = sent_tokens.index(token, position) + 1


# --- render_telegram ------------------------------------------------------------------------------


def test_render_telegram_keeps_buttons_on_the_right_message() -> None:
    replies: list[dict[str, Any]] = [
        {"text": "Hello, I'm a reflection assistant."},
        {"text": "What would you like to do?", "buttons": [{"title": "Find a therapist", "payload": "/find"}]},
        {"text": "You can also type **help** at any time."},
    ]
    out = render_telegram(replies)
    assert [o.text for o in out] == [
        "Hello, I'm a reflection assistant.",
        "What would you like to do?",
        "You can also type help at any time.",
    ]
    assert [o.options for o in out] == [(), (Option("Find a therapist", "/find"),), ()]


def test_render_telegram_buttons_without_text() -> None:
    out = render_telegram([{"text": "Shall we go on?"}, {"buttons": YES_NO}])
    assert out == [Outgoing("Shall we go on?", YES_NO_OPTIONS)]
    out = render_telegram([{"text": "Continue?", "buttons": YES_NO}, {"buttons": [{"title": "Menu", "payload": "/m"}]}])
    assert out[1] == Outgoing(get_wording()["choose_one"], (Option("Menu", "/m"),))
    assert render_telegram([{"buttons": YES_NO}]) == [Outgoing(get_wording()["choose_one"], YES_NO_OPTIONS)]


def test_render_telegram_splits_only_long_texts_and_loses_nothing() -> None:
    text = "A gentle sentence that goes on for a while. " * 200
    out = render_telegram([{"text": text, "buttons": YES_NO}, {"text": CRISIS}])
    assert all(0 < len(o.text) <= 4096 for o in out)
    assert out[-1].text == CRISIS
    assert out[-2].options == YES_NO_OPTIONS
    assert all(o.options == () for o in out[:-2])
    assert tokens(" ".join(o.text for o in out[:-1])) == tokens(text)


def test_render_telegram_cards_and_duplicates() -> None:
    cards = [make_card()]
    out = render_telegram(
        [
            {"text": "Here is who I found:"},
            {"text": cards[0]["text"]},
            {"custom": {"type": "therapist_cards", "cards": cards}},
            {"custom": {"type": "reflection_summary", "filename": "s.txt", "text": "ignored"}},
        ]
    )
    assert out == [
        Outgoing("Here is who I found:"),
        Outgoing(f"{get_wording()['cards_heading']}\n{compact_card(cards[0], 1)}"),
    ]


# --- answer_to_payload ----------------------------------------------------------------------------

THREE = (
    Option("Reflect on my patterns", "/reflect"),
    Option("Find a therapist", "/find"),
    Option("I need help now", "/help"),
)


@pytest.mark.parametrize(
    "answer", ["2", " 2. ", "#2", "2)", "(2)", "option 2", "Option 2", "number 2", "NUMBER 2", "choice #2", "2\n"]
)
def test_answer_to_payload_numbers(answer: str) -> None:
    assert answer_to_payload(answer, THREE) == "/find"


@pytest.mark.parametrize("answer", ["0", "4", "10", "option 9", "-1", "2.5", "22"])
def test_answer_to_payload_out_of_range_or_not_a_number(answer: str) -> None:
    assert answer_to_payload(answer, THREE) is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("yes thats okay", "/affirm"),
        ("Yes, that's okay", "/affirm"),
        ("YES THAT\u2019S OKAY!", "/affirm"),
        ("  no,   not right now. ", "/deny"),
        ("yes", None),
        ("yes that's okay I guess", None),
        ("ok", None),
        ("no", None),
        ("", None),
        ("?!", None),
    ],
)
def test_answer_to_payload_words(answer: str, expected: str | None) -> None:
    assert answer_to_payload(answer, YES_NO_OPTIONS) == expected


def test_answer_to_payload_refuses_to_guess_between_options() -> None:
    assert answer_to_payload("1", ()) is None
    assert answer_to_payload("same", (Option("Same!", "/a"), Option("same", "/b"))) is None
    scale = tuple(Option(str(n), f"/rate{n}") for n in range(0, 4))
    assert answer_to_payload("2", scale) is None  # option 2 is "1", the title "2" is option 3
    assert answer_to_payload("0", scale) == "/rate0"  # out of range as a number, but exactly a title
    in_order = tuple(Option(str(n), f"/rate{n}") for n in range(1, 4))
    assert answer_to_payload("2", in_order) == "/rate2"


def test_sms_options_round_trip_through_answers() -> None:
    out = render_sms(
        [{"text": "Where shall we start?", "buttons": [{"title": o.title, "payload": o.payload} for o in THREE]}]
    )
    numbered = re.findall(r"^(\d+)\. (.+)$", out[0].text, flags=re.MULTILINE)
    assert [(int(n), t) for n, t in numbered] == [(i, o.title) for i, o in enumerate(THREE, start=1)]
    for number, title in numbered:
        assert answer_to_payload(number, out[0].options) == answer_to_payload(title.lower(), out[0].options)


def test_split_sms_does_not_end_a_sentence_at_an_initialism() -> None:
    text = "Small things, e.g. a walk or a call with a friend, can help a lot over time."
    parts = split_sms(text, 40)
    assert parts[0] != "Small things, e.g."
    assert 30 < len(parts[0]) <= 40
    assert tokens(" ".join(parts)) == tokens(text)


def test_render_sms_list_that_cannot_join_a_full_crisis_text_follows_it() -> None:
    crisis = CRISIS + "\n\n" + "You matter, and help is there. " * 23 + "Please call 988."
    assert 1600 - 60 < len(crisis) <= 1600
    out = render_sms([{"text": crisis, "buttons": YES_NO}], keep_whole=is_crisis)
    assert out == [Outgoing(crisis), Outgoing(listing(YES_NO_OPTIONS), YES_NO_OPTIONS)]
