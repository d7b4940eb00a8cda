"""pytest fixtures of the AWS emulator (loaded by tests/conftest.py as a plugin).

- `emulator_server` (session): one emulator process for the whole test run.
- `emulator` (function): the `Emulator` client on it, reset before the test.
"""

from collections.abc import Iterator

import pytest

from emulator.client import Emulator, EmulatorProcess, start_emulator


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    server = start_emulator(tmp_path_factory.mktemp("emulator"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def emulator(emulator_server: EmulatorProcess) -> Iterator[Emulator]:
    client = Emulator(emulator_server.url)
    client.reset()
    yield client
