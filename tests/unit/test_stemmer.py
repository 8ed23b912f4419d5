from pathlib import Path

import pytest
from snowballstemmer.english_stemmer import EnglishStemmer

from continuum.core.stemmer import stem

# Shipped with the tests (a clone has no benchmark data beside it): the words of real conversations.
VOCABULARY = Path(__file__).resolve().parent / "data" / "stemmer_vocabulary.txt"

# Snowball 3.1 special-cases these beyond the published Porter2 rules; ours does not.
KNOWN_DIFFERENCES = {"paste", "pasted", "pastes", "pasting", "technologist", "univers"}


@pytest.mark.parametrize(
    "word,expected",
    [
        ("running", "run"), ("researched", "research"), ("adoption", "adopt"), ("counseling", "counsel"),
        ("caresses", "caress"), ("ponies", "poni"), ("ties", "tie"), ("generously", "generous"),
        ("dying", "die"), ("skies", "sky"), ("news", "news"), ("added", "add"), ("evening", "evening"),
        ("communication", "communic"), ("hopping", "hop"), ("hoping", "hope"), ("a", "a"), ("be", "be"),
    ],
)  # fmt: skip
def test_known_stems(word, expected):
    assert stem(word) == expected


def test_agrees_with_snowball_on_conversation_vocabulary():
    lines = VOCABULARY.read_text(encoding="utf-8").splitlines()
    words = {line for line in lines if line and not line.startswith("#")}
    reference = EnglishStemmer()
    assert len(words) > 5000
    differences = {w for w in words if stem(w) != reference.stemWord(w)} - KNOWN_DIFFERENCES
    assert differences == set()


def test_stemming_is_memoised_and_pure():
    assert stem("organizations") == stem("organizations") == EnglishStemmer().stemWord("organizations")
    assert stem.cache_info().hits > 0
