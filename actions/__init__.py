"""Rasa SDK custom actions: thin adapters that read the tracker and call `bot`."""
