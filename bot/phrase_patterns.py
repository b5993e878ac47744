"""A small phrase language over spaCy lemmas, shared by the crisis detector and the answer analysis.

Reviewable YAML lists are written in this language and compiled into spaCy Matcher patterns that
run over a document of lemmas (`lemma_doc`), so "kill" matches kill, kills, killing and killed:

    word        the lemma of a token
    a|b         either lemma
    word?       optional token
    a|b?        optional choice of tokens
    *           up to three other tokens
    <NAME>      a word list defined elsewhere in the same file (lemmas)
    <YEAR>      a year written in digits (1900-2099)
    <AGE>       an age of childhood or youth written in digits (4-29), as in "when I was 15"
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

BUILT_IN = {
    "YEAR": {"TEXT": {"REGEX": r"^(19|20)\d\d$"}},
    "AGE": {"TEXT": {"REGEX": r"^([4-9]|1\d|2\d)$"}},
}
CLAUSE_BREAKS = frozenset({"but", "though", "although", "however", ";", "whereas"})


class PhraseCompiler:
    """Turns phrases of the phrase language into spaCy Matcher patterns over lemmas.

    Each phrase word is lemmatised by the same pipeline that analyses messages.
    """

    def __init__(self, nlp: Language, lists: dict[str, list[str]] | None = None) -> None:
        """Prepare a compiler.

        Args:
            nlp: A spaCy pipeline with a lemmatizer.
            lists: Named word lists that phrases may refer to as <NAME>.
        """
        self.nlp = nlp
        self.lists = {name: sorted({self.lemma(str(w)) for w in words}) for name, words in (lists or {}).items()}

    @lru_cache(maxsize=4096)  # noqa: B019 (the compiler lives as long as its owner)
    def lemma(self, word: str) -> str:
        """Lowercase lemmas of a word, space-separated."""
        return " ".join(t.lemma_.lower() for t in self.nlp(word.lower()))

    def compile(self, phrase: str) -> list[dict[str, Any]]:
        """Matcher token patterns for one phrase."""
        pattern: list[dict[str, Any]] = []
        chunks = phrase.split()
        plain = [c for c in chunks if not _is_special(c)]
        # Lemmatise the plain words in their phrase context (tags depend on neighbours).
        lemmas = iter([t.lemma_.lower() for t in self.nlp(" ".join(plain).lower())] if plain else [])
        for chunk in chunks:
            if chunk == "*":
                pattern.extend({"OP": "?"} for _ in range(3))
            elif chunk[1:-1] in BUILT_IN and chunk.startswith("<") and chunk.endswith(">"):
                pattern.append(dict(BUILT_IN[chunk[1:-1]]))
            elif chunk.startswith("<") and chunk.endswith(">"):
                pattern.append({"LOWER": {"IN": self.lists[chunk[1:-1]]}})
            elif "|" in chunk:
                optional = chunk.endswith("?")
                alternatives = sorted({self.lemma(alt) for alt in chunk.rstrip("?").split("|")})
                pattern.append({"LOWER": {"IN": alternatives}, **({"OP": "?"} if optional else {})})
            elif chunk.endswith("?") and len(chunk) > 1:
                pattern.append({"LOWER": self.lemma(chunk[:-1]), "OP": "?"})
            else:
                for _ in self.nlp.tokenizer(chunk.lower()):
                    pattern.append({"LOWER": next(lemmas)})
        return pattern


def _is_special(chunk: str) -> bool:
    return (
        chunk == "*"
        or (chunk.startswith("<") and chunk.endswith(">"))
        or "|" in chunk
        or (chunk.endswith("?") and len(chunk) > 1)
    )


def lemma_doc(doc: Doc) -> Doc:
    """A document whose words are the lowercase lemmas of `doc`, token for token."""
    from spacy.tokens import Doc as SpacyDoc

    lemmas = [token.lemma_.lower() or token.lower_ for token in doc]
    return SpacyDoc(doc.vocab, words=lemmas, spaces=[bool(token.whitespace_) for token in doc])


def clause_ids(doc: Doc) -> list[int]:
    """Clause id of each token: sentences, split again at contrastive conjunctions."""
    clause_of: list[int] = []
    clause = 0
    for sent in doc.sents:
        clause += 1
        for token in sent:
            if token.lower_ in CLAUSE_BREAKS:
                clause += 1
            clause_of.append(clause)
    return clause_of
