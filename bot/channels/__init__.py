"""Plain-text rendering of bot replies for channels without rich widgets (SMS, Telegram)."""
