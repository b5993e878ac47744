"""Crisis detection and escalation: detectors, phrase lists and helplines as data."""
