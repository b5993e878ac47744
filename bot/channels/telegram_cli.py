"""`python -m bot telegram set-webhook`: register the webhook with its secret token.

Telegram then sends the token in ``X-Telegram-Bot-Api-Secret-Token`` with every update, and the
channel refuses requests without it. This is a command, not something the server does at start-up, so
a restart never depends on Telegram being reachable.
"""

from __future__ import annotations

import argparse
import json

import requests

from bot.settings import get_settings


def set_webhook(url: str | None = None, *, timeout: float = 15.0) -> dict[str, object]:
    """Register the webhook URL and secret token with Telegram's Bot API.

    Args:
        url: The public webhook URL; TELEGRAM_WEBHOOK_URL when None.
        timeout: Seconds to wait for Telegram.

    Returns:
        Telegram's JSON answer.

    Raises:
        SystemExit: When the token, secret or URL is missing, or Telegram refuses.
    """
    settings = get_settings()
    webhook = url or settings.telegram_webhook_url
    missing = [
        name
        for name, value in (
            ("TELEGRAM_TOKEN", settings.telegram_token),
            ("TELEGRAM_SECRET_TOKEN", settings.telegram_secret_token),
            ("TELEGRAM_WEBHOOK_URL (or --url)", webhook),
        )
        if not value
    ]
    if missing:
        raise SystemExit(f"Set {', '.join(missing)} in .env first.")
    if not webhook.startswith("https://"):
        raise SystemExit(f"Telegram only calls https:// webhooks; got {webhook!r}.")
    answer = requests.post(
        f"{settings.telegram_api_base}/bot{settings.telegram_token}/setWebhook",
        json={
            "url": webhook,
            "secret_token": settings.telegram_secret_token,
            "allowed_updates": ["message", "callback_query"],
        },
        timeout=timeout,
    )
    try:
        body: dict[str, object] = answer.json()
    except ValueError:
        body = {"ok": False, "description": f"HTTP {answer.status_code}"}
    if not body.get("ok"):
        raise SystemExit(f"Telegram refused the webhook: {body.get('description')}")
    return body


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add `telegram set-webhook` to the command line."""
    telegram = sub.add_parser("telegram", help="Telegram channel set-up")
    commands = telegram.add_subparsers(dest="telegram_command", required=True)
    command = commands.add_parser("set-webhook", help="register the webhook URL with the secret token")
    command.add_argument("--url", help="public https webhook URL (default: TELEGRAM_WEBHOOK_URL)")
    command.set_defaults(func=lambda args: print(json.dumps(set_webhook(args.url))) or 0)
