"""The collateral fetcher: bounded answers, a total deadline, the cache, offline mode, 429 back-off."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import CollateralError, OfflineError

URL = "https://kds.example/vcek/v1/Genoa/cert_chain"


def fetcher(tmp_path: Path, handler, **kwargs) -> CollateralFetcher:  # type: ignore[no-untyped-def]
    return CollateralFetcher(tmp_path, client=httpx.Client(transport=httpx.MockTransport(handler)),
                             sleep=lambda _: None, **kwargs)


def test_an_answer_is_cached_and_served_offline(tmp_path: Path) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(200, content=b"chain")

    assert fetcher(tmp_path, handler).get(URL).body == b"chain"
    offline = fetcher(tmp_path, handler, offline=True)
    hit = offline.get(URL)
    assert hit.body == b"chain" and hit.from_cache and calls == [URL]
    with pytest.raises(OfflineError):
        offline.get(URL + "/other")
    with pytest.raises(OfflineError):
        offline.post(URL, b"req", "application/ocsp-request")


def test_an_answer_past_the_total_deadline_is_refused(tmp_path: Path) -> None:
    f = fetcher(tmp_path, lambda request: httpx.Response(200, content=b"x" * 100))
    f.total_seconds = -1.0  # every answer is already too late
    with pytest.raises(CollateralError, match="did not finish answering"):
        f.get(URL)


def test_an_oversized_answer_is_refused(tmp_path: Path) -> None:
    f = fetcher(tmp_path, lambda request: httpx.Response(200, content=b"x" * (8 * 1024 * 1024 + 1)))
    with pytest.raises(CollateralError, match="more than"):
        f.get(URL)


def test_429_backs_off_then_succeeds_or_gives_up(tmp_path: Path) -> None:
    answers = iter([429, 429, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers), content=b"ok")

    assert fetcher(tmp_path / "a", handler).get(URL).body == b"ok"
    always = fetcher(tmp_path / "b", lambda request: httpx.Response(429), retries_on_429=2)
    with pytest.raises(CollateralError, match="429"):
        always.get(URL)


def test_post_is_never_cached(tmp_path: Path) -> None:
    f = fetcher(tmp_path, lambda request: httpx.Response(200, content=request.content[::-1]))
    assert f.post(URL, b"abc", "application/ocsp-request").body == b"cba"
    assert f.cached(URL) is None
