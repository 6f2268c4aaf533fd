"""tests/unit: pure domain rules and helpers, run without a database or a broker
(`make test-unit` runs this folder alone, `make test` runs it with the rest).

Every fixture of the real stack (`wb`, `hb`, `demo_tenants`, `make_official`, ...) depends on
`stack`; here `stack` fails at once, so a test that needs the stack cannot hide in this folder."""

import pytest


@pytest.fixture(scope="session")
def stack():
    pytest.fail(
        "a test in tests/unit asked for the real stack: move it to tests/integration/<area>/",
        pytrace=False,
    )
