"""One HTTP client for collateral (AMD KDS, Intel PCS, NVIDIA RIM and OCSP) with an on-disk cache.

Every fetch goes through :class:`CollateralFetcher`: one ``httpx`` client, one timeout policy, a
cache under the user cache directory (files mode 0600, directories 0700), an offline mode that
never touches the network, and a bounded back-off on HTTP 429 (AMD KDS sends it under load).
Callers that run in a UI run it in a worker thread; it never runs on the UI thread.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from verifier import bounded_http
from verifier.errors import CollateralError, OfflineError, ServiceUnreachable
from verifier.private_files import write_private

if TYPE_CHECKING:
    import httpx

MAX_COLLATERAL_BYTES = 8 * 1024 * 1024
TOTAL_SECONDS = bounded_http.TOTAL_SECONDS
"""A whole answer must arrive within this, however slowly a server drips it (the per-read timeout
alone would let one byte every 14 s go on for ever)."""


@dataclass(frozen=True)
class Fetched:
    """A collateral answer: the body and the response headers that matter (issuer chains)."""

    url: str
    body: bytes
    headers: Mapping[str, str]
    from_cache: bool


ANSWERS: contextvars.ContextVar[Callable[[Fetched], None] | None] = contextvars.ContextVar(
    "collateral_answers", default=None)
"""Told every answer :meth:`CollateralFetcher.get` returns in this context, from the cache as well
as from the network: a session that records an attestation (``save_last``, the chat's history)
sets it, so that a recording holds all the collateral its appraisal read, not only what was fetched
this time (:mod:`verifier.session`)."""


def _seen(fetched: Fetched) -> Fetched:
    observe = ANSWERS.get()
    if observe is not None:
        observe(fetched)
    return fetched


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("enclave-chat")) / "collateral"


class CollateralFetcher:
    """Fetch collateral by URL through a cache.

    ``offline=True`` (or ``ENCLAVE_CHAT_OFFLINE=1`` in the environment) answers from the cache only
    and raises :class:`OfflineError` otherwise.
    ``max_age`` (seconds) bounds how old a cached answer may be before it is fetched again; the
    verifier still checks each answer's own validity (nextUpdate, expiry) at the verification time.
    """

    def __init__(self, cache_dir: Path | None = None, *, offline: bool = False,
                 client: httpx.Client | None = None, retries_on_429: int = 3,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self.offline = offline or os.environ.get("ENCLAVE_CHAT_OFFLINE") == "1"
        self._client = client
        self._retries = retries_on_429
        self._sleep = sleep
        self.total_seconds = TOTAL_SECONDS

    # -- cache -----------------------------------------------------------------------------------
    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode()).hexdigest()
        return self.cache_dir / f"{key}.body", self.cache_dir / f"{key}.json"

    def cached(self, url: str, max_age: float | None = None) -> Fetched | None:
        body_path, meta_path = self._paths(url)
        try:
            meta = json.loads(meta_path.read_text())
            body = body_path.read_bytes()
        except (OSError, ValueError):
            return None
        if hashlib.sha256(body).hexdigest() != meta.get("sha256"):
            return None
        if max_age is not None and time.time() - float(meta.get("fetched", 0)) > max_age:
            return None
        return Fetched(url, body, dict(meta.get("headers", {})), True)

    def store(self, fetched: Fetched) -> None:
        body_path, meta_path = self._paths(fetched.url)
        meta = {"url": fetched.url, "fetched": time.time(), "headers": dict(fetched.headers),
                "sha256": hashlib.sha256(fetched.body).hexdigest()}
        for path, data in ((body_path, fetched.body), (meta_path, json.dumps(meta).encode())):
            write_private(path, data)

    # -- network ---------------------------------------------------------------------------------
    def get(self, url: str, *, max_age: float | None = None,
            keep_headers: tuple[str, ...] = ()) -> Fetched:
        """GET ``url`` through the cache (a fresh cached answer is used as it is)."""
        hit = self.cached(url, max_age)
        if hit is not None:
            return _seen(hit)
        if self.offline:
            stale = self.cached(url)
            if stale is not None:
                return _seen(stale)
            raise OfflineError(f"{url} is not in the collateral cache and fetching is off (--offline)")
        fetched = self._send("GET", url, None, {}, keep_headers)
        self.store(fetched)
        return _seen(fetched)

    def post(self, url: str, body: bytes, content_type: str) -> Fetched:
        """POST ``body`` (an OCSP request with a fresh nonce, say): never cached, since the answer
        is for this request alone; refused offline."""
        if self.offline:
            raise OfflineError(f"{url} would need a fresh request and fetching is off (--offline)")
        return self._send("POST", url, body, {"content-type": content_type}, ())

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
              keep_headers: tuple[str, ...]) -> Fetched:
        import httpx

        client = self._client or httpx.Client(timeout=httpx.Timeout(15.0, connect=5.0))
        try:
            delay = 1.0
            for attempt in range(self._retries + 1):
                answer = bounded_http.get(client, url, method=method, content=body, headers=headers,
                                          limit=MAX_COLLATERAL_BYTES, seconds=self.total_seconds,
                                          error=CollateralError, network_unreachable=True)
                if answer.status == 429 and attempt < self._retries:
                    retry_after = answer.headers.get("retry-after", "")
                    wait = float(retry_after) if retry_after.isdigit() else delay
                    self._sleep(min(wait, 30.0))
                    delay *= 2
                    continue
                if answer.status != 200:
                    raise CollateralError(f"{url} answered HTTP {answer.status}")
                kept = {k.lower(): answer.headers[k.lower()] for k in keep_headers
                        if k.lower() in answer.headers}
                return Fetched(url, answer.body, kept, False)
            raise CollateralError(f"{url} kept answering HTTP 429 (too many requests)")
        except ServiceUnreachable as e:
            raise CollateralError(f"could not fetch {url}: {e.reason or e}") from None
        finally:
            if self._client is None:
                client.close()
