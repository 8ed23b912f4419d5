from continuum.ids import IdGenerator, is_valid_id


def test_ids_sort_in_creation_order_even_within_a_millisecond():
    generator = IdGenerator()
    ids = [generator.new_id(at_ms=1_700_000_000_000) for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000
    later = generator.new_id(at_ms=1_700_000_000_001)
    assert later > ids[-1]
    assert all(is_valid_id(i) for i in ids)
    assert not is_valid_id("' OR 1=1 --") and not is_valid_id("")
