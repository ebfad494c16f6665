from collections.abc import AsyncIterator

import pytest

from tests.unit.helpers import ENGINES


@pytest.fixture(autouse=True)
async def _dispose_engines() -> AsyncIterator[None]:
    yield
    while ENGINES:
        await ENGINES.pop().dispose()
