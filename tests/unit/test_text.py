from continuum.core.text import analyze, query_terms, words


def test_stopwords_removed_and_words_stemmed():
    assert analyze("The cats were running to the gardens!") == ["cat", "run", "garden"]


def test_repeats_kept_for_term_frequency():
    assert analyze("coffee, coffee and more coffee") == ["coffe", "coffe", "coffe"]


def test_query_terms_are_distinct_in_order():
    assert query_terms("garden gardens gardening") == ["garden"]


def test_unicode_is_folded_and_kept():
    assert analyze("Ｃａｆé CAFÉ") == ["café", "café"]
    assert analyze("日本語 テキスト") == ["日本語", "テキスト"]


def test_terms_are_safe_for_every_full_text_engine():
    text = 'a "quoted" NEAR(x y) -minus col:value * ^ {} _under_score_ 3.14 user_id'
    terms = analyze(text)
    assert all(t.isalnum() for t in terms), terms
    assert "near" in terms and "minus" in terms and "14" in terms


def test_words_before_analysis():
    assert words("Hello, World") == ["hello", "world"]
