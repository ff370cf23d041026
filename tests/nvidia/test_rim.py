"""RIMs: our own chain validation, signxml against the leaf, and reading only what was signed."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from tests.nvidia import nv, pki
from verifier.endorsements.nvidia_anchors import CORIM_ROOT_SPKI_SHA256
from verifier.reference.rim import (
    NS_SWID,
    RimError,
    build_rim,
    driver_rim_id,
    load_rim,
    sign_rim,
    vbios_rim_id,
    verify_rim,
    verify_rim_signature,
)

pytestmark = pytest.mark.vectors


def test_google_rims_verify_with_their_versions_and_active_counts() -> None:
    driver, vbios = (verify_rim(r, pin=CORIM_ROOT_SPKI_SHA256, at=nv.T_GPU_OCSP)[0] for r in nv.google_rims())
    assert (driver.kind, driver.version, len(driver.active())) == ("driver", "550.90.07", 21)
    assert (vbios.kind, vbios.version, len(vbios.active())) == ("vbios", "96.00.9F.00.01", 12)
    assert not set(driver.active()) & set(vbios.active())
    assert driver.manufacturer_id == "5703"


def test_resigned_vbios_rim_is_valid_only_in_its_signers_window() -> None:
    data = nv.read(nv.RESIGNED + "NV_GPU_VBIOS_1010_0200_882_96009F0001.swidtag")
    rim, path = verify_rim(data, pin=CORIM_ROOT_SPKI_SHA256, at=nv.T_RESIGNED)
    assert rim.version == "96.00.9F.00.01" and path.leaf.not_valid_before_utc.year == 2026
    with pytest.raises(RimError, match="not yet valid") as e:
        verify_rim(data, pin=CORIM_ROOT_SPKI_SHA256, at=nv.T_GPU_OCSP)
    assert e.value.reason == "chain"


@pytest.mark.parametrize(("relative", "at", "reason", "text"), [
    (nv.SDK + "incorrect_signature_driver_rim.xml", nv.T_SAMPLE_RIMS, "signature", "does not verify"),
    (nv.SDK + "incorrect_cert_chain_driver_rim.xml", nv.T_SAMPLE_RIMS, "chain", "Debug Only"),
    (nv.SDK + "sample_rims/NV_GPU_DRIVER_GH100_570.124.03_expired.xml", nv.T_SAMPLE_RIMS, "chain", "expired"),
    (nv.SDK + "sample_rims/NV_SWITCH_BIOS_5612_0002_890_9610550001_invalid_signature.xml",
     nv.T_SAMPLE_RIMS, "signature", "Digest mismatch"),
    (nv.GOOGLE + "rim/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml", nv.T_RESIGNED, "chain", "expired"),
    (nv.GOOGLE + "rim/NV_GPU_DRIVER_GH100_550.90.07.xml", nv.T_DRIVER_EXPIRED, "chain", "expired"),
])
def test_broken_rims_are_refused_for_their_own_reason(relative: str, at: dt.datetime, reason: str,
                                                      text: str) -> None:
    with pytest.raises(RimError, match=text) as e:
        verify_rim(nv.read(relative), pin=CORIM_ROOT_SPKI_SHA256, at=at)
    assert e.value.reason == reason


def test_incorrect_rim_root_as_anchor_refuses_real_rims() -> None:
    """NVIDIA's incorrect_rim_root.crt is a (debug) L4 signer, not the CoRIM root: pinned as the RIM
    root, no real RIM chains to it."""
    from cryptography import x509

    from verifier.endorsements.anchors import spki_sha256

    wrong = x509.load_pem_x509_certificate(nv.read(nv.SDK + "incorrect_rim_root.crt"))
    with pytest.raises(RimError, match="pinned RIM root") as e:
        verify_rim(nv.google_rims()[0], pin=spki_sha256(wrong), at=nv.T_GPU_OCSP)
    assert e.value.reason == "chain"


def test_tampered_measurement_breaks_the_digest() -> None:
    data = nv.google_rims()[0].replace(b'ns2:Hash0="80161aac', b'ns2:Hash0="80161aad', 1)
    with pytest.raises(RimError, match="Digest mismatch") as e:
        verify_rim(data, pin=CORIM_ROOT_SPKI_SHA256, at=nv.T_GPU_OCSP)
    assert e.value.reason == "signature"


def test_doctype_and_garbage_are_format_errors() -> None:
    for data in (b'<!DOCTYPE x [<!ENTITY a "b">]><x/>', b"not xml", b"<other/>"):
        with pytest.raises(RimError) as e:
            load_rim(data)
        assert e.value.reason == "format"


def test_signed_demo_rim_roundtrip(rim_signers: pki.RimPki) -> None:
    xml = build_rim(version="550.90.07", measurements={7: [b"\x07" * 48], 21: [b"\x01" * 48, b"\x02" * 48]})
    signed = sign_rim(xml, rim_signers.l4.key, rim_signers.chain)
    rim, _ = verify_rim(signed, pin=rim_signers.pin, at=pki.AT)
    assert rim.version == "550.90.07" and rim.active()[21].alternatives == (b"\x01" * 48, b"\x02" * 48)


def test_signature_wrapping_reads_only_the_signed_copy(rim_signers: pki.RimPki) -> None:
    """The classic wrapping attack: the genuine signed SoftwareIdentity is hidden inside an attacker's
    document whose own Payload says something else; the Signature (at the root) references the
    hidden copy by Id. signxml accepts the signature; we read the hidden, signed copy only."""
    from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
    from signxml.signer import XMLSigner

    genuine = etree.fromstring(build_rim(version="550.90.07", measurements={7: [b"\x07" * 48]}))
    genuine.set("Id", "genuine")
    signed = XMLSigner(signature_algorithm=SignatureMethod.ECDSA_SHA384, digest_algorithm=DigestAlgorithm.SHA384,
                       c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_1).sign(
        genuine, key=rim_signers.l4.key, cert=list(rim_signers.chain), reference_uri="#genuine")
    signature = signed.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    signed.remove(signature)
    attacker = etree.fromstring(build_rim(version="550.90.07", measurements={7: [b"\xee" * 48]}))
    attacker.find(f"{{{NS_SWID}}}Entity").append(signed)
    attacker.append(signature)
    data = etree.tostring(attacker)

    rim = verify_rim_signature(load_rim(data), rim_signers.l4.cert, at=pki.AT)
    assert rim.active()[7].alternatives == (b"\x07" * 48,)      # the signed copy, not the attacker's 0xee


def test_rim_service_ids() -> None:
    assert driver_rim_id("HOPPER", "550.90.07") == "NV_GPU_DRIVER_GH100_550.90.07"
    assert driver_rim_id("BLACKWELL", "575.32", "GB100") == "NV_GPU_CC_DRIVER_GB100_575.32"
    assert vbios_rim_id("1010", "0200", "882", "96.00.9F.00.01") == "NV_GPU_VBIOS_1010_0200_882_96009F0001"


def test_signed_but_malformed_content_is_a_content_error(rim_signers: pki.RimPki) -> None:
    """A non-ASCII digit passes str.isdigit() but is not an index: refused after the signature holds."""
    xml = build_rim(version="1.0", measurements={5: [b"\x05" * 48]}).replace(b'index="5"', 'index="٥"'.encode())
    signed = sign_rim(xml, rim_signers.l4.key, rim_signers.chain)
    with pytest.raises(RimError, match="index") as e:
        verify_rim(signed, pin=rim_signers.pin, at=pki.AT)
    assert e.value.reason == "content"
