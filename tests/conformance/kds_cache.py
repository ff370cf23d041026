"""Put AMD KDS ``cert_chain`` answers into a collateral cache, as an online fetch would leave them.

The conformance suite's SEV vectors carry only the VCEK and count on the SDK's "embedded" ASK and
ARK. This project ships no AMD certificate (only the ARK pins): the ASK and ARK come from AMD KDS's
``/vcek/v1/<product>/cert_chain`` through the collateral cache. For a hermetic run (tests, ``make
conformance``) this puts a chain file, AMD's PEM ASK then ARK, where that fetch would have stored
it; the appraisal still checks every signature and the ARK's pin, so nothing here is trusted.

    python tests/conformance/kds_cache.py CACHE_DIR CHAIN.pem [CHAIN.pem ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

from verifier.endorsements import amd, anchors
from verifier.endorsements.amd import Role
from verifier.endorsements.fetch import CollateralFetcher, Fetched
from verifier.endorsements.kds import cert_chain_url
from verifier.evidence.sev_snp import Product


def seed(cache_dir: Path, chain_pem: bytes) -> Product:
    """Store ``chain_pem`` as KDS's answer for its product line's VCEK chain; that product."""
    certs = amd.load_certificates([chain_pem])
    arks = [c for c in certs if c.role is Role.ARK]
    if len(arks) != 1 or not any(c.role is Role.ASK for c in certs):
        raise ValueError("a KDS cert_chain is one ASK and one ARK")
    name = arks[0].product
    if name is None or anchors.AMD_ARK_SPKI_SHA256.get(name) != arks[0].spki_sha256:
        raise ValueError(f"the ARK ({name}) is not AMD's pinned root for its product line")
    product = Product(name)
    CollateralFetcher(cache_dir, offline=True).store(Fetched(cert_chain_url(product), chain_pem, {}, False))
    return product


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cache = Path(argv[0])
    for path in argv[1:]:
        product = seed(cache, Path(path).read_bytes())
        print(f"{cache}: AMD KDS {product.value} cert_chain from {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
