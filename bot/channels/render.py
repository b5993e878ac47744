"""Plain-text rendering of a turn's bot replies for SMS (Twilio) and Telegram.

The connectors hand over what Rasa's ``CollectingOutputChannel`` collected for one turn: a list of
reply dicts with the optional keys ``text``, ``buttons``, ``custom`` and ``image``. ``render_sms`` and
``render_telegram`` turn them into the plain-text messages to send (`Outgoing`), and
``answer_to_payload`` maps a typed SMS answer back to one of the options that were listed.

Rules that hold for both channels: markdown is removed (we never send a parse mode); a therapist
search's ``therapist_cards`` payload becomes one compact numbered list, and the per-card text replies
that the bot sends for card-less channels are dropped so the results are not shown twice; other
custom payloads (the ``reflection_summary`` download among them) are ignored, because their text
also arrives as ordinary replies. No message is ever empty and no text is cut inside a word.

The fixed words live in ``wording.yml`` next to this module, read on first use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

WORDING_FILE = Path(__file__).with_name("wording.yml")
CARDS_TYPE = "therapist_cards"

# Boundary levels, best first. A line break counts as a sentence boundary (bullets, card lines).
_PARAGRAPH, _SENTENCE, _WORD, _DIGITS = 3, 2, 1, 0
_LEVELS = (_PARAGRAPH, _SENTENCE, _WORD, _DIGITS)

# Whitespace we may break at: any except the no-break spaces.
_GAP = re.compile(r"[^\S\u00a0\u2007\u202f]+")
_SENTENCE_END = re.compile(r"[.!?][\"'\u2019\u201d)\]]{0,3}\Z")
_INITIALISM = re.compile(r"(?<![\w.])(?:[^\W\d_]\.){2,}\Z")  # "e.g.", "i.e.", "U.S.": not a sentence end
_LINK = re.compile(r"\[([^\[\]\n]+)\]\(((?:[^()\s]|\([^()\s]*\))+)\)")
_BOLD = re.compile(r"\*\*(?=\S)([^\n]*?\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?=[^\s*])([^\n*]*?[^\s*])\*(?![\w*])")
_BLANK_LINES = re.compile(r"\n[^\S\n]*(?:\n[^\S\n]*){2,}")
_HTTP_URL = re.compile(r"https?://\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Option:
    """One choice offered to the user: what it says and what it sends to Rasa."""

    title: str
    payload: str


@dataclass(frozen=True)
class Outgoing:
    """One platform message.

    Attributes:
        text: Plain text to send as one message (never empty).
        options: For Telegram, the inline keyboard of this message; for SMS, the numbered options
            listed at the end of this text (number ``i`` is ``options[i - 1]``).
    """

    text: str
    options: tuple[Option, ...] = ()


@dataclass(frozen=True)
class _Item:
    """What one reply contributes: its rendered text (maybe empty), its buttons and its original text."""

    text: str
    options: tuple[Option, ...]
    raw_text: str | None


@dataclass(frozen=True)
class _Piece:
    """A unit of an SMS turn before packing; ``keep`` marks (a part of) a keep-whole text."""

    text: str
    keep: bool
    options: tuple[Option, ...] = ()


@lru_cache(maxsize=1)
def get_wording() -> Mapping[str, Any]:
    """Return the ``render`` mapping of ``wording.yml``, read once on first use.

    Returns:
        A read-only mapping of wording key to text (``card`` is a nested mapping).

    Raises:
        ValueError: If the file has no ``render`` mapping.
    """
    with WORDING_FILE.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    wording = data.get("render") if isinstance(data, dict) else None
    if not isinstance(wording, dict):
        raise ValueError(f"{WORDING_FILE} must contain a 'render' mapping")
    return MappingProxyType(wording)


# --- markdown -------------------------------------------------------------------------------------


def _loose(text: str) -> str:
    """Letters and digits only, case-folded: the skeleton used for forgiving comparisons."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def _url_core(url: str) -> str:
    """A URL without scheme, ``www.`` and trailing slash, lower-cased."""
    core = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.strip(), flags=re.IGNORECASE).casefold()
    return core.removeprefix("www.").rstrip("/")


