"""Attachment-informed reflection assistant: the library behind the Rasa adapters."""
