"""The only package that imports rasa: thin adapters over the rest of `bot`."""
