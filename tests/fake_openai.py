"""A tiny OpenAI-compatible HTTP server on 127.0.0.1 that misbehaves on request.

It stands beside the real llama.cpp server (test_llm_server.py), not instead
of it: real servers rarely send a 429 or a torn chunk on cue. The request's
``model`` names the behaviour, so one server serves every test:

    ok          streams ``server.reply`` as SSE chunks, then [DONE]
    401 / 429 / 500   that status, with a JSON error body (401 echoes the key)
    malformed   one good chunk, then a chunk that is not JSON
    badshape    chunks whose "choices" is not a list
    cut         chunked transfer torn off mid-sentence (no terminating chunk)
    eof         HTTP/1.0 stream that just ends mid-sentence, no [DONE]
    slow        waits ``server.delay_s`` before the first byte
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _chunk(content: str | None, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "fake",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def tokens(text: str) -> list[str]:
    """Split like a tokenizer would, roughly: a few characters at a time."""
    return [text[i:i + 4] for i in range(0, len(text), 4)]


class _Handler(BaseHTTPRequestHandler):
    server: "FakeOpenAI"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "ok", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append({"json": request, "headers": dict(self.headers)})
        mode = str(request.get("model", "ok"))
        if mode in ("401", "429", "500"):
            return self._error(int(mode))
        if mode == "slow":
            time.sleep(self.server.delay_s)
        if not request.get("stream"):
            return self._completion()
        if mode == "eof":
            self.protocol_version = "HTTP/1.0"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        if mode == "cut":
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        pieces = tokens(self.server.reply)
        if mode == "malformed":
            self._send(_chunk(pieces[0]), mode)
            self._send(b"data: {not json at all\n\n", mode)
        elif mode == "badshape":
            self._send(b'data: {"id": "c1", "choices": {"oops": 1}}\n\n', mode)
        elif mode in ("cut", "eof"):
            half = pieces[: max(1, int(len(pieces) * self.server.cut_fraction))]
            for piece in half:
                self._send(_chunk(piece), mode)
            if mode == "cut":
                self.wfile.write(b"40\r\ndata: {\"partial")  # a chunk that never finishes
            self.wfile.flush()
            self.close_connection = True
            return
        else:
            for piece in pieces:
                self._send(_chunk(piece), mode)
            self._send(_chunk(None, "stop"), mode)
        self._send(b"data: [DONE]\n\n", mode)
        if mode in ("cut",):
            self.wfile.write(b"0\r\n\r\n")

    def _send(self, data: bytes, mode: str) -> None:
        if mode == "cut":
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up mid-stream (a first-token timeout, a closed generator): expected

    def _completion(self) -> None:
        body = json.dumps({
            "id": "c1", "object": "chat.completion", "created": 0, "model": "fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": self.server.reply},
                         "finish_reason": "stop"}],
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int) -> None:
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        message = {401: f"Incorrect API key provided: {key}", 429: "Rate limit reached",
                   500: "The server had an error"}[status]
        body = json.dumps({"error": {"message": message, "type": "error", "code": status}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if status == 429:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(body)


class FakeOpenAI(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply = "Fine."
        self.delay_s = 0.0
        self.cut_fraction = 0.5
        self.requests: list[dict] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
