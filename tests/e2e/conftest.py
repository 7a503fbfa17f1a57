import pytest

from helpers import BIN


def pytest_sessionstart(session):
    if not BIN.is_file():
        raise pytest.UsageError(
            f"sluicegate binary not found at {BIN}; run `cargo build --release` or set SLUICEGATE_BIN"
        )
