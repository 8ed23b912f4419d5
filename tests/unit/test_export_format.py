"""Import lines are validated at the edge, each error naming its line, before the core
writes anything."""

from __future__ import annotations

import pytest

from continuum.errors import InvalidInput
from continuum.export_format import parse_import


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"type":"memory","id":"x"}', "import line 3: content: Field required"),
        ('{"type":"header","format":"continuum-export","version":9,"tenant_id":"t","exported_at":"x"}',
         "import line 3: export version 9 is newer than this server"),
        ('{"type":"nothing"}', "import line 3: line: Input tag 'nothing'"),
    ],
)  # fmt: skip
def test_errors_name_the_line(line: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_import(["", line], "t", first_line=2)
    assert caught.value.message.startswith(message)
