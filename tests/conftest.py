"""Shared test fixtures: the real data folder, and a local HTTP server that serves it (or misbehaves)."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.browser_fixtures"]

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DOODLE_DATA_DIR") or REPOSITORY.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real data folder (``../shared/data`` unless DOODLE_DATA_DIR says otherwise)."""
    if not (SHARED_DATA / "quickdraw").is_dir():
        pytest.fail(f"the test data folder {SHARED_DATA} is missing: set DOODLE_DATA_DIR")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def no_stray_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests off the internet: downloads go only to the local server a test starts."""
    monkeypatch.setenv("DOODLE_QUICKDRAW_URL", "http://127.0.0.1:9/quickdraw")
    monkeypatch.setenv("DOODLE_MNIST_URL", "http://127.0.0.1:9/mnist")
    monkeypatch.setenv("DOODLE_KERAS_MNIST_URL", "http://127.0.0.1:9/mnist.npz")


class DataServer:
    """A threaded HTTP server on 127.0.0.1 serving the data folder; ``mode`` makes it misbehave."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mode = "normal"
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server expects
                server.requests.append(self.path)
                server.answer(self)

            def log_message(self, *arguments) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        from urllib.parse import unquote

        path = self.root / unquote(handler.path.lstrip("/"))
        if self.mode == "404" or not path.is_file():
            handler.send_error(404, "Not Found")
            return
        body = path.read_bytes()
        if self.mode == "error-page":
            body = b"<html><body>Service unavailable, try again later</body></html>"
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if self.mode == "cut":
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.wfile.write(body)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def data_server(data_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataServer]:
    """A local server for the real data files, with the download URLs pointed at it."""
    server = DataServer(data_root)
    monkeypatch.setenv("DOODLE_QUICKDRAW_URL", f"{server.url}/quickdraw")
    monkeypatch.setenv("DOODLE_MNIST_URL", f"{server.url}/mnist")
    yield server
    server.stop()


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An empty model registry in a temporary folder, set as DOODLE_MODELS_DIR for the test."""
    from model.registry import Registry

    folder = tmp_path / "models"
    monkeypatch.setenv("DOODLE_MODELS_DIR", str(folder))
    return Registry(folder)


@pytest.fixture(scope="session")
def tiny_training(data_root: Path):
    """A small real training run, shared by the tests: `book` on 3 QuickDraw classes, 150 drawings each."""
    from model.config import TrainConfig
    from model.train import train

    config = TrainConfig(classes=["apple", "eye", "rainbow"], per_class=150, architecture="book", epochs=3,
                         batch_size=32, dropout=0.0, data_dir=str(data_root), seed=1, precision="float32")
    return train(config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell a failed test (for screenshots)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
