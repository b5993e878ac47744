"""Web chat page for the reflection assistant: a small aiohttp server that proxies to Rasa."""
