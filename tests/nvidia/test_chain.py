"""Certificate paths to the pinned NVIDIA roots (RFC 5280 §6.1, our hand-written profile)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.nvidia import nv, pki
from verifier.endorsements.anchors import spki_sha256
from verifier.endorsements.nvidia_anchors import (
    CORIM_ROOT_SPKI_SHA256,
    DEVICE_IDENTITY_CA_SPKI_SHA256,
)
from verifier.endorsements.nvidia_chain import PathError, leaf_fwids, load_chain, validate_path

pytestmark = pytest.mark.vectors


def test_pins_are_the_published_roots_keys() -> None:
    """Both published "NVIDIA Device Identity CA" certificates share the pinned key; the CoRIM root's
    certificate is the one NVIDIA ships (certificate fingerprints from PROVENANCE.md)."""
    from cryptography.hazmat.primitives import hashes

    roots = [x509.load_pem_x509_certificate(nv.read(nv.PYPI + "verifier_device_root.pem")),
             x509.load_pem_x509_certificate(nv.read(nv.RESIGNED + "Root-CA-L1B.pem"))]
    assert [r.fingerprint(hashes.SHA256()).hex()[:8] for r in roots] == ["102bf659", "8805700f"]
    assert {spki_sha256(r) for r in roots} == {DEVICE_IDENTITY_CA_SPKI_SHA256}
    rim_root = x509.load_pem_x509_certificate(nv.read(nv.PYPI + "verifier_RIM_root.pem"))
    assert rim_root.fingerprint(hashes.SHA256()).hex()[:8] == "12977b51"
    assert spki_sha256(rim_root) == CORIM_ROOT_SPKI_SHA256
    sdk_root = x509.load_der_x509_certificate(nv.read(nv.SDK + "trusted_certs/rim_root.crt")) \
        if nv.read(nv.SDK + "trusted_certs/rim_root.crt")[:1] == b"0" else \
        x509.load_pem_x509_certificate(nv.read(nv.SDK + "trusted_certs/rim_root.crt"))
    assert spki_sha256(sdk_root) == CORIM_ROOT_SPKI_SHA256


def test_h100_chain_holds_and_carries_the_report_fwid() -> None:
    chain = load_chain(nv.read(nv.PYPI + "hopperCertChain.txt"))
    path = validate_path(chain, pin=DEVICE_IDENTITY_CA_SPKI_SHA256, at=nv.T_GPU_OCSP)
    assert len(path.certificates) == 5
    fwids = leaf_fwids(path.leaf)
    assert fwids is not None and fwids[0].hex().startswith("f5c384aebb579217")


def test_blackwell_fwid_is_read_from_the_standard_tcb_info() -> None:
    chain = load_chain(nv.read(nv.SAMPLES + "gpu/blackwellCertChain.txt"))
    fwids = leaf_fwids(chain[0])
    assert fwids is not None and fwids[0].hex().startswith("d090cab1b6e6")
    assert fwids[1] == bytes(48)


def test_der_concatenation_loads_like_pem() -> None:
    pem_chain = load_chain(nv.read(nv.PYPI + "hopperCertChain.txt"))
    der = b"".join(c.public_bytes(serialization.Encoding.DER) for c in pem_chain)
    assert load_chain(der) == pem_chain


def test_look_alike_chain_is_refused_by_the_pin(device: pki.DevicePki) -> None:
    with pytest.raises(PathError) as e:
        validate_path(load_chain(device.chain_pem), pin=DEVICE_IDENTITY_CA_SPKI_SHA256, at=pki.AT)
    assert e.value.reason == "pin" and "NVIDIA Device Identity CA" in str(e.value)


def test_real_root_appended_to_look_alike_chain_is_refused_by_signature(device: pki.DevicePki) -> None:
    """A chain that ends at NVIDIA's real root certificate but whose identity CA is someone else's."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    real_root = x509.load_pem_x509_certificate(nv.read(nv.PYPI + "verifier_device_root.pem"))
    forged_identity = (
        x509.CertificateBuilder().subject_name(device.identity.cert.subject)
        .issuer_name(real_root.subject).public_key(device.identity.key.public_key())
        .serial_number(1).not_valid_before(pki.NOT_BEFORE).not_valid_after(pki.NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ec.generate_private_key(ec.SECP384R1()), hashes.SHA384()))
    chain = [device.leaf.cert, device.brom.cert, device.ica.cert, forged_identity, real_root]
    with pytest.raises(PathError) as e:
        validate_path(chain, pin=DEVICE_IDENTITY_CA_SPKI_SHA256, at=pki.AT)
    assert e.value.reason == "signature" and e.value.position == 3


def test_test_chain_holds_under_its_own_pin(device: pki.DevicePki) -> None:
    path = validate_path(load_chain(device.chain_der), pin=device.pin, at=pki.AT)
    assert leaf_fwids(path.leaf) == (device.fwid,)


def test_out_of_order_chain_is_refused(device: pki.DevicePki) -> None:
    certs = [i.cert for i in device.chain]
    certs[1], certs[2] = certs[2], certs[1]
    with pytest.raises(PathError) as e:
        validate_path(certs, pin=device.pin, at=pki.AT)
    assert e.value.reason == "issuer"


@pytest.mark.parametrize(("at", "state"), [(dt.datetime(2023, 1, 1, tzinfo=dt.UTC), "not yet valid"),
                                           (dt.datetime(2031, 1, 1, tzinfo=dt.UTC), "expired")])
def test_validity_is_checked_at_the_verification_time(device: pki.DevicePki, at: dt.datetime,
                                                      state: str) -> None:
    with pytest.raises(PathError, match=state) as e:
        validate_path([i.cert for i in device.chain], pin=device.pin, at=at)
    assert e.value.reason == "validity"


def test_issuer_that_is_not_a_ca_is_refused() -> None:
    root = pki.issue(pki.name("Root"), None, role="ca")
    not_ca = pki.issue(pki.name("Intermediate"), root, role="leaf")
    leaf = pki.issue(pki.name("Leaf"), not_ca, role="leaf")
    with pytest.raises(PathError) as e:
        validate_path([leaf.cert, not_ca.cert, root.cert], pin=spki_sha256(root.cert), at=pki.AT)
    assert e.value.reason == "ca" and e.value.position == 1


def test_path_length_constraint_is_enforced() -> None:
    root = pki.issue(pki.name("Root"), None, role="ca")
    l2 = pki.issue(pki.name("L2"), root, role="ca", path_len=0)
    l3 = pki.issue(pki.name("L3"), l2, role="ca")
    leaf = pki.issue(pki.name("Leaf"), l3, role="leaf")
    with pytest.raises(PathError) as e:
        validate_path([leaf.cert, l3.cert, l2.cert, root.cert], pin=spki_sha256(root.cert), at=pki.AT)
    assert e.value.reason == "ca" and e.value.position == 2


def test_garbage_is_a_format_error() -> None:
    for data in (b"", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", b"\x30\x82\xff"):
        with pytest.raises(PathError) as e:
            load_chain(data)
        assert e.value.reason == "format"
