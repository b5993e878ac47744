"""The action server: Rasa SDK's own, started once the language resources are loaded.

The custom actions read answers with spaCy (the intake's requests and cues, the therapist search's
vocabulary). Loading it the first time takes several seconds (importing spaCy imports TensorFlow
through thinc), which the first user would wait for, past Rasa's action timeout: they would get
"something went wrong". So this entry point loads them first and only then lets Rasa SDK open
its port; the health check that the launchers wait for answers when the server can really serve.

Run as `python -m bot.rasa_addons.action_server --actions actions --port 5055` (the same
arguments as `python -m rasa_sdk`).
"""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger(__name__)


def warm_up() -> None:
    """Load everything the actions read messages with, once, in this process."""
    from bot.dialogue.interrupts import get_interrupts
    from bot.directory.understand import read_message
    from bot.reflection.cues import get_analyzer

    get_interrupts()
    get_analyzer()
    read_message("find me a therapist in Ohio who takes Cigna")  # builds the vocabulary's matchers


def main(argv: list[str] | None = None) -> int:
    """Parse Rasa SDK's arguments, load the resources, then run its server until it stops."""
    from bot.nlp import skip_tensorflow

    skip_tensorflow()  # before anything imports spaCy
    from rasa_sdk.__main__ import main_from_args
    from rasa_sdk.endpoint import create_argument_parser

    args = create_argument_parser().parse_args(argv)
    warm_up()
    main_from_args(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
