"""Intel Provisioning Certification Service (PCS) API v4 for TDX, and collateral saved as files.

URL shapes and headers follow the *Intel PCS API v4* documentation:

- ``GET {base}/tdx/certification/v4/tcb?fmspc=<12 hex>``: TDX TCB info; issuer chain in the
  ``TCB-Info-Issuer-Chain`` header.
- ``GET {base}/tdx/certification/v4/qe/identity``: TD_QE identity; issuer chain in
  ``SGX-Enclave-Identity-Issuer-Chain``.
- ``GET {base}/sgx/certification/v4/pckcrl?ca=platform|processor&encoding=der``: PCK CRL; issuer
  chain in ``SGX-PCK-CRL-Issuer-Chain``.
- ``https://certificates.trustedservices.intel.com/IntelSGXRootCA.der``: the root CA CRL (the CRL
  distribution point named in the root certificate).

Issuer chains arrive URL-encoded (percent-encoded PEM, leaf first, then the root). Every fetch
goes through the shared :class:`~verifier.endorsements.fetch.CollateralFetcher` (one client, disk
cache, offline mode). ``docs/tdx.md`` documents the directory layout read by
:func:`load_collateral_dir`, which holds the same answers as files.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote_to_bytes

from verifier.endorsements.fetch import CollateralFetcher
from verifier.endorsements.intel_collateral import TdxCollateral
from verifier.errors import CollateralError, InputError
from verifier.files import read_file

PCS_BASE = "https://api.trustedservices.intel.com"
ROOT_CA_CRL_URL = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
TCB_INFO_CHAIN_HEADER = "TCB-Info-Issuer-Chain"
QE_IDENTITY_CHAIN_HEADER = "SGX-Enclave-Identity-Issuer-Chain"
PCK_CRL_CHAIN_HEADER = "SGX-PCK-CRL-Issuer-Chain"
CACHE_MAX_AGE = 24 * 3600.0
"""Refetch cached answers after a day; each answer's own validity is checked at the verification time."""

MAX_COLLATERAL_FILE = 4 * 1024 * 1024
_FMSPC = re.compile(r"\A[0-9a-fA-F]{12}\Z")
CAS = ("platform", "processor")


def tcb_info_url(fmspc: str, base: str = PCS_BASE) -> str:
    _check_fmspc(fmspc)
    return f"{base}/tdx/certification/v4/tcb?fmspc={fmspc.lower()}"


def qe_identity_url(base: str = PCS_BASE) -> str:
    return f"{base}/tdx/certification/v4/qe/identity"


def pck_crl_url(ca: str, base: str = PCS_BASE) -> str:
    if ca not in CAS:
        raise ValueError(f"PCK CA must be one of {CAS}, not {ca!r}")
    return f"{base}/sgx/certification/v4/pckcrl?ca={ca}&encoding=der"


def _check_fmspc(fmspc: str) -> None:
    if not _FMSPC.match(fmspc):
        raise ValueError(f"FMSPC must be 12 hex digits, not {fmspc!r}")


def decode_issuer_chain(value: str | bytes) -> bytes:
    """A PCS issuer-chain header (URL-encoded PEM) as PEM bytes; plain PEM passes unchanged."""
    raw = value.encode("latin-1") if isinstance(value, str) else value
    return unquote_to_bytes(raw) if b"%" in raw else raw


def _header(headers: dict[str, str], name: str, url: str) -> bytes:
    value = headers.get(name.lower())
    if not value:
        raise CollateralError(f"{url} answered without the {name} header")
    return decode_issuer_chain(value)


def fetch_collateral(fetcher: CollateralFetcher, fmspc: str, ca: str, *,
                     base: str = PCS_BASE) -> TdxCollateral:
    """Fetch TCB info, QE identity, PCK CRL and root CRL for one platform (PCS API v4).

    Raises :class:`~verifier.errors.CollateralError` (or its subclass ``OfflineError``) when an
    answer cannot be had; the caller turns that into skipped checks.
    """
    url = tcb_info_url(fmspc, base)
    tcb = fetcher.get(url, max_age=CACHE_MAX_AGE, keep_headers=(TCB_INFO_CHAIN_HEADER,))
    tcb_chain = _header(dict(tcb.headers), TCB_INFO_CHAIN_HEADER, url)
    url = qe_identity_url(base)
    qe = fetcher.get(url, max_age=CACHE_MAX_AGE, keep_headers=(QE_IDENTITY_CHAIN_HEADER,))
    qe_chain = _header(dict(qe.headers), QE_IDENTITY_CHAIN_HEADER, url)
    url = pck_crl_url(ca, base)
    crl = fetcher.get(url, max_age=CACHE_MAX_AGE, keep_headers=(PCK_CRL_CHAIN_HEADER,))
    crl_chain = _header(dict(crl.headers), PCK_CRL_CHAIN_HEADER, url)
    root = fetcher.get(ROOT_CA_CRL_URL, max_age=CACHE_MAX_AGE)
    return TdxCollateral(tcb.body, tcb_chain, qe.body, qe_chain, crl.body, crl_chain, root.body,
                         source=base)


# -- collateral saved as files (``--collateral DIR``; layout in docs/tdx.md) ---------------------
def _read(path: Path) -> bytes | None:
    return read_file(path, MAX_COLLATERAL_FILE) if path.exists() else None


def _find(directory: Path, name: str) -> Path:
    """``name`` in ``directory``, matched without regard to case (FMSPCs are hex in either case)."""
    exact = directory / name
    if exact.exists():
        return exact
    lowered = name.lower()
    for entry in directory.iterdir() if directory.is_dir() else ():
        if entry.name.lower() == lowered:
            return entry
    return exact


def load_collateral_dir(directory: Path, fmspc: str, ca: str) -> TdxCollateral:
    """Read the PCS answers for one platform from ``directory`` (missing files give ``None``).

    Raises :class:`~verifier.errors.InputError` when the directory itself cannot be read.
    """
    _check_fmspc(fmspc)
    if not directory.is_dir():
        raise InputError(f"collateral directory {directory} does not exist or is not a directory")
    fm = fmspc.lower()

    def get(name: str) -> bytes | None:
        return _read(_find(directory, name))

    def chain(name: str) -> bytes | None:
        data = get(name)
        return decode_issuer_chain(data.strip()) if data is not None else None

    return TdxCollateral(
        tcb_info=get(f"tcb_info_{fm}.json"),
        tcb_info_chain=chain(f"tcb_info_{fm}_chain.txt"),
        qe_identity=get("qe_identity.json"),
        qe_identity_chain=chain("qe_identity_chain.txt"),
        pck_crl=get(f"pck_crl_{ca}.crl") if ca in CAS else None,
        pck_crl_chain=chain(f"pck_crl_{ca}_chain.txt") if ca in CAS else None,
        root_crl=get("root_ca.crl"),
        source=str(directory),
    )
