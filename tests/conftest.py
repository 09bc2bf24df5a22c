"""Shared fixtures: seeded randomness and the optional big data in ../shared/data."""
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("MINEMBED_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def shared_data() -> Path:
    """Path of ../shared/data; the test is skipped (with the reason) when it is not there."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.skip(f"needs the shared data set at {SHARED_DATA} (absent on this machine)")
    return SHARED_DATA
