"""AMD Key Distribution Service (KDS) URL shapes and a small client on :class:`CollateralFetcher`.

URL shapes, from AMD's VCEK/KDS interface specification (57230 §4) and the VLEK specification:

- ``{base}/vcek/v1/{product}/{hwid}?blSPL=NN&teeSPL=NN&snpSPL=NN&ucodeSPL=NN`` returns the VCEK
  (DER) for a chip at a TCB; ``hwid`` is CHIP_ID in lowercase hex. On Turin ``hwid`` is the first 8
  bytes of CHIP_ID and the query starts with ``fmcSPL=NN`` (57230 rev. 1.00 §4.1, Turin addendum).
  The SPLs are the REPORTED_TCB components, decimal, at least two digits.
- ``{base}/vcek/v1/{product}/cert_chain`` returns the ASK then the ARK (PEM).
- ``{base}/vcek/v1/{product}/crl`` returns the ARK-signed CRL (DER).
- ``{base}/vlek/v1/{product}/cert_chain`` and ``.../crl``: the same for the ASVK. VLEKs themselves
  are issued to cloud providers and travel with the evidence; KDS does not serve them by chip.

``product`` is the product line, "Milan", "Genoa" or "Turin" (Siena and Bergamo use "Genoa").
KDS answers HTTP 429 under load; :class:`CollateralFetcher` backs off. A VCEK for a chip and TCB
never changes, so it is cached without expiry; the chain likewise; the CRL is refreshed daily.
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import ParseError
from verifier.evidence.sev_snp import Product, SnpReport, TcbVersion

KDS_BASE = "https://kdsintf.amd.com"
KDS_PRODUCTS = (Product.MILAN, Product.GENOA, Product.TURIN)
CRL_MAX_AGE = 24 * 3600.0


def hwid_for(product: Product, chip_id: bytes) -> str:
    """The hwID path segment: CHIP_ID in hex, only its first 8 bytes on Turin."""
    if len(chip_id) != 64:
        raise ParseError("CHIP_ID must be 64 bytes", field="chip_id")
    if product is Product.TURIN:
        if any(chip_id[8:]):
            raise ParseError("a Turin CHIP_ID has only 8 significant bytes; the rest must be zero",
                             field="chip_id")
        return chip_id[:8].hex()
    return chip_id.hex()


def vcek_url(product: Product, chip_id: bytes, tcb: TcbVersion, *, base: str = KDS_BASE) -> str:
    """The KDS URL of the VCEK for ``chip_id`` at ``tcb`` (the report's REPORTED_TCB)."""
    if product not in KDS_PRODUCTS:
        raise ParseError(f"{product} has no KDS product line", field="product")
    hwid = hwid_for(product, chip_id)
    query = (f"blSPL={tcb.bootloader:02d}&teeSPL={tcb.tee:02d}&snpSPL={tcb.snp:02d}"
             f"&ucodeSPL={tcb.microcode:02d}")
    if product is Product.TURIN:
        query = f"fmcSPL={(tcb.fmc or 0):02d}&{query}"
    return f"{base}/vcek/v1/{product.value}/{hwid}?{query}"


def cert_chain_url(product: Product, key: str = "vcek", *, base: str = KDS_BASE) -> str:
    """ASK (``key="vcek"``) or ASVK (``key="vlek"``) followed by the ARK, PEM."""
    if product not in KDS_PRODUCTS or key not in ("vcek", "vlek"):
        raise ParseError(f"no KDS chain for {product} {key}", field="product")
    return f"{base}/{key}/v1/{product.value}/cert_chain"


def crl_url(product: Product, key: str = "vcek", *, base: str = KDS_BASE) -> str:
    """The ARK-signed CRL for the ASK (``vcek``) or ASVK (``vlek``) of ``product``, DER."""
    if product not in KDS_PRODUCTS or key not in ("vcek", "vlek"):
        raise ParseError(f"no KDS CRL for {product} {key}", field="product")
    return f"{base}/{key}/v1/{product.value}/crl"


@dataclass(frozen=True)
class KdsClient:
    """Fetch AMD collateral through the shared :class:`CollateralFetcher` (cache, offline, 429)."""

    fetcher: CollateralFetcher
    base: str = KDS_BASE

    def vcek(self, product: Product, report: SnpReport) -> bytes:
        """The VCEK (DER) for the chip and REPORTED_TCB of ``report``."""
        tcb = report.tcb("reported", product)
        return self.fetcher.get(vcek_url(product, report.chip_id, tcb, base=self.base)).body

    def cert_chain(self, product: Product, key: str = "vcek") -> bytes:
        return self.fetcher.get(cert_chain_url(product, key, base=self.base)).body

    def crl(self, product: Product, key: str = "vcek") -> bytes:
        return self.fetcher.get(crl_url(product, key, base=self.base), max_age=CRL_MAX_AGE).body
