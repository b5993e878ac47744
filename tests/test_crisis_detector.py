"""The crisis detector on hand-picked cases (the labelled evaluation set is measured in bench/crisis.py)."""

from __future__ import annotations

import re
from functools import lru_cache

import pytest

from bot.crisis.detector import (
    LEVELS,
    Assessment,
    CrisisDetector,
    combine_with_classifier,
    get_detector,
    load_phrases,
)

CASES = [
    # (message, level, category)
    ("i want to kill myself", "high", "suicide"),
    ("I WANT TO KILL MYSELF", "high", "suicide"),
    ("kms", "high", "suicide"),
    ("i want to unalive myself", "high", "suicide"),
    ("thinking about sewer slide a lot", "high", "suicide"),
    ("i want to dye", "concern", "suicide"),
    ("i cant go on like this", "concern", "suicide"),
    ("everyone would be better off without me 😔", "concern", "suicide"),
    ("I'm not okay, I want to die", "concern", "suicide"),
    ("i dont want to live anymore", "high", "suicide"),
    ("I'm going to kill myself tonight", "imminent", "suicide"),
    ("i want to die. i have the pills right here", "imminent", "suicide"),
    ("ive been cutting again", "high", "self_harm"),
    ("i cut myself last night", "high", "self_harm"),
    ("I tried to kill myself years ago and the feelings are coming back again", "high", "suicide"),
    ("my friend said she wants to kill herself", "high", "third_party"),
    ("my friend is suicidal", "high", "third_party"),
    ("I'm going to hurt him", "high", "harm_to_others"),
    ("my husband beats me", "high", "abuse_or_violence"),
    ("I was raped", "high", "abuse_or_violence"),
    ("he is hitting me right now", "imminent", "abuse_or_violence"),
    ("i think i'm having a heart attack", "imminent", "medical_emergency"),
    ("I took all my pills", "imminent", "medical_emergency"),
    ("my roommate won't wake up", "imminent", "medical_emergency"),
    ("I can't breathe", "imminent", "medical_emergency"),
    (
        "My mom was cold whenever I cried and my dad was never home. These days my partner takes hours to "
        "reply and I spiral. Honestly I sometimes think about ending my life. Anyway, I also struggle with trust.",
        "high",
        "suicide",
    ),
]

NEGATIVES = [
    "I'm not suicidal",
    "i would never hurt myself",
    "this homework is killing me",
    "I'd kill for a coffee",
    "I died laughing",
    "i want to dye my hair blue",
    "my husband beats me at chess every time",
    "cutting the onions made me cry",
    "what is the suicide rate in the us",
    "my uncle died by suicide last year",
    "I used to self harm years ago but I'm fine now",
    "my phone is dead",
    "my chest hurts from coughing",
    "I feel a bit down today",
    "my mother never comforted me when I cried",
    "when my partner is distant I worry they will leave",
    "I killed the final boss last night",
    "",
    "   ",
    "👍",
]


@pytest.mark.parametrize(("text", "level", "category"), CASES)
def test_flags_crisis(text: str, level: str, category: str) -> None:
    verdict = get_detector().assess(text)
    assert (verdict.level, verdict.category) == (level, category), verdict.signals


@pytest.mark.parametrize("text", NEGATIVES)
def test_leaves_benign_messages_alone(text: str) -> None:
    verdict = get_detector().assess(text)
    assert verdict.level == "none", verdict.signals


def test_signals_name_the_phrase() -> None:
    verdict = get_detector().assess("honestly i want to kill myself")
    assert verdict.signals and "kill myself" in verdict.signals[0].phrase


def test_classifier_alone_only_raises_to_concern() -> None:
    none = Assessment()
    assert combine_with_classifier(none, 0.95).level == "concern"
    assert combine_with_classifier(none, 0.95).source == "classifier"
    assert combine_with_classifier(none, 0.5).level == "none"
    high = get_detector().assess("i want to kill myself")
    assert combine_with_classifier(high, 0.0) == high


def test_every_rule_uses_known_levels_and_categories() -> None:
    from bot.crisis.detector import CATEGORIES

    for rule in load_phrases()["rules"]:
        assert rule["level"] in LEVELS[1:], rule["id"]
        assert rule["category"] in CATEGORIES, rule["id"]


