"""A private PulseAudio daemon with a virtual mic and virtual speakers, for real-device tests.

Not a test module: ``from pulse import pulse_server`` in a test file (or a
conftest) brings in the session-scoped fixture.

    candidate audio ──pacat──► null sink "mic_feed" ──► source "mic_feed.monitor" ──► practice --input
    practice --output ──► null sink "speakers" ──► source "speakers.monitor" ──parec──► the test

How PortAudio reaches it: Debian's libportaudio2 (19.6) has no PulseAudio
host API, so sounddevice sees only ALSA devices. ALSA's "pulse" plugin
(Debian ``libasound2-plugins``) and the ``pulseaudio`` package's
/etc/alsa/conf.d/99-pulse.conf turn the ALSA devices "pulse" and "default"
into PulseAudio clients of $PULSE_SERVER. The daemon's own default sink is
``speakers`` and default source ``mic_feed.monitor``, so opening the
"default" (or "pulse") device in sounddevice is already the right wiring;
PULSE_SINK / PULSE_SOURCE are set as well for clients that ask for them.

A null sink renders in 2-second blocks unless a client asks for lower
latency, and ALSA's pulse plugin does not ask: PortAudio's output callback
would then run in bursts two seconds apart. So the fixture keeps one "latency
anchor" per sink, a pacat playing silence with --latency-msec=40, which holds
each sink at ~10 ms blocks (real sound cards do not need this), and waits out
the first 2-second block before handing the server to the tests.

PortAudio probes devices once, when it initialises; if sounddevice was
imported before the daemon ran, the "pulse" device may be missing, so the
fixture re-initialises PortAudio (devices.refresh_devices()).

Needs (Debian): pulseaudio, pulseaudio-utils (pacat, parec, pactl),
libasound2-plugins, libportaudio2. The daemon runs as root with ``-n`` (no
system config), a config file of its own, no D-Bus, and a unix socket in a
temporary folder; nothing is shared with a user's own sound server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from conftest import require

PULSE_RATE = 48_000
SPEAKERS = "speakers"
MIC_FEED = "mic_feed"
START_TIMEOUT_S = 10.0
ANCHOR_LATENCY_MS = 40
NULL_SINK_BLOCK_S = 2.0  # module-null-sink's default block when no client asks for less

_CONFIG = """\
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
load-module module-null-sink sink_name={speakers} rate={rate} channels=1 sink_properties=device.description=virtual_speakers
load-module module-null-sink sink_name={mic_feed} rate={rate} channels=1 sink_properties=device.description=virtual_mic_feed
set-default-sink {speakers}
set-default-source {mic_feed}.monitor
"""


@dataclass
class PulseServer:
    """A running private daemon and helpers to feed the mic and record the speakers."""

    server: str
    """The PULSE_SERVER value, unix:/path/to/socket."""
    folder: Path
    process: subprocess.Popen
    anchors: list[subprocess.Popen] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {**os.environ, "PULSE_SERVER": self.server}

    def play_into_mic(self, samples_float32: np.ndarray, sample_rate: int,
                      latency_ms: int = 200) -> subprocess.Popen:
        """Start pacat playing float32 mono into the mic_feed sink; returns the process (wait() on it).

        A generous buffer (``latency_ms``) keeps pacat from underrunning on a
        busy machine, which would put gaps into the candidate's speech.
        """
        proc = subprocess.Popen(
            ["pacat", "--playback", f"--device={MIC_FEED}", "--format=float32le", f"--rate={sample_rate}",
             "--channels=1", f"--latency-msec={latency_ms}", "--raw"],
            stdin=subprocess.PIPE, env=self.env())
        proc.stdin.write(np.asarray(samples_float32, dtype="<f4").tobytes())
        proc.stdin.close()
        return proc

    def record_speakers(self, path: Path) -> subprocess.Popen:
        """Start parec recording speakers.monitor as float32 mono at PULSE_RATE into ``path``.

        Stop it with :meth:`stop_recording`, then :func:`read_raw` the file.
        """
        out = open(path, "wb")
        proc = subprocess.Popen(
            ["parec", f"--device={SPEAKERS}.monitor", "--format=float32le", f"--rate={PULSE_RATE}",
             "--channels=1", "--latency-msec=20", "--raw"],
            stdout=out, env=self.env())
        out.close()
        return proc

    @staticmethod
    def stop_recording(proc: subprocess.Popen) -> None:
        _end(proc)

    def leak_speakers_into_mic(self, gain_db: float, latency_ms: int) -> str:
        """Laptop echo: a module-loopback from speakers.monitor into mic_feed at ``gain_db``.

        Returns the module id for ``pactl unload-module``. The loopback's own
        latency (``latency_ms``, what PulseAudio manages to hold) is the
        acoustic delay on top of the devices' latencies.
        """
        module = self.pactl("load-module", "module-loopback", f"source={SPEAKERS}.monitor", f"sink={MIC_FEED}",
                            f"latency_msec={latency_ms}", "source_dont_move=true", "sink_dont_move=true",
                            "sink_input_properties=media.name=echo_leak").strip()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            sink_input = None
            for line in self.pactl("list", "sink-inputs").splitlines():
                line = line.strip()
                if line.startswith("Sink Input #"):
                    sink_input = line.split("#", 1)[1]
                elif line == f"Owner Module: {module}" and sink_input is not None:
                    self.pactl("set-sink-input-volume", sink_input, f"{gain_db}dB")
                    return module
            time.sleep(0.1)
        raise RuntimeError("the echo loopback did not appear")

    def pactl(self, *args: str) -> str:
        return subprocess.run(["pactl", *args], env=self.env(), check=True, capture_output=True,
                              text=True, timeout=10).stdout


def read_raw(path: Path) -> np.ndarray:
    data = Path(path).read_bytes()
    return np.frombuffer(data[: len(data) // 4 * 4], dtype="<f4").copy()


def _start(folder: Path) -> PulseServer:
    socket = folder / "native"
    config = folder / "default.pa"
    config.write_text(_CONFIG.format(socket=socket, speakers=SPEAKERS, mic_feed=MIC_FEED, rate=PULSE_RATE))
    runtime = folder / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(folder), "XDG_RUNTIME_DIR": str(runtime), "XDG_CONFIG_HOME": str(folder)}
    env.pop("PULSE_SERVER", None)
    log = open(folder / "pulseaudio.log", "wb")
    # -n: ignore the system default.pa; --disallow-exit / --exit-idle-time=-1:
    # stay up between tests; --daemonize=no so this fixture owns the pid.
    process = subprocess.Popen(
        ["pulseaudio", "-n", f"--file={config}", "--daemonize=no", "--exit-idle-time=-1",
         "--disallow-exit", "--disallow-module-loading=no", "--use-pid-file=no", "--system=false",
         "--log-target=stderr", "--realtime=no", "--high-priority=no"],
        stdout=log, stderr=log, env=env)
    log.close()
    server = PulseServer(f"unix:{socket}", folder, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if socket.exists():
            try:
                server.pactl("info")
                return server
            except (subprocess.SubprocessError, OSError):
                pass
        time.sleep(0.1)
    process.kill()
    process.wait()
    tail = (folder / "pulseaudio.log").read_text(errors="replace")[-800:]
    raise RuntimeError(f"pulseaudio did not start:\n{tail}")


def _anchor_latency(server: PulseServer) -> None:
    for sink in (SPEAKERS, MIC_FEED):
        server.anchors.append(subprocess.Popen(
            ["pacat", "--playback", f"--device={sink}", "--format=s16le", f"--rate={PULSE_RATE}", "--channels=1",
             f"--latency-msec={ANCHOR_LATENCY_MS}", "--raw", "/dev/zero"],
            env=server.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.pactl("list", "short", "sink-inputs").count("\n") >= 2:
            break
        time.sleep(0.1)
    time.sleep(NULL_SINK_BLOCK_S + 0.2)  # a sink already asleep in a 2 s block wakes at its end


def _stop(server: PulseServer) -> None:
    for proc in [*server.anchors, server.process]:
        _end(proc)


def _end(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 5 s: no helper process outlives its test."""
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def pulse_server(tmp_path_factory):
    """A private PulseAudio daemon for the test session; PULSE_SERVER etc. set while it runs."""
    for program in ("pulseaudio", "pacat", "parec", "pactl"):
        require(shutil.which(program) is not None, f"{program} is not installed (apt-get install pulseaudio "
                "pulseaudio-utils)")
    require(Path("/usr/share/alsa/alsa.conf.d/50-pulseaudio.conf").exists()
            or Path("/etc/alsa/conf.d/50-pulseaudio.conf").exists(),
            "ALSA's pulse plugin is not installed (apt-get install libasound2-plugins)")
    try:
        import sounddevice  # noqa: F401
    except OSError:
        require(False, "PortAudio is not installed (apt-get install libportaudio2)")
    folder = Path(tmp_path_factory.mktemp("pulse"))
    server = _start(folder)
    try:
        _anchor_latency(server)
    except BaseException:
        _stop(server)
        raise
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PULSE_SERVER", server.server)
        mp.setenv("PULSE_SINK", SPEAKERS)
        mp.setenv("PULSE_SOURCE", f"{MIC_FEED}.monitor")
        try:
            from voice_interviewer.live.devices import refresh_devices

            refresh_devices()
        except Exception as exc:  # no PortAudio: tests that need it skip on their own
            print(f"PortAudio not re-initialised: {exc}")
        try:
            yield server
        finally:
            _stop(server)
