"""Reflection intake: question bank, answer analysis, scoring and the non-diagnostic reflection."""
