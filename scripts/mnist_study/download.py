"""Downloading a dataset's files: each mirror in turn, with retries, checked before use."""

from __future__ import annotations

import hashlib
import http.client
import logging
import time
import urllib.error
import urllib.request
from pathlib import Path

from .datasets import ChecksumError, DatasetSpec, DownloadError, check_hashes
from .storage import atomic_path

log = logging.getLogger(__name__)


def _fetch_once(url: str, dest: Path, timeout: float, progress_every: int) -> str:
    """Stream `url` to `dest`, returning the sha256; raise on a short transfer."""
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        total = response.headers.get("Content-Length")
        total = int(total) if total is not None else None
        done = 0
        next_report = progress_every
        while block := response.read(1 << 16):
            out.write(block)
            digest.update(block)
            done += len(block)
            if done >= next_report:
                share = f" of {total:,}" if total else ""
                log.info("  %s: %s bytes%s", url, f"{done:,}", share)
                next_report += progress_every
        if total is not None and done != total:
            raise http.client.IncompleteRead(b"", total - done)
    return digest.hexdigest()


def download_file(
    name: str,
    dest: str | Path,
    spec: DatasetSpec,
    mirrors: tuple[str, ...] | list[str] | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    backoff: float = 1.0,
    progress_every: int = 4 << 20,
) -> str:
    """Download one dataset file, trying each mirror in turn with retries.

    The data goes to a temporary file beside `dest` and is renamed to `dest`
    only once its sha256 matches a pinned hash, so an interrupted or corrupt
    download never sits where the next run would trust it. Returns the sha256.
    """
    dest = Path(dest)
    mirrors = tuple(mirrors if mirrors is not None else spec.mirrors)
    if not mirrors:
        raise DownloadError(f"dataset {spec.name} has no download mirrors")
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        for attempt in range(1, retries + 1):
            log.info("downloading %s (attempt %d of %d)", url, attempt, retries)
            try:
                with atomic_path(dest) as tmp:
                    actual = _fetch_once(url, tmp, timeout, progress_every)
                    check_hashes(tmp, name, spec, where=f"{name} from {url}")
                if spec.verify:
                    log.info("verified %s (sha256 %s)", dest, actual)
                return actual
            except ChecksumError as err:
                # The same mirror would serve the same bytes again: try the next one.
                log.warning("%s", err)
                failures.append(str(err))
                break
            except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
                reason = f"{url}: {type(err).__name__}: {err}"
                log.warning("attempt %d failed: %s", attempt, reason)
                failures.append(reason)
                if isinstance(err, urllib.error.HTTPError) and err.code in (403, 404, 410):
                    break  # retrying a missing file does not help
                if attempt < retries:
                    time.sleep(backoff * 2 ** (attempt - 1))
    error_type = (
        ChecksumError if failures and all("checksum" in f for f in failures) else DownloadError
    )
    if len(failures) == 1:
        raise error_type(f"could not download {name} for {spec.name}: {failures[0]}")
    raise error_type(
        f"could not download {name} for {spec.name} from any mirror: " + "; ".join(failures)
    )
