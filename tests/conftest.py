"""Shared test setup: paths, a private data home per test, and required-in-CI skips."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO_ROOT / "audio_fixtures"
# shared/ sits beside the repository, in development and in CI alike.
REAL_SPEECH_DIR = REPO_ROOT.parent / "shared" / "corpus" / "real_speech"

# CI sets this so that a missing server, browser or sound system fails the run
# instead of quietly skipping the tests that need it.
REQUIRE_ALL = os.environ.get("VOICE_INTERVIEWER_REQUIRE_ALL") == "1"


def require(condition: bool, why: str) -> None:
    """Skip the calling test when ``condition`` is false, or fail under CI."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"required in CI: {why}")
    pytest.skip(why)


def require_module(name: str) -> None:
    require(importlib.util.find_spec(name) is not None, f"python module {name} is not installed")


def require_program(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"program {name} is not installed")
    return path


@pytest.fixture(autouse=True)
def private_data_home(tmp_path_factory, monkeypatch):
    """Keep sessions and history of every test out of the user's real data folder."""
    home = tmp_path_factory.mktemp("vi-home")
    monkeypatch.setenv("VOICE_INTERVIEWER_HOME", str(home))
    return home
