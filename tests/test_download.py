"""The downloader against real HTTP servers on 127.0.0.1."""

import hashlib
import http.server
import threading
from contextlib import contextmanager

import pytest

from mnist_study.datasets import ChecksumError, DatasetSpec, DownloadError
from mnist_study.download import download_file

NAME = "train-labels-idx1-ubyte.gz"
PAYLOAD = bytes(range(256)) * 64
SPEC = DatasetSpec(
    name="toy",
    description="test",
    gz_sha256={NAME: (hashlib.sha256(PAYLOAD).hexdigest(),)},
)


@contextmanager
def serve(body: bytes, mode: str = "ok"):
    """An HTTP server on 127.0.0.1 serving `body` for every path.

    mode "ok" serves it whole, "short" promises more bytes than it sends and
    closes the connection, "missing" answers 404.
    """
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            hits.append(self.path)
            if mode == "missing":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if mode == "short":
                self.wfile.write(body[: len(body) // 3])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/data/", hits
    finally:
        server.shutdown()
        server.server_close()


def dead_mirror():
    """A loopback address with nothing listening on it."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}/"


def fetch(dest, mirrors, **kw):
    return download_file(NAME, dest, SPEC, mirrors=mirrors, timeout=5, backoff=0.01, **kw)


def test_success(tmp_path):
    dest = tmp_path / NAME
    with serve(PAYLOAD) as (url, hits):
        digest = fetch(dest, [url])
    assert dest.read_bytes() == PAYLOAD
    assert digest == SPEC.gz_sha256[NAME][0]
    assert hits == [f"/data/{NAME}"]
    assert list(tmp_path.iterdir()) == [dest]


def test_checksum_mismatch_names_file_and_hashes_and_leaves_nothing(tmp_path):
    dest = tmp_path / NAME
    bad = PAYLOAD[:-1] + b"X"
    with serve(bad) as (url, _), pytest.raises(ChecksumError) as err:
        fetch(dest, [url])
    message = str(err.value)
    assert NAME in message
    assert SPEC.gz_sha256[NAME][0] in message
    assert hashlib.sha256(bad).hexdigest() in message
    assert list(tmp_path.iterdir()) == []


def test_first_mirror_down_second_serves(tmp_path):
    dest = tmp_path / NAME
    with serve(PAYLOAD) as (url, hits):
        fetch(dest, [dead_mirror(), url], retries=2)
    assert dest.read_bytes() == PAYLOAD
    assert len(hits) == 1


def test_missing_file_on_first_mirror_is_not_retried(tmp_path):
    dest = tmp_path / NAME
    with serve(b"", "missing") as (bad_url, bad_hits), serve(PAYLOAD) as (url, _):
        fetch(dest, [bad_url, url], retries=3)
    assert len(bad_hits) == 1
    assert dest.read_bytes() == PAYLOAD


def test_interrupted_transfer_is_retried_then_reported(tmp_path):
    dest = tmp_path / NAME
    with serve(PAYLOAD, "short") as (url, hits), pytest.raises(DownloadError) as err:
        fetch(dest, [url], retries=3)
    assert len(hits) == 3
    assert "IncompleteRead" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_then_good_mirror(tmp_path):
    dest = tmp_path / NAME
    with serve(PAYLOAD, "short") as (short_url, _), serve(PAYLOAD) as (url, _):
        fetch(dest, [short_url, url], retries=1)
    assert dest.read_bytes() == PAYLOAD


def test_corrupt_download_does_not_replace_a_good_file(tmp_path):
    dest = tmp_path / NAME
    dest.write_bytes(PAYLOAD)
    with serve(b"garbage") as (url, _), pytest.raises(ChecksumError):
        fetch(dest, [url])
    assert dest.read_bytes() == PAYLOAD
