"""``verify-measurement`` (SPEC §7) and ``verify-hardware-measurements`` (SPEC §6.3).

The comparisons are the Tinfoil provider's release checks (``verifier.providers.tinfoil.release``):
``snp_measurement_check`` (MEASUREMENT = the code release's ``snp_measurement``),
``tdx_measurement_check`` (RTMR1, RTMR2 = the release's), ``hardware_measurement_check`` ((MRTD,
RTMR0) is one platform of the hardware release), and the tinfoil policy's TDX rule that RTMR3 is
zero. A measurement of the suite is a predicate type and its registers; the adapter turns it into the
predicate or report fields those checks take. The fingerprint (§7.2) is an identifier, not a
verdict: the register itself, or SHA-256(type ‖ registers joined).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from enclave_chat.conformance.inputs import obj, strings, text
from enclave_chat.conformance.taxonomy import Malformed, Rejected
from verifier.providers.tinfoil import release
from verifier.result import Status

SEV = "https://tinfoil.sh/predicate/sev-snp-guest/v2"
TDX = "https://tinfoil.sh/predicate/tdx-guest/v2"
MULTI = "https://tinfoil.sh/predicate/snp-tdx-multiplatform/v1"
REGISTERS = {SEV: 1, TDX: 5, MULTI: 3}
"""Register count per type (§7.1): SEV [measurement]; TDX [MRTD, RTMR0, RTMR1, RTMR2, RTMR3];
multi-platform [snp_measurement, rtmr1, rtmr2]."""
RTMR3_ZERO = bytes(48)


class Measurement:
    def __init__(self, raw: Mapping[str, Any] | None, what: str) -> None:
        if raw is None:
            raise Malformed(f"{what} is missing")
        self.type = text(raw, "type") or ""
        self.registers = [r.lower() for r in strings(raw, "registers")]

    def fingerprint(self) -> str:
        if len(self.registers) == 1:
            return self.registers[0]
        return hashlib.sha256((self.type + "".join(self.registers)).encode()).hexdigest()

    def values(self, code: str) -> list[bytes]:
        """The registers as bytes: 48 each, and as many as the type has, else ``code``."""
        if self.type not in REGISTERS:
            raise Rejected("MEASUREMENT_TYPE_UNKNOWN", f"unknown predicate type {self.type!r}", "7.1")
        try:
            out = [bytes.fromhex(r) for r in self.registers]
        except ValueError:
            raise Malformed("a register is not hex") from None
        if len(out) != REGISTERS[self.type] or any(len(r) != 48 for r in out):
            raise Rejected(code, f"{self.type} with {len(out)} registers", "7.1")
        return out


def _predicate(multi: Sequence[bytes]) -> dict[str, Any]:
    """A code release's predicate (``snp_measurement``, ``tdx_measurement``) from multi-platform registers."""
    return {"snp_measurement": multi[0].hex(), "tdx_measurement": {"rtmr1": multi[1].hex(), "rtmr2": multi[2].hex()}}


