"""The D1 stand-in behaves like the real local D1 of wrangler, case by case."""

from __future__ import annotations

import pytest

from tests.support.d1_local import LocalD1
from tests.support.d1_standin import D1Database
from tests.support.workers_env import require_tooling
from tests.workers.d1_cases import CASES, run_case

pytestmark = pytest.mark.slow  # starts real servers, builds or models: outside the quick loop


@pytest.fixture(scope="module")
def local_d1():
    require_tooling()
    local = LocalD1()
    yield local
    local.close()


@pytest.fixture(scope="module")
def standin():
    db = D1Database()
    yield db
    db.close()


# One database for all cases on each side, in the same order: state that survives a
# reset (the connection's last insert rowid) must evolve the same way on both.
@pytest.mark.parametrize("case", list(CASES))
async def test_standin_matches_local_d1(case, local_d1, standin):
    real = await run_case(local_d1, CASES[case])
    mine = await run_case(standin, CASES[case])
    for index, (expected, got) in enumerate(zip(real, mine, strict=True)):
        assert got == expected, f"{case} call #{index}: {CASES[case][index][:2]!r}"
