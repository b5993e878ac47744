"""The SMS (Twilio) and Telegram channels, end to end through local stand-ins of both platforms' APIs.

The whole stack runs on spare ports with both channels configured to send to the stand-ins. Webhook
calls are made the way each platform makes them (signed form posts; JSON updates with the secret
token), and what the channel sends is read back from the stand-ins.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import requests

from bot.channels.outbound import RetryPolicy, platform_delay, post_with_retry
from bot.settings import Settings
from tests.conftest import fetch_tracker, free_port, live_stack
from tests.platform_standins import TelegramStandIn, TwilioStandIn, twilio_signed, wait_for

ACCOUNT_SID = "AC" + "0" * 30 + "11"
AUTH_TOKEN = "twilio-test-auth-token"
OUR_NUMBER = "+15550100000"
TWILIO_URL = "https://bot.example.org/webhooks/twilio/webhook"
BOT_TOKEN = "123456:test-bot-token"
SECRET = "test-secret_token-42"
TURN = 60.0


# ---------- sending with retries, against the stand-ins alone ----------


@pytest.fixture()
def twilio_api() -> Iterator[TwilioStandIn]:
    standin = TwilioStandIn(free_port(), ACCOUNT_SID, AUTH_TOKEN)
    standin.start()
    yield standin
    standin.close()


def _send_sms(standin: TwilioStandIn, body: str, sleeps: list[float], token: str = AUTH_TOKEN) -> Any:
    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def go() -> Any:
        async with aiohttp.ClientSession() as session:
            return await post_with_retry(
                session,
                f"{standin.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
                what="test send",
                policy=RetryPolicy(attempts=4, base_delay=0.5, max_delay=30),
                sleep=fake_sleep,
                data={"To": "+15550100001", "From": OUR_NUMBER, "Body": body},
                auth=aiohttp.BasicAuth(ACCOUNT_SID, token),
            )

    return asyncio.run(go())


def test_rate_limited_send_waits_as_told_then_succeeds(twilio_api: TwilioStandIn) -> None:
    twilio_api.fail_next(2, 429, retry_after=7)
    sleeps: list[float] = []
    result = _send_sms(twilio_api, "hello", sleeps)
    assert result.ok and result.attempts == 3
    assert sleeps == [7.0, 7.0]
    assert twilio_api.bodies("+15550100001") == ["hello"]


def test_server_errors_back_off_exponentially_and_give_up(twilio_api: TwilioStandIn) -> None:
    twilio_api.fail_next(10, 503)
    sleeps: list[float] = []
    result = _send_sms(twilio_api, "hello", sleeps)
    assert not result.ok and result.attempts == 4 and result.status == 503
    assert sleeps == [0.5, 1.0, 2.0]
    assert twilio_api.sent == []


def test_a_refused_request_is_not_retried(twilio_api: TwilioStandIn) -> None:
    sleeps: list[float] = []
    result = _send_sms(twilio_api, "hello", sleeps, token="wrong")
    assert not result.ok and result.status == 401 and result.attempts == 1 and sleeps == []
    assert result.body["code"] == 20003


def test_unreachable_platform_is_retried_then_reported() -> None:
    standin = TwilioStandIn(free_port(), ACCOUNT_SID, AUTH_TOKEN)  # never started
    sleeps: list[float] = []
    result = _send_sms(standin, "hello", sleeps)
    standin.close()
    assert not result.ok and result.status is None and len(sleeps) == 3


def test_platform_delay_reads_both_platforms() -> None:
    assert platform_delay({"Retry-After": "3"}, None) == 3.0
    assert platform_delay({}, {"ok": False, "parameters": {"retry_after": 5}}) == 5.0
    assert platform_delay({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None) is None


# ---------- the whole stack ----------


@pytest.fixture(scope="module")
def platforms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, TwilioStandIn, TelegramStandIn]]:
    twilio = TwilioStandIn(free_port(), ACCOUNT_SID, AUTH_TOKEN)
    telegram = TelegramStandIn(free_port(), BOT_TOKEN)
    twilio.start()
    telegram.start()
    env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_NUMBER": OUR_NUMBER,
        "TWILIO_WEBHOOK_URL": TWILIO_URL,
        "TWILIO_API_BASE": twilio.base_url,
        "TELEGRAM_TOKEN": BOT_TOKEN,
        "TELEGRAM_SECRET_TOKEN": SECRET,
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/webhooks/telegram/webhook",
        "TELEGRAM_API_BASE": telegram.base_url,
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        with live_stack(tmp_path_factory, "messaging-live") as settings:
            yield settings, twilio, telegram
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        twilio.close()
        telegram.close()


class Phone:
    """One SMS user texting the assistant through Twilio's webhook."""

    def __init__(self, settings: Settings, twilio: TwilioStandIn, prefix: str = "") -> None:
        self.settings = settings
        self.twilio = twilio
        self.number = prefix + "+1555" + str(uuid.uuid4().int)[:7]

    def post(self, params: dict[str, str], headers: dict[str, str] | None = None) -> requests.Response:
        return requests.post(
            f"{self.settings.rasa_url}/webhooks/twilio/webhook",
            data=params,
            headers=headers if headers is not None else twilio_signed(AUTH_TOKEN, TWILIO_URL, params),
            timeout=30,
        )

    def text(self, body: str, expect: int = 1) -> list[str]:
        """Send one SMS and return the bodies sent back (waits for at least ``expect`` of them)."""
        before = len(self.twilio.bodies(self.number))
        params = {"From": self.number, "To": OUR_NUMBER, "Body": body, "AccountSid": ACCOUNT_SID, "NumMedia": "0"}
        answer = self.post(params)
        assert answer.status_code == 200
        assert answer.text.replace(" ", "") == '<?xmlversion="1.0"encoding="UTF-8"?><Response></Response>'
        if expect == 0:
            return []
        wait_for(lambda: len(self.twilio.bodies(self.number)) >= before + expect, TURN, f"a reply to {body!r}")
        settle(lambda: len(self.twilio.bodies(self.number)))
        return self.twilio.bodies(self.number)[before:]