def test_every_phrase_contains_a_trigger_word() -> None:
    """The pre-filter must never hide a phrase from the matcher."""
    phrases = load_phrases()
    detector = get_detector()
    trigger = re.compile("|".join(f"(?:{t})" for t in phrases["triggers"]))
    lists = phrases["lists"]
    for rule in phrases["rules"]:
        for phrase in rule["phrases"]:
            words = [w for w in phrase.split() if w != "*"]
            variants = [detector.normalize(" ".join(w.rstrip("?").split("|")[0] for w in words))]
            for word in words:
                if word.startswith("<"):
                    variants = [v + " " + " ".join(lists[word[1:-1]]) for v in variants]
            assert any(trigger.search(v) for v in variants), f"{rule['id']}: {phrase!r} has no trigger word"


def test_negation_words_are_strings() -> None:
    """YAML reads a bare `no` as False: the negation list must hold the words themselves."""
    negations = load_phrases()["negations"]
    assert all(isinstance(word, str) for word in negations)
    assert {"no", "not", "never", "n't"} <= set(negations)


def test_imminence_markers() -> None:
    detector = get_detector()
    assert detector.has_imminence("I'm going to do it tonight")
    assert detector.has_imminence("i have the pills right here")
    assert not detector.has_imminence("what is anxious attachment")


def test_answer_buttons_in_the_domain_never_read_as_crisis() -> None:
    """Free-text button payloads ("self pay", "just me", ...) are sent as messages when clicked."""
    import yaml

    from bot.settings import PROJECT_ROOT

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    payloads = {
        button["payload"]
        for variants in domain["responses"].values()
        for variant in variants
        for button in variant.get("buttons") or []
        if not str(button["payload"]).startswith("/")
    }
    assert "self pay" in payloads
    detector = get_detector()
    flagged = [text for text in sorted(payloads) if detector.assess(text).level != "none"]
    assert not flagged


@lru_cache(maxsize=1)
def _patterns_only() -> CrisisDetector:
    """The detector without its classifier, compiled once for the module (it holds no state between messages)."""
    from bot import nlp

    return CrisisDetector(load_phrases(), nlp.load())


def test_an_everyday_reason_explains_a_goodbye() -> None:
    detector = _patterns_only()
    assert detector.assess("this is my last message").level == "imminent"
    assert detector.assess("this is my last message tonight, going to bed").level == "none"
    assert detector.assess("it's my last day at the company, sad to say goodbye to everyone").level == "none"
    assert detector.assess("I wrote him a goodbye letter because we're breaking up").level == "none"
    # The reason explains the goodbye only: other crisis words in the message still count.
    verdict = detector.assess("going to bed. this is my last message, i want to kill myself")
    assert verdict.level == "imminent" and verdict.category == "suicide"


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("I'm going to end it with my therapist, she's not a good fit", "none"),
        ("going to end things with my boyfriend this week", "none"),
        ("i'm going to end it", "high"),
        ("want to disappear to a cabin for a weekend with no wifi", "none"),
        ("i just want to disappear", "concern"),
    ],
)
def test_ending_a_relationship_is_not_ending_a_life(text: str, level: str) -> None:
    assert _patterns_only().assess(text).level == level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("we're covering domestic violence in my social work course", "none"),
        ("the overdose scene in that show was hard to watch", "none"),
        ("how do you tell if someone is suicidal?", "none"),
        # "of course" is not a course: the disclosure stays.
        ("of course i want to kill myself, nothing ever changes", "high"),
        ("my nose is so blocked i can't breathe at night", "none"),
        ("my throat is closing and i can't breathe", "imminent"),
    ],
)
def test_talk_about_the_topic(text: str, level: str) -> None:
    assert _patterns_only().assess(text).level == level


@pytest.mark.parametrize(
    "text",
    [
        "burning myself while i type this",
        "i hurt myself a few minutes ago and i think it needs stitches",
        "already started hurting myself and i don't want to stop",
    ],
)
def test_self_harm_in_progress_is_imminent(text: str) -> None:
    assert _patterns_only().assess(text).level == "imminent"


@pytest.mark.parametrize(
    "text",
    [
        "what's the most painless way to die",
        "how many of my meds would it take",
        "is there a quick way to kill myself",
    ],
)
def test_asking_for_a_way_to_die_is_high_even_as_a_question(text: str) -> None:
    verdict = _patterns_only().assess(text)
    assert (verdict.level, verdict.category) == ("high", "suicide"), verdict.signals


