import pytest

from continuum.core.extraction import concept_key, extract_concepts, extract_decisions


def names(text):
    return [(c.name, c.kind) for c in extract_concepts(text)]


def test_names_quoted_and_technical_terms():
    found = names(
        'Caroline moved to New York City and read "The Great Gatsby"; she uses PostgreSQL and asyncio.gather().'
    )
    assert ("Caroline", "name") in found
    assert ("New York City", "name") in found
    assert ("The Great Gatsby", "quoted") in found
    assert ("PostgreSQL", "technical") in found
    assert ("asyncio.gather()", "technical") in found


@pytest.mark.parametrize(
    "term", ["snake_case_name", "camelCaseName", "HNSW", "GPT-4", "Python3.12", "config.json", "S3"]
)
def test_technical_shapes(term):
    assert (term, "technical") in names(f"We rely on {term} here.")


def test_sentence_openers_and_chat_words_are_not_concepts():
    assert names("Hey! Thanks so much. Sorry, I'm late. Well, okay.") == []


def test_contractions_and_titles_inside_quotes_are_not_duplicated():
    found = [c.name for c in extract_concepts('We\'re reading "The Great Gatsby" again.')]
    assert found == ["The Great Gatsby"]


def test_concept_identity_is_case_and_width_insensitive():
    assert concept_key("FastAPI") == concept_key("fastapi") == concept_key("ＦａｓｔＡＰＩ")
    assert concept_key("New   York") == "new york"


def test_at_most_24_concepts():
    text = " ".join(f"Name{i}X" for i in range(100))
    assert len(extract_concepts(text)) <= 24


@pytest.mark.parametrize(
    "text,expected",
    [
        ("I decided to migrate the API to FastAPI in main.py.", "I decided to migrate the API to FastAPI in main.py"),
        ("We've decided on PostgreSQL.", "We've decided on PostgreSQL"),
        ("Let's go with Redis for caching.", "Let's go with Redis for caching"),
        ("The decision was to deploy on Lambda.", "The decision was to deploy on Lambda"),
        ("I'm going to learn Rust next year!", "I'm going to learn Rust next year"),
        ("We will use Terraform for infra", "We will use Terraform for infra"),
    ],
)
def test_decisions(text, expected):
    assert extract_decisions(text) == [expected]


def test_no_decision_in_plain_statements():
    assert extract_decisions("The weather is nice. I like tea.") == []
