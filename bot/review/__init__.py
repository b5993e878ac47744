"""Clinician review: anonymization, the review store and the review app."""