def settle(count: Any, quiet: float = 0.8) -> None:
    """Wait until ``count()`` stops growing for ``quiet`` seconds (the rest of a turn's messages)."""
    seen = -1
    while seen != count():
        seen = count()
        time.sleep(quiet)


def _user_texts(settings: Settings, sender: str) -> list[str]:
    return [str(e.get("text")) for e in fetch_tracker(settings, sender)["events"] if e["event"] == "user"]


def test_sms_conversation_consent_intake_by_number_and_words(platforms: tuple[Settings, Any, Any]) -> None:
    settings, twilio, _ = platforms
    phone = Phone(settings, twilio)
    replies = phone.text("hello")
    joined = "\n".join(replies)
    assert "not a therapist" in joined and "988" in joined
    assert "1. Yes, that's okay" in replies[-1] and "2. No, not right now" in replies[-1]
    assert all(len(body) <= 1600 for body in replies)
    assert "**" not in joined
    replies = phone.text("1")
    assert "1. Reflect on my patterns" in replies[-1]
    replies = phone.text("reflect on my patterns")
    assert "Question 1 of 14" in "\n".join(replies)
    replies = phone.text("my mum was warm but often busy with work")
    assert "Question 2 of 14" in "\n".join(replies)
    assert _user_texts(settings, phone.number)[:3] == ["hello", "/affirm", "/reflect_start"]


def test_sms_crisis_reply_is_complete_in_the_first_message(platforms: tuple[Settings, Any, Any]) -> None:
    settings, twilio, _ = platforms
    phone = Phone(settings, twilio)
    phone.text("hello")
    replies = phone.text("i want to end my life tonight, i have the pills here")
    first = replies[0]
    assert "911" in first and "988" in first


def test_sms_therapist_search_shows_compact_cards(platforms: tuple[Settings, Any, Any]) -> None:
    settings, twilio, _ = platforms
    phone = Phone(settings, twilio)
    phone.text("hello")
    phone.text("1")
    replies: list[str] = []
    for answer in ("find a therapist", "Texas", "aetna", "anxiety", "online", "just me", "no preference"):
        replies = phone.text(answer)
    joined = "\n".join(replies)
    assert "I found" in joined
    assert joined.count("Online (licensed in Texas)") >= 3
    assert "1. " in replies[-1]  # the next steps as a numbered list
    assert all(len(body) <= 1600 for body in replies)


def test_whatsapp_through_twilio_answers_from_the_whatsapp_number(platforms: tuple[Settings, Any, Any]) -> None:
    settings, twilio, _ = platforms
    phone = Phone(settings, twilio, prefix="whatsapp:")
    replies = phone.text("hello")
    assert "not a therapist" in "\n".join(replies)
    with twilio.lock:
        senders = {sms.sender for sms in twilio.sent if sms.to == phone.number}
    assert senders == {f"whatsapp:{OUR_NUMBER}"}