@pytest.mark.parametrize(
    ("text", "level", "category"),
    [
        ("kinda want to kil myslf tbh", "high", "suicide"),
        ("my partner's hitting me and the kids are here", "imminent", "abuse_or_violence"),
        ("my husband is hitting me", "imminent", "abuse_or_violence"),
        ("ive got a blade and i'm going to end it", "imminent", "suicide"),
        ("gonna unalive myself after my shift. it's all planned", "imminent", "suicide"),
        # Past abuse with distress now, in another sentence, is high.
        ("my ex used to beat me. he found my new address and i haven't slept since", "high", "abuse_or_violence"),
        ("6 years clean and i just want to cut so badly", "high", "self_harm"),
    ],
)
def test_harder_disclosures(text: str, level: str, category: str) -> None:
    verdict = _patterns_only().assess(text)
    assert (verdict.level, verdict.category) == (level, category), verdict.signals


def test_being_hurt_by_someone_is_not_self_harm() -> None:
    detector = _patterns_only()
    assert all(s.category != "self_harm" for s in detector.assess("he hurt me").signals)
    assert detector.assess("it's hitting me hard that she's gone").level == "none"
    assert detector.assess("used to self harm in high school, the urge has faded").level == "none"


def test_no_everyday_example_of_the_assistant_reads_as_crisis() -> None:
    """What users type most (the NLU examples of every non-crisis intent) never gets a crisis reply."""
    from bot.crisis.classifier import load_everyday_messages

    detector = get_detector()
    flagged = [i["text"] for i in load_everyday_messages() if detector.assess(i["text"]).is_crisis]
    assert not flagged, flagged


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # A question that names no person is about the topic ...
        ("is self harm linked to insecure attachment?", "none"),
        ("how do therapists get trained to help clients who are suicidal?", "none"),
        ("can anxious attachment keep someone in an abusive relationship?", "none"),
        # ... one that names the writer, or points at "this", may be a disclosure.
        ("is it normal that i want to kill myself?", "high"),
        ("is this a heart attack? my chest is so tight", "imminent"),
        # Asking for a way to die is never topic talk.
        ("what is the quickest way to die?", "high"),
    ],
)
def test_a_question_naming_no_person_is_about_the_topic(text: str, level: str) -> None:
    assert _patterns_only().assess(text).level == level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("I was suicidal in college but I'm in a good place now", "none"),
        ("i was in an abusive relationship. i've done a lot of work on it and i'm ok now", "none"),
        ("my best friend killed herself when we were at school. I'm safe, I miss her", "none"),
        # An anniversary is a time of risk, not the past.
        ("it's been a year since my best friend killed herself", "high"),
        # Something recent or returning beside the recovery keeps it.
        ("I cut myself last night. I'm fine now", "high"),
        ("I was suicidal in college and it's coming back again, I thought I was better now", "high"),
        # The recovery never explains away an act told in the past tense that is imminent.
        ("I took all my pills. I'm fine now", "imminent"),
    ],
)
def test_a_recovery_said_anywhere_makes_a_past_tense_clause_the_past(text: str, level: str) -> None:
    assert _patterns_only().assess(text).level == level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Dad had a heart attack in 2019, he's doing park runs now", "none"),
        ("I had a stroke scare in march, all tests came back clear", "none"),
        ("my cousin overdosed and died last summer", "none"),
        ("my dad had a heart attack in 2019 and today he has chest pain again", "imminent"),
        ("my dad is having a heart attack", "imminent"),
    ],
)
def test_a_medical_emergency_told_as_the_past(text: str, level: str) -> None:
    assert _patterns_only().assess(text).level == level


@pytest.mark.parametrize(
    ("text", "level", "category"),
    [
        ("my boss is going to kill me, I forgot the slides", "none", "none"),
        ("my sister's going to kill me, I spilled coffee on her jumper", "none", "none"),
        ("he threatened to kill me if I leave him", "high", "abuse_or_violence"),
        ("she never actually hit me, but it made me shut down", "none", "none"),
        ("my dad hit me", "high", "abuse_or_violence"),
        ("my dad had a terrible temper, the odd broken plate", "none", "none"),
        ("she od'd on her meds", "imminent", "medical_emergency"),
        ("going to end it on friday when my flatmate's away", "imminent", "suicide"),
        ("dad has gone really pale and says his chest is crushing", "imminent", "medical_emergency"),
    ],
)
def test_threats_figures_of_speech_and_wildcard_negation(text: str, level: str, category: str) -> None:
    verdict = _patterns_only().assess(text)
    assert (verdict.level, verdict.category) == (level, category), verdict.signals


