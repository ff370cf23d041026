"""Generated negatives: every signed byte and every signature byte flipped; hostile reports.

The chain is verified once and cached (the verifier remembers verified RSA-PSS signatures and
parsed certificates by their exact bytes), so 816 appraisals take about a second.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.vectors import vector
from verifier.appraisal.policy import parse_policy
from verifier.appraisal.sev_snp import appraise_snp
from verifier.errors import ParseError
from verifier.evidence.sev_snp import (
    REPORT_SIZE,
    SIG_COMPONENT_SIZE,
    SIG_SCALAR_SIZE,
    SIGNED_SIZE,
    parse_report,
)
from verifier.result import Status

AT = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
POLICY = parse_policy(b'name = "t"\n[snp]\n')
SETS = {
    "genoa": ("snp/trustee/e2e-report-rebuilt.bin",
              ["snp/trustee/e2e-vcek.der", "snp/trustee/genoa_ask_ark_asvk.pem"]),
    "milan-vlek": ("snp/trustee/test-vlek-report.bin",
                   ["snp/trustee/test-vlek.der", "snp/trustee/milan_ask_ark_asvk.pem"]),
}


def load(name: str) -> tuple[bytes, list[bytes]]:
    report, certs = SETS[name]
    return vector(report).read_bytes(), [vector(c).read_bytes() for c in certs]


def authentic(report: bytes, certs: list[bytes]) -> bool:
    return appraise_snp(report, certs, policy=POLICY, at=AT, expected_report_data=None).authentic


@pytest.mark.vectors
@pytest.mark.parametrize("name", sorted(SETS))
def test_every_signed_byte_and_signature_byte_flipped_is_refused(name: str) -> None:
    report, certs = load(name)
    assert authentic(report, certs)
    # the signed region, then r and s (their 48 significant bytes and the zero padding)
    offsets = [*range(SIGNED_SIZE), *range(SIGNED_SIZE, SIGNED_SIZE + 2 * SIG_COMPONENT_SIZE)]
    assert len(offsets) == 672 + 144
    accepted = []
    for offset in offsets:
        mutated = bytearray(report)
        mutated[offset] ^= 0x01 if offset % 2 else 0x80
        if authentic(bytes(mutated), certs):
            accepted.append(offset)
    assert accepted == []


@pytest.mark.vectors
def test_bytes_after_the_signature_are_reserved_and_refused() -> None:
    report, certs = load("genoa")
    for offset in range(SIGNED_SIZE + 2 * SIG_COMPONENT_SIZE, REPORT_SIZE, 37):
        mutated = bytearray(report)
        mutated[offset] = 0xFF
        a = appraise_snp(bytes(mutated), certs, policy=POLICY, at=AT, expected_report_data=None)
        assert [c.id for c in a.checks] == ["snp.parse"] and a.checks[0].status is Status.FAIL


@pytest.mark.vectors
def test_signature_scalar_padding_must_be_zero() -> None:
    report, _ = load("genoa")
    mutated = bytearray(report)
    mutated[SIGNED_SIZE + SIG_SCALAR_SIZE] = 1
    with pytest.raises(ParseError, match="signature_r"):
        parse_report(bytes(mutated))


def _mutations() -> st.SearchStrategy[list[tuple[int, int]]]:
    return st.lists(st.tuples(st.integers(0, REPORT_SIZE - 1), st.integers(1, 255)),
                    min_size=1, max_size=8)


@pytest.mark.vectors
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=_mutations())
def test_mutated_real_report_never_raises_and_is_never_authentic(edits: list[tuple[int, int]]) -> None:
    report, certs = load("genoa")
    mutated = bytearray(report)
    for offset, xor in edits:
        mutated[offset] ^= xor
    a = appraise_snp(bytes(mutated), certs, policy=POLICY, at=AT, expected_report_data=None)
    assert all(c.id != "snp.internal" for c in a.checks)
    if bytes(mutated) != report:
        assert not a.authentic


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.binary(min_size=0, max_size=2 * REPORT_SIZE),
                      st.binary(min_size=REPORT_SIZE, max_size=REPORT_SIZE)))
def test_random_bytes_only_raise_parse_errors(data: bytes) -> None:
    try:
        parse_report(data)
    except ParseError:
        pass


@settings(max_examples=200, deadline=None)
@given(version=st.sampled_from([2, 3, 4, 5]), body=st.binary(min_size=REPORT_SIZE - 4, max_size=REPORT_SIZE - 4),
       certs=st.lists(st.binary(max_size=300), max_size=3), crls=st.lists(st.binary(max_size=200), max_size=2),
       hcl=st.booleans())
def test_appraisal_of_random_reports_never_raises(version: int, body: bytes, certs: list[bytes],
                                                  crls: list[bytes], hcl: bool) -> None:
    report = version.to_bytes(4, "little") + body
    if hcl:
        report = b"HCLA" + (2).to_bytes(4, "little") + body[:24] + report + body[:64]
    a = appraise_snp(report, certs, policy=POLICY, at=AT, expected_report_data=bytes(64), crls=crls)
    assert a.checks and a.checks[0].id == "snp.parse"
    assert all(c.id != "snp.internal" for c in a.checks)
    assert not a.authentic


@settings(max_examples=100, deadline=None)
@given(blob=st.binary(min_size=1, max_size=600), pem_wrap=st.booleans())
def test_hostile_certificate_blobs_only_raise_parse_errors(blob: bytes, pem_wrap: bool) -> None:
    import base64

    from verifier.endorsements import amd

    data = blob
    if pem_wrap:
        data = b"-----BEGIN CERTIFICATE-----\n" + base64.b64encode(blob) + b"\n-----END CERTIFICATE-----\n"
    try:
        amd.load_certificates([data])
    except ParseError:
        pass
    try:
        amd.load_crls([data])
    except ParseError:
        pass


@pytest.mark.vectors
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=_mutations(), which=st.integers(0, 1))
@example(edits=[(583, 1)], which=0)  # a duplicate extension: cryptography's DuplicateExtension
@example(edits=[(27, 1)], which=1)  # PEM white space only: still the same certificates
def test_mutated_real_certificates_never_raise_and_are_never_authentic(
        edits: list[tuple[int, int]], which: int) -> None:
    report, certs = load("genoa")
    target = bytearray(certs[which])
    for offset, xor in edits:
        target[offset % len(target)] ^= xor
    mutated = list(certs)
    mutated[which] = bytes(target)
    a = appraise_snp(report, mutated, policy=POLICY, at=AT, expected_report_data=None)
    assert all(c.id != "snp.internal" for c in a.checks)
    if a.authentic:
        # Only a change outside the three certificates the chain uses (PEM white space, the
        # unused ASVK in trustee's file) may leave the evidence authentic.
        assert _chain_ders(certs) <= _blocks(mutated)


def _blocks(blobs: list[bytes]) -> set[bytes]:
    from verifier.endorsements import amd

    out: set[bytes] = set()
    for blob in blobs:
        try:
            out.update(amd.pem_blocks(blob, "CERTIFICATE") if b"-----BEGIN" in blob else [blob])
        except ParseError:
            pass
    return out


def _chain_ders(blobs: list[bytes]) -> set[bytes]:
    from verifier.endorsements import amd

    chain = amd.pick_chain(amd.load_certificates(blobs), amd.Role.VCEK)
    assert chain.leaf and chain.intermediate and chain.ark
    return {chain.leaf.der, chain.intermediate.der, chain.ark.der}


@pytest.mark.slow
@pytest.mark.vectors
@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=_mutations(), which=st.integers(0, 2), crl=st.booleans())
def test_long_fuzz_of_report_and_certificates(edits: list[tuple[int, int]], which: int, crl: bool) -> None:
    """``pytest -m slow``: the two properties above, many more examples, CRLs mutated too."""
    report, certs = load("genoa")
    crls = [vector("snp/openpcc/test_amd_genoa_crl.pem").read_bytes()]
    inputs = [report, *certs, crls[0]]
    index = which if which < 2 or not crl else 3
    target = bytearray(inputs[index])
    for offset, xor in edits:
        target[offset % len(target)] ^= xor
    inputs[index] = bytes(target)
    a = appraise_snp(inputs[0], inputs[1:3], policy=POLICY, at=AT, expected_report_data=None,
                     crls=[inputs[3]])
    assert all(c.id != "snp.internal" for c in a.checks)
    if a.authentic:
        assert inputs[0] == report and _chain_ders(certs) <= _blocks(inputs[1:3])


@pytest.mark.vectors
def test_hostile_ask_serial_checked_against_a_real_crl() -> None:
    """Found by the long fuzz: an altered ASK whose serial decodes negative, with a CRL given."""
    report, certs = load("genoa")
    chain = bytearray(certs[1])
    chain[48] ^= 38
    crl = vector("snp/openpcc/test_amd_genoa_crl.pem").read_bytes()
    a = appraise_snp(report, [certs[0], bytes(chain)], policy=POLICY, at=AT, expected_report_data=None,
                     crls=[crl])
    assert all(c.id != "snp.internal" for c in a.checks)
    assert not a.authentic