def _link_text(match: re.Match[str]) -> str:
    """Plain text for a markdown link: ``label (url)``, or only the address when the label is it."""
    label, url = match.group(1).strip(), match.group(2)
    scheme, _, address = url.partition(":")
    if scheme.casefold() in {"tel", "sms", "mailto"}:
        return label if _loose(address) == _loose(label) else f"{label} ({address})"
    if label == url or _url_core(label) == _url_core(url):
        return url
    return f"{label} ({url})"


def strip_markdown(text: str) -> str:
    """Turn the bot's light markdown into plain text.

    ``**bold**`` and ``*italic*`` lose their stars, ``[label](url)`` becomes ``label (url)`` (only
    the URL when the label is the URL, with or without its scheme; ``tel:``/``sms:``/``mailto:``
    links show the address, or only the label when it is the address). Lines starting with ``- ``
    stay as they are, three or more line breaks become one blank line, and the result is stripped.

    Args:
        text: A reply text as the bot wrote it.

    Returns:
        The text without markdown.
    """
    plain = text.replace("\r\n", "\n").replace("\r", "\n")
    plain = _LINK.sub(_link_text, plain)
    plain = _BOLD.sub(r"\1", plain)
    plain = _ITALIC.sub(r"\1", plain)
    plain = _BLANK_LINES.sub("\n\n", plain)
    return plain.strip()


# --- splitting ------------------------------------------------------------------------------------


def _boundaries(text: str) -> Iterator[tuple[int, int, int]]:
    """Yield (start, end, level) of every whitespace run inside ``text`` where it may be broken.

    A period ends a sentence unless it closes an initialism such as "e.g." or "U.S.".
    A run between two digit groups ("116 123", "0800 1111") gets the lowest level, so that a
    phone number written with spaces is broken only when nothing else fits.
    """
    for match in _GAP.finditer(text):
        start, end = match.span()
        if start == 0 or end == len(text):
            continue
        newlines = match.group().count("\n")
        before, after = text[start - 1], text[end]
        if newlines >= 2:
            level = _PARAGRAPH
        elif newlines == 1 or (
            _SENTENCE_END.search(text[max(0, start - 4) : start])
            and not _INITIALISM.search(text, max(0, start - 12), start)
        ):
            level = _SENTENCE
        elif (before.isdigit() or before == ")") and (
            after.isdigit() or (after in "(+" and text[end + 1 : end + 2].isdigit())
        ):
            level = _DIGITS
        else:
            level = _WORD
        yield start, end, level


def _cut(text: str, limit: int, *, fill: bool) -> tuple[int, int]:
    """Where to end the first part of ``text`` (longer than ``limit``): (end of part, start of rest).

    The last boundary of the best level whose part fits. With ``fill``, paragraph and sentence
    boundaries count the same, so the part is as long as whole sentences allow. Without any
    boundary (one token longer than the limit) the text is cut at the limit.
    """
    best: dict[int, tuple[int, int]] = {}
    for start, end, level in _boundaries(text):
        if start > limit:
            break
        best[_SENTENCE if fill and level == _PARAGRAPH else level] = (start, end)
    for level in _LEVELS:
        if level in best:
            return best[level]
    return limit, limit


def _split(text: str, limit: int, *, fill: bool) -> list[str]:
    """Split ``text`` into stripped, non-empty parts of at most ``limit`` characters."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        start, end = _cut(rest, limit, fill=fill)
        parts.append(rest[:start].rstrip())
        rest = rest[end:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _tail_cut(text: str, limit: int) -> tuple[str, str] | None:
    """Split ``text`` so its last part fits in ``limit``: the longest tail at the best boundary level.

    Returns:
        (head, tail), or None when no boundary leaves a tail that short.
    """
    if limit < 1:
        return None
    best: dict[int, tuple[int, int]] = {}
    for start, end, level in _boundaries(text):
        if len(text) - end <= limit and level not in best:
            best[level] = (start, end)
    for level in _LEVELS:
        if level in best:
            start, end = best[level]
            return text[:start].rstrip(), text[end:]
    return None


def split_sms(text: str, max_chars: int) -> list[str]:
    """Split a text into parts of at most ``max_chars`` characters at natural boundaries.

    Paragraph boundaries (a blank line) are used first, then sentence ends (``.``, ``!`` or ``?``,
    maybe followed by a closing quote or bracket, then whitespace) and line breaks, and word
    boundaries only inside a sentence longer than ``max_chars``. Breaks fall on whitespace only, so
    words, URLs and phone numbers like ``1-800-799-7233`` stay whole; the spaces inside a number such
    as ``116 123`` are used only when no other break fits. Only a single token longer than
    ``max_chars`` is cut inside, at the limit, because the platform would reject the message.

    Args:
        text: The text (plain, markdown already removed).
        max_chars: The longest part allowed, at least 1.

    Returns:
        The parts in order, each stripped, non-empty and at most ``max_chars`` long; joined with
        whitespace they give the text back. An empty or blank text gives an empty list.

    Raises:
        ValueError: If ``max_chars`` is below 1.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    return _split(text, max_chars, fill=False)