def test_a_figure_of_speech_alone_makes_the_classifier_need_more_certainty() -> None:
    detector = _patterns_only()
    assert detector.assess("I'm ending things with Jordan tonight").dismissed
    assert not detector.assess("I had a lovely walk").dismissed


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("cut myself while chopping onions, only a nick", "none"),
        ("i cut myself again", "high"),
        ("How do I talk to my kids about the domestic violence they saw on TV?", "none"),
        ("my partner hit the roof when I told him I scraped the car", "none"),
        ("my partner hit me when I told him I scraped the car", "high"),
        ("i can't go on like this with my boss emailing at midnight", "none"),
        ("i can't go on like this", "concern"),
        # A past marker far back in a long sentence no longer speaks of the match.
        (
            "we were talking about how mum used to read to us at bedtime when we were small, "
            "and now dad has gone pale and says his chest is crushing",
            "imminent",
        ),
        ("my friend used to self-harm and now she runs a peer support group", "none"),
    ],
)
def test_everyday_figures_and_the_reach_of_a_past_marker(text: str, level: str) -> None:
    assert _patterns_only().assess(text).level == level


@pytest.mark.parametrize(
    ("text", "level", "category"),
    [
        ("I could kill him lol", "none", "none"),
        ("i could actually kill my brother and i mean it", "high", "harm_to_others"),
        ("my dad beat us at monopoly again", "none", "none"),
        ("grew up with a dad who beat us, we're close now", "none", "none"),
        ("grew up with a dad who beat us. i still have nightmares every night", "high", "abuse_or_violence"),
        ("currently selfharming in the bathroom", "imminent", "self_harm"),
    ],
)
def test_said_in_earnest_and_acts_in_progress(text: str, level: str, category: str) -> None:
    verdict = _patterns_only().assess(text)
    assert (verdict.level, verdict.category) == (level, category), verdict.signals


def test_classifier_high_with_a_time_or_means_is_imminent() -> None:
    detector = get_detector()
    text = "the tablets are counted out in front of me and tonight i'm going through with it"
    assert detector.has_imminence(text)
    assert detector.assess(text).level == "imminent"
    assert not detector.has_imminence("i miss my dad and i cried at lunch")


@pytest.mark.parametrize(
    ("text", "level", "category"),
    [
        ("thinking about stabbing my flatmate scares me", "high", "harm_to_others"),
        ("my bf threw a mug at me last night", "high", "abuse_or_violence"),
        ("the kids next door are being hit, i can hear it", "high", "third_party"),
        ("i cut again after two months", "high", "self_harm"),
        ("i swallowed them all", "imminent", "medical_emergency"),
        ("the whole strip of my meds is gone, i took the whole packet of my tablets", "imminent", "medical_emergency"),
        ("I took the whole box of chocolates to work", "none", "none"),
        ("we threw a party for mum", "none", "none"),
        ("im gonna kill my flatmate he ate my leftovers", "none", "none"),
        ("i'm going to kill my flatmate", "high", "harm_to_others"),
    ],
)
def test_indirect_acts_and_thoughts(text: str, level: str, category: str) -> None:
    verdict = _patterns_only().assess(text)
    assert (verdict.level, verdict.category) == (level, category), verdict.signals


@pytest.mark.parametrize(
    ("text", "level", "category"),
    [
        ("got it all set up out in the shed. this is it for me", "imminent", "suicide"),
        ("it's all set up in the shed for the party", "none", "none"),
        ("sewerslide tmrw", "imminent", "suicide"),
        ("found my dad unconscious on the kitchen floor", "imminent", "medical_emergency"),
        ("worst headache of my life, came on all at once", "imminent", "medical_emergency"),
        ("getting beaten up by the older kids every day", "high", "abuse_or_violence"),
        ("I used to get beaten up at school but that's long behind me", "none", "none"),
        ("long sleeves again so my mum doesn't see my arms", "high", "self_harm"),
        ("goodbye everyone. none of this is your fault", "imminent", "suicide"),
        ("goodbye everyone, see you all on monday!", "none", "none"),
        ("taking a break from social media, deleting the apps, bye everyone", "none", "none"),
        ("my last night on earth", "imminent", "suicide"),
        ("I'm going to hurt him", "high", "harm_to_others"),
        ("he's asleep and i'm standing over him and i want to hurt him", "imminent", "harm_to_others"),
        ("learnt how to spot a stroke on a first aid course", "none", "none"),
        ("my dissertation is on domestic violence in rural areas", "none", "none"),
        ("it's so stuffy in here I can't breathe, open a window", "none", "none"),
    ],
)
def test_farewells_hidden_wounds_and_everyday_reasons(text: str, level: str, category: str) -> None:
    verdict = get_detector().assess(text)
    assert (verdict.level, verdict.category) == (level, category), verdict.signals


