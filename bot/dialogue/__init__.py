"""Dialogue helpers that custom actions call: pure functions over plain data."""