# --- reading a turn -------------------------------------------------------------------------------


def _one_line(value: Any) -> str:
    """A card field as one line of text ("" when it is not text)."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def compact_card(card: dict[str, Any], number: int) -> str:
    """One therapist of a search result as a short line of plain text.

    For example ``1) Jane Doe, LCSW (she/her) - Online (licensed in Texas) - In network with Aetna -
    Self-pay fee: $120 a session; sliding scale - Free consultation``. The places, insurance and fee
    are the card's own (already worded) fields; "Free consultation", "Not taking new clients right
    now" and "Fictional sample" are added from ``wording.yml`` when the card says so. Missing fields
    are left out.

    Args:
        card: A card of a ``therapist_cards`` payload.
        number: Its position in the list, from 1.

    Returns:
        The card as one line.
    """
    words = get_wording()["card"]
    name = _one_line(card.get("name"))
    fields: list[str] = []
    if name:
        credentials = _one_line(card.get("credentials"))
        pronouns = _one_line(card.get("pronouns"))
        fields.append(
            name
            + (words["credentials"].format(credentials=credentials) if credentials else "")
            + (words["pronouns"].format(pronouns=pronouns) if pronouns else "")
        )
    where = card.get("where")
    fields.extend(_one_line(place) for place in ([where] if isinstance(where, str) else where or []))
    fields.append(_one_line(card.get("insurance")))
    fields.append(_one_line(card.get("fee")))
    if card.get("free_consultation") is True:
        fields.append(words["free_consultation"])
    if card.get("accepting_new_clients") is False:
        fields.append(words["not_accepting"])
    if card.get("sample") is True:
        fields.append(words["sample"])
    body = str(words["separator"]).join(field for field in fields if field)
    return f"{words['number'].format(number=number)} {body}".strip()


def _cards(custom: Any) -> list[dict[str, Any]]:
    """The cards of a ``therapist_cards`` payload (empty for anything else)."""
    if not isinstance(custom, dict) or custom.get("type") != CARDS_TYPE or not isinstance(custom.get("cards"), list):
        return []
    return [card for card in custom["cards"] if isinstance(card, dict)]


def _cards_text(cards: list[dict[str, Any]]) -> str:
    """The heading and one compact line per card."""
    lines = [compact_card(card, number) for number, card in enumerate(cards, start=1)]
    return "\n".join([get_wording()["cards_heading"], *lines])


def _options(buttons: Any) -> tuple[Option, ...]:
    """The usable buttons of a reply as options (a button without payload sends its title)."""
    if not isinstance(buttons, list):
        return ()
    options = []
    for button in buttons:
        if not isinstance(button, dict) or not isinstance(button.get("title"), str):
            continue
        title = " ".join(strip_markdown(button["title"]).split())
        payload = button.get("payload")
        if title:
            options.append(Option(title=title, payload=payload if isinstance(payload, str) and payload else title))
    return tuple(options)


def _same(text: str) -> str:
    """Whitespace-normalised text, to recognise a card's text sent again as a reply."""
    return " ".join(text.split())


def _read_turn(replies: list[dict[str, Any]]) -> list[_Item]:
    """Render each reply's content as plain text, dropping the card texts that the card list repeats."""
    card_texts = {
        _same(card["text"])
        for reply in replies
        if isinstance(reply, dict)
        for card in _cards(reply.get("custom"))
        if isinstance(card.get("text"), str)
    }
    items = []
    for reply in replies:
        if not isinstance(reply, dict):
            continue
        raw = reply.get("text") if isinstance(reply.get("text"), str) else None
        blocks = []
        if raw is not None and _same(raw) not in card_texts:
            blocks.append(strip_markdown(raw))
        cards = _cards(reply.get("custom"))
        if cards:
            blocks.append(_cards_text(cards))
        text = "\n\n".join(block for block in blocks if block)
        image = reply.get("image")
        if isinstance(image, str) and _HTTP_URL.fullmatch(image.strip()):
            line = get_wording()["image"].format(url=image.strip())
            text = f"{text}\n{line}" if text else line
        items.append(_Item(text=text, options=_options(reply.get("buttons")), raw_text=raw))
    return items