@pytest.mark.parametrize(
    ("text", "level", "category"),
    [
        # Ages that cannot be clock times make a disclosure the past; clock times never do.
        ("I took an overdose when I was 16, I'm 34 now and happy", "none", "none"),
        ("I self harmed at the age of 14 and that's long over", "none", "none"),
        ("i'm going to kill myself at 9 tonight", "imminent", "suicide"),
        # "starting to" is a return of the feelings only with a feeling or an act after it.
        ("my old self harm scars are part of who I am, I'm starting to accept that", "none", "none"),
        ("I cut myself years ago and I'm starting to want to again", "high", "self_harm"),
        ("we debated whether violent games cause people to kill themselves", "none", "none"),
        ("that chemistry exam was suicide, half the class walked out", "none", "none"),
        # Someone else's "kms" is about them, not the writer; the writer's own stays theirs.
        ("my roommate keeps saying she wants to kms and she's not joking", "high", "third_party"),
        ("she told me i should just kms", "high", "suicide"),
        ("got my tablets stockpiled in a shoebox and tonight's the night", "imminent", "suicide"),
        ("i've got my meds saved up", "high", "suicide"),
        ("i'm not going to be around after this weekend, thank you for listening", "imminent", "suicide"),
        ("nobody will find out until it's over", "imminent", "suicide"),
        ("wearing a hoodie in july so no one sees the new cuts", "high", "self_harm"),
        ("my son has a fever and a rash that doesn't fade under a glass", "imminent", "medical_emergency"),
        ("i burned myself and it's way worse than i meant it to be", "imminent", "self_harm"),
        ("my brother keeps killing me in minecraft", "none", "none"),
        ("this humidity is literally killing me", "none", "none"),
        ("switching to a new number so leaving the group chat, bye everyone", "none", "none"),
        ("this is the last time you'll hear from me for a while, off travelling!", "none", "none"),
        ("my therapist had me write a goodbye letter to my younger self", "none", "none"),
        # A joke marker that is denied does not make the words a joke.
        ("my brother says he wants to kms and he isn't laughing anymore", "high", "third_party"),
        ("they don't know its the last time they'll see me", "imminent", "suicide"),
        ("itll all be over soon and then nobody has to deal with me", "imminent", "suicide"),
        ("it'll all be over soon, my last exam is on thursday", "none", "none"),
        ("i won't need any of this stuff after tomorrow", "imminent", "suicide"),
        ("i looked up how tall that bridge is", "high", "suicide"),
        ("i've been stockpiling my pills and i'll do it when the house is empty", "imminent", "suicide"),
        # Violence on its way is danger now; a game is not.
        ("my stepdad is going to hurt me when he gets back from the pub", "imminent", "abuse_or_violence"),
        ("my sister always beats me at scrabble", "none", "none"),
        ("i want to kill him and i'm driving to his house", "imminent", "harm_to_others"),
        ("worked out who gets my dog and my car, it's all decided", "imminent", "suicide"),
        ("worked out who gets my dog while i'm away on placement", "none", "none"),
        ("honestly i'm running out of reasons to stay", "high", "suicide"),
    ],
)
def test_ages_returns_hidden_wounds_and_goodbyes_with_reasons(text: str, level: str, category: str) -> None:
    verdict = _patterns_only().assess(text)
    assert (verdict.level, verdict.category) == (level, category), verdict.signals