def test_sms_keywords_stop_start_help(platforms: tuple[Settings, Any, Any]) -> None:
    settings, twilio, _ = platforms
    phone = Phone(settings, twilio)
    assert "unsubscribed" in phone.text("STOP")[0]
    phone.text("hello", expect=0)
    time.sleep(3)
    assert len(twilio.bodies(phone.number)) == 1, "nothing is sent after STOP"
    help_reply = phone.text("help")[0]
    assert "STOP" in help_reply and "988" in help_reply and "911" in help_reply
    assert "Welcome back" in phone.text("Start")[0]
    assert "not a therapist" in "\n".join(phone.text("hello"))


def test_sms_delete_my_data(platforms: tuple[Settings, Any, Any]) -> None:
    settings, twilio, _ = platforms
    phone = Phone(settings, twilio)
    phone.text("hello")
    replies = phone.text("delete my conversation")
    assert "1. Yes, delete it" in replies[-1]
    replies = phone.text("1")
    assert "deleted" in "\n".join(replies)
    assert _user_texts(settings, phone.number) == []


def test_forged_and_tampered_twilio_requests_are_refused(platforms: tuple[Settings, Any, Any]) -> None:
    settings, twilio, _ = platforms
    phone = Phone(settings, twilio)
    params = {"From": phone.number, "To": OUR_NUMBER, "Body": "hello", "AccountSid": ACCOUNT_SID}
    assert phone.post(params, headers={}).status_code == 403
    assert phone.post(params, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}).status_code == 403
    signed = twilio_signed(AUTH_TOKEN, TWILIO_URL, params)
    assert phone.post({**params, "Body": "something else"}, headers=signed).status_code == 403
    wrong_url = twilio_signed(AUTH_TOKEN, "https://evil.example/webhooks/twilio/webhook", params)
    assert phone.post(params, headers=wrong_url).status_code == 403
    time.sleep(2)
    assert twilio.bodies(phone.number) == []
    assert _user_texts(settings, phone.number) == []


def test_sms_without_body_and_with_a_photo(platforms: tuple[Settings, Any, Any]) -> None:
    settings, twilio, _ = platforms
    phone = Phone(settings, twilio)
    params = {"From": phone.number, "To": OUR_NUMBER, "AccountSid": ACCOUNT_SID}
    assert phone.post(params).status_code == 200
    photo = {**params, "NumMedia": "1", "MediaUrl0": "https://api.twilio.com/media/1", "Body": ""}
    assert phone.post(photo).status_code == 200
    reply = wait_for(lambda: twilio.bodies(phone.number), TURN, "the reply to a photo")
    assert len(reply) == 1 and "only read text" in reply[0]
    assert _user_texts(settings, phone.number) == []


def test_twilio_rate_limit_and_outage_lose_nothing(platforms: tuple[Settings, Any, Any]) -> None:
    settings, twilio, _ = platforms
    phone = Phone(settings, twilio)
    twilio.fail_next(2, 429, retry_after=1)
    replies = phone.text("hello")
    assert "not a therapist" in "\n".join(replies)
    twilio.stop()  # Twilio unreachable: the turn is still stored, the sends are retried, nothing crashes
    try:
        params = {"From": phone.number, "To": OUR_NUMBER, "Body": "yes", "AccountSid": ACCOUNT_SID}
        assert phone.post(params).status_code == 200
        wait_for(lambda: len(_user_texts(settings, phone.number)) == 2, TURN, "the stored turn")
    finally:
        twilio.start()
    replies = phone.text("what can you do")
    assert replies and "\n".join(replies).strip()


# ---------- Telegram ----------


class Chat:
    """One Telegram user talking to the bot through webhook updates."""

    def __init__(self, settings: Settings, telegram: TelegramStandIn) -> None:
        self.settings = settings
        self.telegram = telegram
        self.chat_id = int(str(uuid.uuid4().int)[:9])
        self.update_id = 1000

    def post(self, update: dict[str, Any], secret: str | None = SECRET) -> requests.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        url = f"{self.settings.rasa_url}/webhooks/telegram/webhook"
        return requests.post(url, json=update, headers=headers, timeout=30)

    def _message(self, **fields: Any) -> dict[str, Any]:
        self.update_id += 1
        return {
            "update_id": self.update_id,
            "message": {
                "message_id": self.update_id,
                "date": 1764300000,
                "chat": {"id": self.chat_id, "type": "private"},
                "from": {"id": self.chat_id, "is_bot": False, "first_name": "Sam"},
                **fields,
            },
        }

    def _wait(self, before: int) -> list[Any]:
        wait_for(lambda: len(self.telegram.texts(str(self.chat_id))) > before, TURN, "a Telegram reply")
        settle(lambda: len(self.telegram.texts(str(self.chat_id))))
        with self.telegram.lock:
            return [sent for sent in self.telegram.sent if sent.chat_id == str(self.chat_id)][before:]

    def say(self, text: str) -> list[Any]:
        before = len(self.telegram.texts(str(self.chat_id)))
        assert self.post(self._message(text=text)).status_code == 200
        return self._wait(before)

    def press(self, callback_data: str) -> list[Any]:
        before = len(self.telegram.texts(str(self.chat_id)))
        self.update_id += 1
        update = {
            "update_id": self.update_id,
            "callback_query": {
                "id": f"cb{self.update_id}",
                "from": {"id": self.chat_id, "is_bot": False, "first_name": "Sam"},
                "message": {"message_id": 1, "chat": {"id": self.chat_id, "type": "private"}},
                "data": callback_data,
            },
        }
        assert self.post(update).status_code == 200
        return self._wait(before)