# --- SMS ------------------------------------------------------------------------------------------


def _options_listing(options: Sequence[Option]) -> str:
    """The numbered list of options under its intro line."""
    words = get_wording()
    lines = [words["option_line"].format(number=number, title=o.title) for number, o in enumerate(options, start=1)]
    return "\n".join([words["options_intro"], *lines])


def _with_listing(
    parts: list[str], keep: bool, options: tuple[Option, ...], max_chars: int, hard_max: int
) -> list[_Piece]:
    """The parts of the reply that carries the turn's options, with the list added to the last one."""
    listing = _options_listing(options)
    suffix = "\n\n" + listing
    cap = hard_max if keep else max_chars
    pieces = [_Piece(part, keep) for part in parts[:-1]]
    last = parts[-1]
    if len(last) + len(suffix) <= cap:
        return [*pieces, _Piece(last + suffix, keep, options)]
    tail = None if keep else _tail_cut(last, cap - len(suffix))
    if tail is not None:
        head, question = tail
        return [*pieces, _Piece(head, keep), _Piece(question + suffix, keep, options)]
    # A keep-whole text is not cut again for the list, and a list too long to share a message goes alone.
    return [*pieces, _Piece(last, keep), *_listing_pieces(listing, options, max_chars)]


def _listing_pieces(listing: str, options: tuple[Option, ...], max_chars: int) -> list[_Piece]:
    """The options list as message(s) of its own; the last one carries all the options."""
    parts = split_sms(listing, max_chars)
    return [*(_Piece(part, False) for part in parts[:-1]), _Piece(parts[-1], False, options)]


def _pack(pieces: list[_Piece], max_chars: int, hard_max: int) -> list[Outgoing]:
    """Join consecutive pieces with a blank line while they fit; nothing is added after an options list."""
    messages: list[Outgoing] = []
    current: _Piece | None = None
    for piece in pieces:
        if current is not None and not current.options:
            size = len(current.text) + 2 + len(piece.text)
            if size <= max_chars or (piece.keep and size <= hard_max):
                current = _Piece(current.text + "\n\n" + piece.text, current.keep or piece.keep, piece.options)
                continue
        if current is not None:
            messages.append(Outgoing(current.text, current.options))
        current = piece
    if current is not None:
        messages.append(Outgoing(current.text, current.options))
    return messages


def render_sms(
    replies: list[dict[str, Any]],
    *,
    max_chars: int = 612,
    hard_max: int = 1600,
    keep_whole: Callable[[str], bool] | None = None,
) -> list[Outgoing]:
    """Render one turn's replies as SMS bodies.

    Reply texts (markdown removed) are joined with a blank line into as few messages as fit in
    ``max_chars``; a longer text is split with `split_sms`. The buttons of the last reply that has
    buttons (earlier ones are superseded) become one numbered list at the end of that reply's
    message (of its last part, or of its last sentences when the whole part is too long), and that
    message's `Outgoing.options` holds them in order; a reply with buttons and no text lends them
    to the reply before it. A reply text for which ``keep_whole(text)`` is true (called with the
    text as the bot wrote it) is never split unless it is longer than ``hard_max``, may make its
    message longer than ``max_chars`` up to ``hard_max``, and is only joined after another text when
    the result stays within ``hard_max``; so a keep-whole first reply arrives whole in the first
    message. Beyond ``hard_max`` its first part is as long as whole sentences allow. Therapist cards
    are one compact list, card texts sent as replies are dropped, other custom payloads are ignored,
    and an http(s) image becomes an "(image: URL)" line.

    Args:
        replies: The turn's replies as ``CollectingOutputChannel`` collected them.
        max_chars: The preferred longest message (612 = four 153-character GSM segments).
        hard_max: The platform's longest message (Twilio: 1600); no message is longer.
        keep_whole: Tells which reply texts must not be split, e.g. those naming crisis resources.

    Returns:
        The messages in order, none empty; an empty list when there is nothing to send.

    Raises:
        ValueError: If ``max_chars`` is below 1 or ``hard_max`` below ``max_chars``.
    """
    if max_chars < 1 or hard_max < max_chars:
        raise ValueError("need 1 <= max_chars <= hard_max")
    items = _read_turn(replies)
    options: tuple[Option, ...] = ()
    carrier: int | None = None
    for index in range(len(items) - 1, -1, -1):
        if items[index].options:
            options = items[index].options
            carrier = next((k for k in range(index, -1, -1) if items[k].text), None)
            break
    pieces: list[_Piece] = []
    for index, item in enumerate(items):
        if not item.text:
            continue
        keep = keep_whole is not None and item.raw_text is not None and bool(keep_whole(item.raw_text))
        if keep:
            parts = [item.text] if len(item.text) <= hard_max else _split(item.text, hard_max, fill=True)
        else:
            parts = split_sms(item.text, max_chars)
        if index == carrier:
            pieces.extend(_with_listing(parts, keep, options, max_chars, hard_max))
        else:
            pieces.extend(_Piece(part, keep) for part in parts)
    if options and carrier is None:
        pieces.extend(_listing_pieces(_options_listing(options), options, max_chars))
    return _pack(pieces, max_chars, hard_max)