def _compare(source: Measurement, target: Measurement) -> None:
    """SPEC §7.3 assert_equal(source, target), on the release checks; raises Rejected."""
    count = "MEASUREMENT_REGISTER_COUNT_INVALID"
    pair = (source.type, target.type)
    if pair in ((MULTI, TDX), (TDX, MULTI)):
        multi, tdx = (source, target) if source.type == MULTI else (target, source)
        m, t = multi.values(count), tdx.values(count)
        check = release.tdx_measurement_check(_predicate(m), t[2], t[3], None)
        if check.status is not Status.PASS:
            raise Rejected("MEASUREMENT_MISMATCH", check.detail, "7.3.2")
        if t[4] != RTMR3_ZERO:  # the tinfoil policy's [tdx] rtmr3 = zero
            raise Rejected("MEASUREMENT_RTMR3_NONZERO", "RTMR3 is not zero", "7.3.2")
        return
    if pair in ((MULTI, SEV), (SEV, MULTI)):
        multi, sev = (source, target) if source.type == MULTI else (target, source)
        m, s = multi.values(count), sev.values(count)
        check = release.snp_measurement_check(_predicate(m), s[0], None)
        if check.status is not Status.PASS:
            raise Rejected("MEASUREMENT_MISMATCH", check.detail, "7.3.3")
        return
    if source.type == target.type:
        a, b = source.values(count), target.values(count)
        if source.type == SEV:
            ok = release.snp_measurement_check({"snp_measurement": b[0].hex()}, a[0], None).status is Status.PASS
        elif source.type == MULTI:
            pred = _predicate(b)
            ok = (release.snp_measurement_check(pred, a[0], None).status is Status.PASS
                  and release.tdx_measurement_check(pred, a[1], a[2], None).status is Status.PASS)
        else:
            # TDX to TDX: every register, each compared as the release checks compare one.
            ok = all(release.snp_measurement_check({"snp_measurement": y.hex()}, x, None).status is Status.PASS
                     for x, y in zip(a, b, strict=True))
        if not ok:
            raise Rejected("MEASUREMENT_MISMATCH", "the registers differ", "7.3.1")
        return
    for one in (source, target):
        if one.type not in REGISTERS:
            raise Rejected("MEASUREMENT_TYPE_UNKNOWN", f"unknown predicate type {one.type!r}", "7.1")
    raise Rejected("MEASUREMENT_TYPE_COMBINATION_UNSUPPORTED", f"{source.type} against {target.type}", "7.3.5")


def verify_measurement(doc: Mapping[str, Any]) -> dict[str, Any]:
    source = Measurement(obj(doc, "source"), "source")
    raw_target = obj(doc, "target", optional=True)
    target = Measurement(raw_target, "target") if raw_target is not None else None
    if target is not None:
        _compare(source, target)
    else:
        source.values("MEASUREMENT_REGISTER_COUNT_INVALID")
    return {"source_fingerprint_hex": source.fingerprint(),
            "target_fingerprint_hex": target.fingerprint() if target is not None else None}


def verify_hardware_measurements(doc: Mapping[str, Any]) -> dict[str, Any]:
    enclave = Measurement(obj(doc, "enclave_measurement"), "enclave_measurement")
    platforms = doc.get("hardware_measurements")
    if not isinstance(platforms, list) or not all(isinstance(p, dict) for p in platforms):
        raise Malformed("hardware_measurements is not a list of objects")
    if enclave.type != TDX:
        raise Rejected("ENCLAVE_MEASUREMENT_TYPE_INVALID", f"{enclave.type} is not {TDX}", "6.3")
    registers = enclave.values("ENCLAVE_REGISTER_COUNT_INVALID")
    # The hardware release's predicate: platform id -> {mrtd, rtmr0}; the first entry of an id wins,
    # as the release's JSON map would keep one.
    predicate: dict[str, dict[str, str]] = {}
    for p in platforms:
        pid, mrtd, rtmr0 = text(p, "id"), text(p, "mrtd"), text(p, "rtmr0")
        assert pid is not None and mrtd is not None and rtmr0 is not None
        predicate.setdefault(pid, {"mrtd": mrtd.lower(), "rtmr0": rtmr0.lower()})
    if not predicate:
        raise Rejected("HARDWARE_NO_MATCH", "no hardware platform listed", "6.3")
    problem = release.hardware_predicate_problem(predicate)
    if problem:
        raise Malformed(problem)
    check, name = release.hardware_measurement_check(predicate, registers[0], registers[1], None)
    if check.status is not Status.PASS or name is None:
        raise Rejected("HARDWARE_NO_MATCH", check.detail, "6.3")
    return {"matched_id": name, "matched_mrtd": predicate[name]["mrtd"], "matched_rtmr0": predicate[name]["rtmr0"]}