def test_telegram_conversation_with_inline_buttons(platforms: tuple[Settings, Any, Any]) -> None:
    settings, _, telegram = platforms
    chat = Chat(settings, telegram)
    sent = chat.say("/start")
    assert "not a therapist" in "\n".join(s.text for s in sent)
    consent = sent[-1]
    assert [b["text"] for b in consent.buttons] == ["Yes, that's okay", "No, not right now"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in consent.buttons)
    sent = chat.press(consent.buttons[0]["callback_data"])
    assert telegram.answered_callbacks[-1] == f"cb{chat.update_id}"
    menu = sent[-1]
    assert "Reflect on my patterns" in [b["text"] for b in menu.buttons]
    sent = chat.press(next(b["callback_data"] for b in menu.buttons if b["text"] == "Reflect on my patterns"))
    assert "Question 1 of 14" in "\n".join(s.text for s in sent)
    sent = chat.say("kms")
    assert "988" in sent[0].text
    assert _user_texts(settings, str(chat.chat_id))[:3] == ["/greet", "/affirm", "/reflect_start"]


def test_telegram_therapist_search(platforms: tuple[Settings, Any, Any]) -> None:
    settings, _, telegram = platforms
    chat = Chat(settings, telegram)
    chat.say("/start")
    sent: list[Any] = []
    for answer in ("find me a therapist in Texas who takes aetna", "anxiety", "online", "just me", "no preference"):
        sent = chat.say(answer)
    joined = "\n".join(s.text for s in sent)
    assert "I found" in joined and joined.count("Online (licensed in Texas)") >= 3
    assert any(s.buttons for s in sent)


def test_telegram_refuses_forged_updates_and_answers_stickers(platforms: tuple[Settings, Any, Any]) -> None:
    settings, _, telegram = platforms
    chat = Chat(settings, telegram)
    update = chat._message(text="hello")
    assert chat.post(update, secret=None).status_code == 403
    assert chat.post(update, secret="wrong-secret").status_code == 403
    assert _user_texts(settings, str(chat.chat_id)) == []
    before = len(telegram.texts(str(chat.chat_id)))
    assert before == 0
    sticker = chat._message(sticker={"file_id": "x", "emoji": "🙂"})
    assert chat.post(sticker).status_code == 200
    reply = wait_for(lambda: telegram.texts(str(chat.chat_id)), TURN, "the reply to a sticker")
    assert "only read text" in reply[0]
    assert chat.post({"update_id": 1, "edited_message": {"chat": {"id": chat.chat_id}}}).status_code == 200
    assert chat.post({"not": "an update"}).status_code == 200


def test_telegram_rate_limit_is_waited_out(platforms: tuple[Settings, Any, Any]) -> None:
    settings, _, telegram = platforms
    chat = Chat(settings, telegram)
    telegram.fail_next(1, 429, retry_after=1)
    sent = chat.say("hello")
    assert "not a therapist" in "\n".join(s.text for s in sent)


def test_set_webhook_command_registers_the_secret(platforms: tuple[Settings, Any, TelegramStandIn]) -> None:
    _, _, telegram = platforms
    from bot.channels.telegram_cli import set_webhook
    from bot.settings import get_settings

    get_settings.cache_clear()
    try:
        answer = set_webhook()
    finally:
        get_settings.cache_clear()
    assert answer["ok"] is True
    assert telegram.webhook["secret_token"] == SECRET
    assert telegram.webhook["url"] == "https://bot.example.org/webhooks/telegram/webhook"
    assert telegram.webhook["allowed_updates"] == ["message", "callback_query"]
