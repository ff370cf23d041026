"""The current v3 layout's Intel PCS answers, served to the TDX appraisal as if fetched.

Tinfoil's document carries the PCS responses it was verified with (``intel-pcs/v1`` collateral: URL,
headers, body) "so a verifier replays them instead of fetching" (Go SDK,
``verifier/document/collateral/tdx.go``). :class:`DocumentCollateral` answers exactly those URLs
from the document, with the issuer-chain headers as captured, and hands every other request (AMD
KDS, NVIDIA's RIM service and OCSP) to the fetcher it wraps, or refuses it when there is none. What
it answers is unverified transport: the TDX appraisal checks each piece's signature chain.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from verifier.endorsements.fetch import CollateralFetcher, Fetched
from verifier.errors import OfflineError
from verifier.providers.tinfoil.envelope import PcsResponse


def url_key(url: str) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
    """A URL compared without regard to host case, query order or the case of query values (PCS
    takes FMSPCs in either case)."""
    parts = urllib.parse.urlsplit(url)
    query = tuple(sorted((k, v.lower()) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)))
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.path, query


class DocumentCollateral(CollateralFetcher):
    """A collateral fetcher that answers the document's own PCS responses first."""

    def __init__(self, responses: Sequence[PcsResponse], fallback: CollateralFetcher | None) -> None:
        super().__init__(fallback.cache_dir if fallback is not None else Path("/nonexistent"),
                         offline=fallback.offline if fallback is not None else True)
        self.fallback = fallback
        self.answers = {url_key(r.url): r for r in responses}
        self.served: list[str] = []

    def cached(self, url: str, max_age: float | None = None) -> Fetched | None:
        return self.fallback.cached(url, max_age) if self.fallback is not None else None

    def get(self, url: str, *, max_age: float | None = None,
            keep_headers: tuple[str, ...] = ()) -> Fetched:
        answer = self.answers.get(url_key(url))
        if answer is not None:
            self.served.append(url)
            wanted = {h.lower() for h in keep_headers}
            headers = {name: values[0] for name, values in answer.headers.items() if values and name in wanted}
            return Fetched(url, answer.body, headers, True)
        if self.fallback is None:
            raise OfflineError(f"{url} is not in the document's collateral and nothing else is fetched")
        return self.fallback.get(url, max_age=max_age, keep_headers=keep_headers)

    def post(self, url: str, body: bytes, content_type: str) -> Fetched:
        if self.fallback is None:
            raise OfflineError(f"{url} would need a fresh request, and nothing but the document is used")
        return self.fallback.post(url, body, content_type)
