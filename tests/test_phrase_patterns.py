"""The phrase language compiled into spaCy Matcher patterns over lemmas."""

from __future__ import annotations

import pytest
from spacy.matcher import Matcher

from bot import nlp
from bot.phrase_patterns import PhraseCompiler, lemma_doc


def _matches(phrase: str, text: str) -> bool:
    pipeline = nlp.load()
    matcher = Matcher(pipeline.vocab)
    matcher.add("p", [PhraseCompiler(pipeline).compile(phrase)])
    return bool(matcher(lemma_doc(pipeline(text))))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i looked up how tall the bridge is", True),
        ("i looked up how tall that bridge is", True),
        ("i looked up how tall bridge is", True),
        ("i looked up how tall a bridge is", False),
    ],
)
def test_an_optional_choice_matches_either_word_or_none(text: str, expected: bool) -> None:
    assert _matches("look up how tall the|that? bridge", text) is expected


@pytest.mark.parametrize(("text", "expected"), [("when i was 15", True), ("when i was 45", False)])
def test_an_age_of_youth_is_a_built_in_list(text: str, expected: bool) -> None:
    assert _matches("when i be <AGE>", text) is expected