# --- Telegram -------------------------------------------------------------------------------------


def render_telegram(replies: list[dict[str, Any]], *, max_chars: int = 4096) -> list[Outgoing]:
    """Render one turn's replies as Telegram messages (plain text, no parse mode).

    Each reply becomes one message (split with `split_sms` only when longer than ``max_chars``);
    markdown is removed, therapist cards are one compact list, card texts sent as replies are
    dropped, other custom payloads are ignored and an http(s) image becomes an "(image: URL)" line.
    A reply's buttons become the ``options`` (inline keyboard) of its message, of the last part when
    it was split. Buttons of a reply without text go to the message before, unless that one already
    has a keyboard or there is none; then they get a short "Choose one:" message of their own.

    Args:
        replies: The turn's replies as ``CollectingOutputChannel`` collected them.
        max_chars: Telegram's longest message text.

    Returns:
        The messages in order, none empty; an empty list when there is nothing to send.

    Raises:
        ValueError: If ``max_chars`` is below 1.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    messages: list[Outgoing] = []
    for item in _read_turn(replies):
        if item.text:
            messages.extend(Outgoing(part) for part in split_sms(item.text, max_chars))
            if item.options:
                messages[-1] = replace(messages[-1], options=item.options)
        elif item.options:
            if messages and not messages[-1].options:
                messages[-1] = replace(messages[-1], options=item.options)
            else:
                messages.append(Outgoing(get_wording()["choose_one"], item.options))
    return messages


# --- answers --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _number_answer() -> re.Pattern[str]:
    """The pattern of an answer that picks an option by number ("2", "#2", "2)", "option 2")."""
    words = "|".join(re.escape(str(word)) for word in get_wording()["number_words"])
    return re.compile(rf"\(?\s*(?:(?:{words})\s*)?#?\s*(\d{{1,4}})\s*[.)]?", re.IGNORECASE)


def answer_to_payload(text: str, options: Sequence[Option]) -> str | None:
    """Map a user's typed answer to the payload of one of the options they were offered.

    A number ("2", " 2. ", "#2", "2)", "(2)", "option 2", "number 2", "choice 2") picks that option;
    a number out of range picks nothing. Otherwise the whole answer must equal one option's title
    ignoring case, punctuation and whitespace ("yes thats okay" for "Yes, that's okay"). Nothing is
    guessed beyond that: when the answer matches no option, more than one title, or a number and a
    different option's title (options titled with numbers), the result is None and the text should
    go to the NLU as typed.

    Args:
        text: The user's message.
        options: The options listed in the last message, in their numbered order.

    Returns:
        The chosen option's payload, or None.
    """
    if not options:
        return None
    skeleton = _loose(text)
    titled = [index for index, option in enumerate(options) if skeleton and _loose(option.title) == skeleton]
    by_title = titled[0] if len(titled) == 1 else None
    if len(titled) > 1:
        return None
    number = _number_answer().fullmatch(text.strip())
    if number is not None:
        index = int(number.group(1)) - 1
        if 0 <= index < len(options) and by_title in (None, index):
            return options[index].payload
        if not 0 <= index < len(options) and by_title is not None:
            return options[by_title].payload
        return None
    return options[by_title].payload if by_title is not None else None
