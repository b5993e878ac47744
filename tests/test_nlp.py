"""The shared spaCy accessor, and spaCy without TensorFlow in the processes that never use it."""

from __future__ import annotations

import subprocess
import sys

from bot.settings import PROJECT_ROOT

PROBE = """
import sys
from bot.nlp import load, skip_tensorflow
assert skip_tensorflow()
doc = load()("she was crying when the others left")
print([t.lemma_ for t in doc][2], sys.modules.get("tensorflow") is None)
"""


def test_spacy_lemmatises_without_tensorflow_in_a_fresh_process() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split() == ["cry", "True"]


def test_skipping_is_refused_once_tensorflow_is_imported() -> None:
    probe = "import sys, tensorflow\nfrom bot.nlp import skip_tensorflow\nprint(skip_tensorflow())"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "False"