@pytest.mark.parametrize(
    ("text", "level", "category"),
    [
        # Someone else's "kill me" is a threat, never the writer's wish; told as their words it is abuse.
        ("my husband said he would kill me if i ever left him", "high", "abuse_or_violence"),
        ("my sister says she'll kill me for spilling wine on her rug", "none", "none"),
        ("someone please just kill me", "high", "suicide"),
        # Danger at this moment makes violence imminent; a time alone does not.
        ("he hit me and he's still in the house", "imminent", "abuse_or_violence"),
        ("my partner hit me last night", "high", "abuse_or_violence"),
        ("he's kicking the bedroom door in", "imminent", "abuse_or_violence"),
        ("i've pushed the chest of drawers against the door", "imminent", "abuse_or_violence"),
        ("when he gets home from work i'm getting it", "imminent", "abuse_or_violence"),
        ("my uncle took the gun out and put it on the kitchen table", "imminent", "abuse_or_violence"),
        # Means, a place or an overdose told without a crisis word.
        ("it's quiet on the pier, nobody around to stop me", "imminent", "suicide"),
        ("sitting in the garage with the engine running", "imminent", "suicide"),
        ("the cord is already tied", "imminent", "suicide"),
        ("put my affairs in order this week", "imminent", "suicide"),
        ("put my affairs in order before my hip operation", "none", "none"),
        ("i swallowed a handful of paracetamol an hour ago", "imminent", "medical_emergency"),
        ("my flatmate took a whole packet of ibuprofen", "imminent", "medical_emergency"),
        ("the baby swallowed a button battery", "imminent", "medical_emergency"),
        ("my inhaler isn't working and my lips look blue", "imminent", "medical_emergency"),
        ("how long does it take to pass out in the cold", "high", "suicide"),
        ("looked up which car parks have roof access", "high", "suicide"),
        # Injuries made on purpose, cover stories and the feelings of an attempt creeping back.
        ("i carve words into my thigh", "high", "self_harm"),
        ("told my teacher the cuts were from the cat", "high", "self_harm"),
        ("i scratch my arm until it bleeds", "high", "self_harm"),
        ("cut again last night", "high", "self_harm"),
        ("my hours got cut again at work", "none", "none"),
        ("i tried two years ago and the feeling is creeping back", "high", "suicide"),
        ("my brother punches his own legs when he's stressed", "high", "third_party"),
        ("intrusive thoughts about pushing my dad down the stairs", "high", "harm_to_others"),
        # Words masked against filters.
        ("i want to k*ll myself", "high", "suicide"),
        ("a chocolate cake to die for!", "none", "none"),
        # Emergencies named by their signs; a routine with medicine is none.
        ("my toddler drank some of the bleach", "imminent", "medical_emergency"),
        ("my nephew ate some of my sleeping tablets", "imminent", "medical_emergency"),
        ("i take all of my meds in the morning with breakfast", "none", "none"),
        ("she took all of her tablets at once", "imminent", "medical_emergency"),
        ("my grandma is coughing up blood", "imminent", "medical_emergency"),
        ("he's choking on a sweet and can't breathe", "imminent", "medical_emergency"),
        ("i choked on my tea laughing", "none", "none"),
        ("my wife collapsed on the kitchen floor", "imminent", "medical_emergency"),
        ("dad's speech is slurred and his mouth is drooping", "imminent", "medical_emergency"),
        ("my throat is swelling after the peanut", "imminent", "medical_emergency"),
        # Suicide told without its word.
        ("i have a plan and the means now", "imminent", "suicide"),
        ("been giving my books away to friends", "imminent", "suicide"),
        ("giving my clothes away to the charity shop", "none", "none"),
        ("sorry for everything, i love you all", "imminent", "suicide"),
        ("i keep thinking of jumping", "high", "suicide"),
        ("thinking of jumping ship to a new job", "none", "none"),
        ("ready to let go of the past", "none", "none"),
        ("i'm going to drive my car into a wall", "high", "suicide"),
        ("sitting on the edge of the roof again", "imminent", "suicide"),
        ("i keep standing at the edge of the platform when the trains come", "high", "suicide"),
        ("i want it all to stop for good", "concern", "suicide"),
        # Self-injury told plainly or hidden.
        ("i burn my wrist with a lighter", "high", "self_harm"),
        ("i keep a box of razors under my bed", "high", "self_harm"),
        ("long sleeves in july, for a reason", "high", "self_harm"),
        # A habit of violence is high; only danger at this moment is imminent.
        ("my mum slaps me when she's drunk", "high", "abuse_or_violence"),
        ("told everyone the bruises were from rugby. they're really from my dad", "high", "abuse_or_violence"),
        ("she says the marks are my fault for answering back", "high", "abuse_or_violence"),
        ("my ex sent me a photo of my front door last night", "high", "abuse_or_violence"),
        ("my cousin sent me a photo of my house from the plane", "none", "none"),
        ("the only holiday i'm planning is a permanent one", "high", "suicide"),
        ("on the platform i think about stepping forward", "high", "suicide"),
        ("i think about stepping out of my comfort zone", "none", "none"),
    ],
)
def test_threats_danger_now_oblique_means_and_masked_words(text: str, level: str, category: str) -> None:
    verdict = _patterns_only().assess(text)
    assert (verdict.level, verdict.category) == (level, category), verdict.signals
