"""Appraise NEAR AI's attestation report: the checks, in the order docs/providers.md lists them.

A model attestation (the direct answer; each of the gateway's ``model_attestations``, prefixed
``model.N.``):

1. ``nearai.duplicates``  the fields served twice are byte-identical: the top level and
   ``all_attestations[0]``, ``event_log`` and ``info.tcb_info.event_log``, ``info``'s and
   ``tcb_info``'s compose hash, OS image hash and device id, the OHTTP attestation's key config and
   signing key and the top-level ones;
2. ``nearai.nonce``       ``request_nonce`` is the client's nonce;
3. ``nearai.signing_key`` ``signing_algo`` is ``ed25519`` and ``signing_address`` is byte for byte
   ``signing_public_key``, a 32-byte Ed25519 public key;
4. ``tdx.*``, ``dstack.*`` the dstack appraisal (:func:`verifier.appraisal.dstack.appraise_dstack`)
   with the expected REPORT_DATA ``SHA-256(signing address ‖ tls_cert_fingerprint) ‖ nonce``;
5. ``nearai.report_data`` which half of REPORT_DATA holds (the keys, the nonce), said in words;
6. ``nearai.tls_key``     SHA-256 of the live TLS peer's SPKI DER is ``tls_cert_fingerprint`` (an
   optional skip when the peer key is not known: a recording without it; behind the gateway, the
   client's TLS ends at the gateway);
7. ``nearai.gpu_evidence`` ``nvidia_payload`` parses and declares the client's nonce;
8. ``gpu.*``              every GPU by the NVIDIA appraisal, the SPDM nonce = the client's nonce;
9. ``nearai.gpu_binding`` how the GPUs are bound to the CPU evidence: by the nonce only;
10. ``nearai.compose_manager``, ``compose_manager.tdx.*``, ``compose_manager.dstack.*``,
    ``nearai.compose_manager.actions``, ``nearai.compose_manager.same_td``, ``nearai.model_file``:
    the compose-manager's second quote, REPORT_DATA = SHA-256(compact JSON of ``actions``) ‖ nonce,
    of the same TD, and the model file it deployed, by hash;
11. ``nearai.image_digest`` an optional skip: the inference image's digest is not visible to the client;
    ``nearai.images.first_party`` / ``.third_party``: the bound compose's images in Sigstore's Rekor
    (:mod:`verifier.reference.rekor_images`; the gateway's too, as ``gateway.nearai.images.*``);
12. ``nearai.ohttp_key``  the OHTTP key config's Ed25519 signature by the attested signing key.

The cloud form runs ``nearai.models`` then the gateway's own checks prefixed ``gateway.`` (its
``nearai.nonce``, ``nearai.signing_key``, ``tdx.*``, ``dstack.*``, ``nearai.report_data``,
``nearai.tls_key``), then each model attestation. Both end with ``nearai.e2ee``: no end-to-end
encryption is used, only TLS to the attested key protects the prompt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verifier.appraisal.policy import Policy
from verifier.errors import ParseError
from verifier.providers.nearai import NAME
from verifier.providers.nearai import checks as ids
from verifier.providers.nearai import document as docs
from verifier.providers.nearai.rules import NearAiPolicy
from verifier.result import AttestationResult, Check, Status, failed, passed, skipped

if TYPE_CHECKING:
    from verifier.appraisal.dstack import DstackAppraisal
    from verifier.endorsements.fetch import CollateralFetcher

GATEWAY_PREFIX = "gateway."
COMPOSE_MANAGER_PREFIX = "compose_manager."
COMPOSE_MANAGER_ORDER = ("timestamp", "action", "tag", "commit", "file", "file_sha256", "services", "container")
"""The order compose-manager writes an action's members in (the 06-10 recordings serve them so and
hash as served); 04-24's answers serve them sorted by name, and hash only in this order."""
E2EE_SENTENCE = ("No end-to-end encryption of prompts is used: only TLS to the attested key protects the prompt "
                 "(nearai.tls_key), so anything at the TLS endpoint the attestation binds sees it in the clear.")


def model_prefix(n: int) -> str:
    return f"model.{n}."


@dataclass
class _Run:
    checks: list[Check] = field(default_factory=list)
    claims: dict[str, Any] = field(default_factory=dict)

    def add(self, check: Check, prefix: str = "") -> Check:
        if prefix:
            detail = f"The cloud gateway's own TD: {check.detail}" if prefix == GATEWAY_PREFIX else check.detail
            check = Check(prefix + check.id, check.status, detail, check.required, check.authenticity, check.reason)
        self.checks.append(check)
        return check


@dataclass(frozen=True)
class Appraised:
    result: AttestationResult
    report: docs.Report | None
    tls_fp: bytes | None
    """The TLS key fingerprint every request's peer must hold (the gateway's behind the gateway)."""


def appraise_report(body: bytes, *, nonce: bytes, policy: Policy, at: dt.datetime, peer_spki: bytes | None,
                    transport: str, fetcher: CollateralFetcher | None,
                    service_check: Check | None = None) -> Appraised:
    """Every check of one ``/v1/attestation/report`` answer (module docstring); never raises on hostile input."""
    rules = NearAiPolicy.from_policy(policy)
    run = _Run()
    if service_check is not None:
        run.add(service_check)
    try:
        report = docs.parse_report(body)
    except ParseError as e:
        run.add(failed(ids.PARSE, f"The attestation report is not NEAR AI's: {e}.", authenticity=True, reason="format"))
        run.add(skipped(ids.E2EE, E2EE_SENTENCE, required=False))
        return Appraised(_result(run, at, nonce, policy), None, None)
    run.claims["form"] = report.form
    run.add(passed(ids.PARSE, f"A NEAR AI attestation report ({'the cloud gateway with ' + str(len(report.models)) + ' model attestation(s)' if report.form == 'cloud' else 'a model host'}), every member read typed.",
                   authenticity=True))
    tls_fp: bytes | None
    if report.gateway is not None:
        names = [m.model_name for m in report.models]
        run.claims["models"] = names
        if rules.model and rules.model not in names:
            run.add(failed(ids.MODELS, f"The gateway attests {names}, not the model {rules.model!r} it was asked for."))
        else:
            run.add(passed(ids.MODELS, f"The gateway answers {len(names)} model attestation(s) ({', '.join(names)}); each is appraised below as model.N."))
        _gateway(run, report, nonce=nonce, policy=policy, at=at, peer_spki=peer_spki, transport=transport, fetcher=fetcher)
        for n, model in enumerate(report.models):
            claims = _model(run, model, model_prefix(n), nonce=nonce, policy=policy, rules=rules, at=at,
                            peer_spki=None, transport="behind-gateway", fetcher=fetcher)
            run.claims.setdefault("model_attestations", []).append(claims)
        tls_fp = report.gateway.tls_cert_fingerprint
    else:
        run.claims.update(_model(run, report.models[0], "", nonce=nonce, policy=policy, rules=rules, at=at,
                                 peer_spki=peer_spki, transport=transport, fetcher=fetcher))
        tls_fp = report.models[0].tls_cert_fingerprint
    run.claims["channel"] = "TLS to the attested key only (no end-to-end encryption)"
    run.add(skipped(ids.E2EE, E2EE_SENTENCE, required=False))
    return Appraised(_result(run, at, nonce, policy), report, tls_fp)


def _result(run: _Run, at: dt.datetime, nonce: bytes, policy: Policy) -> AttestationResult:
    return AttestationResult(NAME, at, nonce, policy.ref, tuple(run.checks), {}, run.claims, evidence_kind="dstack")


# -- the pieces ------------------------------------------------------------------------------------

def binding(address: bytes, tls_fp: bytes, nonce: bytes) -> bytes:
    """NEAR AI's REPORT_DATA: SHA-256(signing address bytes ‖ TLS certificate fingerprint) ‖ nonce."""
    return hashlib.sha256(address + tls_fp).digest() + nonce


def _tcb_info(info: dict[str, object]) -> dict[str, object] | None:
    tcb = info.get("tcb_info")
    if isinstance(tcb, str):
        try:
            from verifier.strict_json import load_strict_json

            tcb = load_strict_json(tcb.encode(), "info.tcb_info")
        except ParseError:
            return None
    return tcb if isinstance(tcb, dict) else None


def _duplicates(m: docs.ModelAttestation) -> list[str]:
    """Every pair of members served twice that differ (their names)."""
    problems: list[str] = []
    if m.all_attestations is not None:
        if len(m.all_attestations) != 1:
            problems.append(f"all_attestations lists {len(m.all_attestations)} attestations, not the one served at the top level")
        first = m.all_attestations[0]
        for key, value in first.items():
            if key not in m.raw:
                problems.append(f"all_attestations[0].{key} has no top-level counterpart")
            elif m.raw[key] != value:
                problems.append(f"{key} differs from all_attestations[0].{key}")
        missing = [k for k in ("intel_quote", "event_log", "signing_public_key", "signing_address", "tls_cert_fingerprint",
                               "nvidia_payload", "info", "request_nonce") if k in m.raw and k not in first]
        problems += [f"all_attestations[0] lacks {k}" for k in missing]
    tcb = _tcb_info(m.info)
    if tcb is not None:
        if "event_log" in tcb and tcb["event_log"] != m.event_log:
            problems.append("event_log differs from info.tcb_info.event_log")
        for key in ("compose_hash", "os_image_hash", "device_id"):
            if key in tcb and key in m.info and tcb[key] != m.info[key]:
                problems.append(f"info.{key} differs from info.tcb_info.{key}")
    if m.ohttp_attestation is not None:
        if m.ohttp_key_config is not None and m.ohttp_attestation.key_config != m.ohttp_key_config:
            problems.append("ohttp_attestation.key_config differs from ohttp_key_config")
        if m.ohttp_attestation.signing_key != m.signing_public_key:
            problems.append("ohttp_attestation.signing_key differs from signing_public_key")
    return problems


def _signing_key(address: bytes, public_key: bytes | None, algo: str) -> Check:
    if algo != "ed25519":
        return failed(ids.SIGNING_KEY, f"The signing algorithm is {algo[:40]!r}; this client asked for and reads ed25519 only.", authenticity=True)
    if public_key is not None and not hmac.compare_digest(address, public_key):
        return failed(ids.SIGNING_KEY, f"The signing address {address.hex()[:16]}… is not the signing public key {public_key.hex()[:16]}…: for ed25519 they are the same bytes.", authenticity=True)
    try:
        Ed25519PublicKey.from_public_bytes(address)
    except ValueError:
        return failed(ids.SIGNING_KEY, f"The signing address is {len(address)} bytes, not a 32-byte Ed25519 public key.", authenticity=True)
    said = "equals the signing public key byte for byte and " if public_key is not None else ""
    return passed(ids.SIGNING_KEY, f"The ed25519 signing address {address.hex()[:16]}… {said}is a 32-byte Ed25519 public key.", authenticity=True)


def _report_data_check(a: DstackAppraisal, expected: bytes, what: str) -> Check:
    quote = a.tdx.quote if a.tdx is not None else None
    if quote is None:
        return skipped(ids.REPORT_DATA, "No TD quote was read, so REPORT_DATA is unknown.")
    have = quote.body.report_data
    keys_ok = hmac.compare_digest(have[:32], expected[:32])
    nonce_ok = hmac.compare_digest(have[32:64], expected[32:64])
    if keys_ok and nonce_ok:
        return passed(ids.REPORT_DATA, f"REPORT_DATA[0:32] = {what} and REPORT_DATA[32:64] = the client's nonce: the quote binds them.")
    wrong = [w for w, ok in ((f"REPORT_DATA[0:32] is not {what}", keys_ok), ("REPORT_DATA[32:64] is not the client's nonce", nonce_ok)) if not ok]
    return failed(ids.REPORT_DATA, "; ".join(wrong) + ": the quote does not bind these keys to this session.")


DEMO_TLS_SENTENCE = ("INSECURE DEMO: the service is plain http on loopback, so there is no TLS key to bind; the demo "
                     "policy turns this check off ([nearai] tls_key = \"off\"), and NEAR AI's profile has no "
                     "end-to-end encryption: the prompt crosses loopback in the clear.")


def _tls_check(peer_spki: bytes | None, transport: str, fp: bytes, *, off: bool = False) -> Check:
    if off and transport != "behind-gateway":
        return skipped(ids.TLS_KEY, DEMO_TLS_SENTENCE, required=False)
    if transport == "behind-gateway":
        return skipped(ids.TLS_KEY, "The client's TLS connection ends at the gateway, which checks this host's TLS key; the client can check only the gateway's (gateway.nearai.tls_key).", required=False)
    if transport == "http":
        return failed(ids.TLS_KEY, "The report came over plain http: no TLS peer can be shown to hold the attested TLS key.")
    if peer_spki is None:
        return skipped(ids.TLS_KEY, "Not checked: the TLS peer's key is not known (a recording without it, as teep's are). Live, every request's TLS peer must hold the attested key.", required=False)
    have = hashlib.sha256(peer_spki).digest()
    if hmac.compare_digest(have, fp):
        return passed(ids.TLS_KEY, f"The TLS peer holds the attested key (SHA-256 of its SPKI {have.hex()[:16]}… = tls_cert_fingerprint): TLS ends inside the attested TD.")
    return failed(ids.TLS_KEY, f"The TLS peer's key (SPKI SHA-256 {have.hex()[:16]}…) is not the attested tls_cert_fingerprint {fp.hex()[:16]}…: the connection ends outside the attested TD.")


def _dstack(run: _Run, prefix: str, raw: dict[str, object], *, policy: Policy, at: dt.datetime, expected: bytes,
            fetcher: CollateralFetcher | None, form_override: Any = None,
            collateral: Any = None) -> DstackAppraisal:
    from verifier.appraisal.dstack import appraise_dstack
    from verifier.evidence.dstack import find_evidence

    evidence = form_override
    if evidence is None:
        try:
            evidence = find_evidence(raw)
        except ParseError:
            evidence = None
    if evidence is None:  # no quote member at all: the dstack appraisal's own parse check says so
        from verifier.evidence.dstack import DstackEvidence

        evidence = DstackEvidence("info", None, None)
    a = appraise_dstack(evidence, policy=policy, at=at, expected_report_data=expected, collateral=collateral,
                        fetcher=fetcher)
    for c in a.checks:
        run.add(c, prefix)
    return a


def _gateway(run: _Run, report: docs.Report, *, nonce: bytes, policy: Policy, at: dt.datetime,
             peer_spki: bytes | None, transport: str, fetcher: CollateralFetcher | None) -> None:
    g = report.gateway
    assert g is not None
    p = GATEWAY_PREFIX
    if hmac.compare_digest(g.request_nonce, nonce):
        run.add(passed(ids.NONCE, "The gateway's request_nonce is the client's nonce."), p)
    else:
        run.add(failed(ids.NONCE, f"The gateway answers nonce {g.request_nonce.hex()[:16]}…, not the client's {nonce.hex()[:16]}…: not fresh."), p)
    run.add(_signing_key(g.signing_address, None, g.signing_algo), p)
    expected = binding(g.signing_address, g.tls_cert_fingerprint, nonce)
    a = _dstack(run, p, g.raw, policy=policy, at=at, expected=expected, fetcher=fetcher)
    run.add(_report_data_check(a, expected, "SHA-256(the gateway's signing address ‖ its TLS fingerprint)"), p)
    run.claims["gateway"] = {"dstack": a.claims, "signing_address": g.signing_address.hex(),
                             "tls_cert_fingerprint": g.tls_cert_fingerprint.hex(), "vpc": g.vpc,
                             "unknown_members": list(g.unknown)}
    run.add(_tls_check(peer_spki, transport, g.tls_cert_fingerprint,
                       off=NearAiPolicy.from_policy(policy).tls_key == "off"), p)
    run.claims["gateway"]["images"] = _images(run, a, p, NearAiPolicy.from_policy(policy), fetcher)


def _model(run: _Run, m: docs.ModelAttestation, p: str, *, nonce: bytes, policy: Policy, rules: NearAiPolicy,
           at: dt.datetime, peer_spki: bytes | None, transport: str,
           fetcher: CollateralFetcher | None) -> dict[str, Any]:
    claims: dict[str, Any] = {"model_name": m.model_name, "signing_address": m.signing_address.hex(),
                              "tls_cert_fingerprint": m.tls_cert_fingerprint.hex(),
                              "report_data_formula": "SHA-256(signing address ‖ tls_cert_fingerprint) ‖ nonce",
                              "unknown_members": list(m.unknown)}
    problems = _duplicates(m)
    if problems:
        run.add(failed(ids.DUPLICATES, "Fields served twice differ, so which one was attested is unclear: " + "; ".join(problems[:6]) + ".", authenticity=True), p)
    else:
        run.add(passed(ids.DUPLICATES, "Every field served twice (top level and all_attestations[0], event_log and info.tcb_info.event_log, the OHTTP attestation's key and config) is byte-identical.", authenticity=True), p)
    if hmac.compare_digest(m.request_nonce, nonce):
        run.add(passed(ids.NONCE, "request_nonce is the client's nonce."), p)
    else:
        run.add(failed(ids.NONCE, f"The host answers nonce {m.request_nonce.hex()[:16]}…, not the client's {nonce.hex()[:16]}…: not fresh."), p)
    run.add(_signing_key(m.signing_address, m.signing_public_key, m.signing_algo), p)
    expected = binding(m.signing_address, m.tls_cert_fingerprint, nonce)
    demo = _demo_collateral(m, rules, claims)
    a = _dstack(run, p, m.raw, policy=policy, at=at, expected=expected, fetcher=fetcher,
                collateral=demo.tdx if demo is not None else None)
    claims["dstack"] = a.claims
    run.add(_report_data_check(a, expected, "SHA-256(signing address ‖ tls_cert_fingerprint)"), p)
    run.add(_tls_check(peer_spki, transport, m.tls_cert_fingerprint, off=rules.tls_key == "off"), p)
    claims["gpus"] = _gpus(run, m, p, nonce=nonce, policy=policy, at=at, fetcher=fetcher,
                           rims=demo.gpu_rims if demo is not None else ())
    claims["compose_manager"] = _compose_manager(run, m, p, a, nonce=nonce, policy=policy, rules=rules, at=at,
                                                 fetcher=fetcher)
    run.add(skipped(ids.IMAGE_DIGEST, "The client cannot see the inference image's digest: the model server is deployed at run time by compose-manager from a compose file named only by its SHA-256 (nearai.model_file); neither that file nor its images are served, so what runs the model is known by that hash alone.", required=False), p)
    claims["images"] = _images(run, a, p, rules, fetcher)
    run.add(_ohttp(m), p)
    return claims


def _images(run: _Run, a: DstackAppraisal, p: str, rules: NearAiPolicy,
            fetcher: CollateralFetcher | None) -> list[dict[str, Any]]:
    """``nearai.images.first_party`` and ``.third_party``: the bound app compose's images looked up
    in Rekor (:mod:`verifier.reference.rekor_images`), through the collateral fetcher."""
    from verifier.evidence.dstack import compose_images
    from verifier.reference import rekor_images

    policy = rekor_images.ImagePolicy(rules.first_party_images, rules.image_signer_repository, rules.image_signer_refs)
    if a.app_compose is None:
        why = "The app compose is not the one the quote binds, so its images are not known."
        run.add(skipped(ids.IMAGES_FIRST_PARTY, why, required=bool(policy.first_party)), p)
        run.add(skipped(ids.IMAGES_THIRD_PARTY, why, required=False), p)
        return []
    references = [i.resolved or i.written for i in compose_images(a.app_compose).images]
    found = rekor_images.look_up(references, policy, fetcher) if policy.first_party else []
    run.add(rekor_images.first_party_check(ids.IMAGES_FIRST_PARTY, found, policy), p)
    if found:
        run.add(rekor_images.third_party_check(ids.IMAGES_THIRD_PARTY, found), p)
    else:
        run.add(skipped(ids.IMAGES_THIRD_PARTY, "Not looked up: the policy names no first-party images ([nearai] first_party_images).", required=False), p)
    return [i.to_json() for i in found]


def _demo_collateral(m: docs.ModelAttestation, rules: NearAiPolicy, claims: dict[str, Any]) -> docs.DemoCollateral | None:
    """INSECURE DEMO: the report's ``demo_collateral`` (the reference enclave's Intel collateral and GPU
    RIMs, which no PCS or RIM service has), only where ``[nearai] collateral_from_report`` says so;
    otherwise it is ignored and the collateral is fetched. Unreadable: None (the collateral checks
    then skip, and a policy that requires them refuses), with why in the claims."""
    if not rules.collateral_from_report:
        return None
    value = m.raw.get("demo_collateral")
    if value is None:
        claims["demo_collateral"] = "absent: the policy takes the collateral from the report, and it carries none"
        return None
    try:
        demo = docs.parse_demo_collateral(value)
    except ParseError as e:
        claims["demo_collateral"] = f"unreadable, not used: {e}"
        return None
    claims["demo_collateral"] = (f"INSECURE DEMO: Intel collateral {'carried' if demo.tdx is not None else 'absent'}, "
                                 f"{len(demo.gpu_rims)} GPU RIM(s), from the report ([nearai] collateral_from_report)")
    return demo


def _gpus(run: _Run, m: docs.ModelAttestation, p: str, *, nonce: bytes, policy: Policy, at: dt.datetime,
          fetcher: CollateralFetcher | None, rims: tuple[bytes, ...] = ()) -> dict[str, Any]:
    from verifier.appraisal.nvidia import appraise_gpus

    try:
        payload = docs.parse_nvidia_payload(m.nvidia_payload, "nvidia_payload")
    except ParseError as e:
        run.add(failed(ids.GPU_EVIDENCE, f"The GPU evidence cannot be read: {e}."), p)
        run.add(skipped(ids.GPU_BINDING, "No GPU evidence was read, so none is bound."), p)
        return {}
    declared = [payload.nonce, *(g.nonce for g in payload.gpus if g.nonce is not None)]
    if all(hmac.compare_digest(d, nonce) for d in declared):
        run.add(passed(ids.GPU_EVIDENCE, f"nvidia_payload holds {len(payload.gpus)} GPU evidence(s) ({payload.arch}) and declares the client's nonce; each is appraised here, locally (no NRAS answer is used)."), p)
    else:
        run.add(failed(ids.GPU_EVIDENCE, "nvidia_payload declares a nonce that is not the client's."), p)
    result = appraise_gpus([(g.arch, g.evidence, g.certificate) for g in payload.gpus], policy=policy, at=at,
                           expected_nonce=nonce, fetcher=fetcher, rims=rims)
    for c in result.checks:
        run.add(c, p)
    nonce_checks = [c for c in result.checks if c.id.endswith(".nonce")]
    if nonce_checks and all(c.status is Status.PASS for c in nonce_checks):
        run.add(passed(ids.GPU_BINDING, f"The {len(nonce_checks)} GPUs are bound to the CPU evidence by the nonce only: each SPDM report answers the client's nonce, the same nonce REPORT_DATA[32:64] carries. Nothing in the TD quote names these GPUs' keys, so the binding says the GPU reports are fresh for this session, not that these GPUs are the ones attached to this TD.", required=False), p)
    else:
        run.add(failed(ids.GPU_BINDING, "Not every GPU report answers the client's nonce, so the GPUs are not bound to this session even by the nonce."), p)
    return result.claims


def _actions_hash(actions: tuple[dict[str, object], ...]) -> tuple[bytes, bytes]:
    """SHA-256 of the compact JSON of ``actions`` as served, and in compose-manager's member order."""
    def compact(items: object) -> bytes:
        return json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode()

    ordered = [{**{k: a[k] for k in COMPOSE_MANAGER_ORDER if k in a}, **{k: v for k, v in a.items() if k not in COMPOSE_MANAGER_ORDER}}
               for a in actions]
    return hashlib.sha256(compact(list(actions))).digest(), hashlib.sha256(compact(ordered)).digest()


def _compose_manager(run: _Run, m: docs.ModelAttestation, p: str, main: DstackAppraisal, *, nonce: bytes,
                     policy: Policy, rules: NearAiPolicy, at: dt.datetime,
                     fetcher: CollateralFetcher | None) -> dict[str, Any]:
    from verifier.evidence.dstack import DstackEvidence
    from verifier.evidence.tdx import parse_quote

    if m.compose_manager is None:
        required = rules.compose_manager == "required"
        run.add((failed if required else skipped)(ids.COMPOSE_MANAGER, "No compose_manager_attestation is served: the model server this host deploys at run time is unknown.", required=required), p)
        return {}
    try:
        cm = docs.parse_compose_manager(m.compose_manager, "compose_manager_attestation")
    except ParseError as e:
        run.add(failed(ids.COMPOSE_MANAGER, f"The compose-manager attestation cannot be read: {e}."), p)
        return {}
    run.add(passed(ids.COMPOSE_MANAGER, f"A compose-manager attestation with {len(cm.actions)} action(s) (nonce source {cm.nonce_source!r}): a second quote of this TD, checked below as compose_manager.*."), p)
    as_served, ordered = _actions_hash(cm.actions)
    try:
        quoted: bytes | None = parse_quote(docs._hex(cm.quote, "quote")).body.report_data
    except ParseError:
        quoted = None
    chosen, how = as_served, "as served"
    if quoted is not None and not hmac.compare_digest(quoted[:32], as_served) and hmac.compare_digest(quoted[:32], ordered):
        chosen, how = ordered, "with each action's members in compose-manager's order (the answer serves them sorted by name)"
    expected = chosen + nonce
    evidence = DstackEvidence("getquote", cm.quote, cm.event_log, _app_compose(m), cm.vm_config)
    second = _dstack(run, p + COMPOSE_MANAGER_PREFIX, cm.raw, policy=policy, at=at, expected=expected, fetcher=fetcher,
                     form_override=evidence, collateral=main.collateral)
    if quoted is not None and hmac.compare_digest(quoted[:32], chosen):
        run.add(passed(ids.COMPOSE_MANAGER_ACTIONS, f"REPORT_DATA[0:32] of the second quote is SHA-256 of the compact JSON of the {len(cm.actions)} actions {how}: the deployment log shown is the one quoted."), p)
    else:
        run.add(failed(ids.COMPOSE_MANAGER_ACTIONS, "REPORT_DATA[0:32] of the compose-manager quote is not SHA-256 of the compact JSON of the actions served: the deployment log was altered."), p)
    run.add(_same_td(main, second), p)
    deployed = [a for a in cm.actions if a.get("action") == "compose_up" and isinstance(a.get("file_sha256"), str)]
    last = deployed[-1] if deployed else None
    shown = {k: last.get(k) for k in ("file", "file_sha256", "tag", "commit", "timestamp", "services")} if last else None
    if last is None:
        run.add(failed(ids.MODEL_FILE, "The deployment log has no compose_up with a file hash: the model server deployed is unknown."), p)
    else:
        digest = str(last["file_sha256"])
        if rules.model_files is None:
            run.add(passed(ids.MODEL_FILE, f"The deployed model file is {last.get('file')!r} with SHA-256 {digest} (tag {last.get('tag')}, commit {last.get('commit')}); the policy pins none ([nearai] model_files).", required=False), p)
        elif any(hmac.compare_digest(bytes.fromhex(digest) if len(digest) == 64 else b"", f) for f in rules.model_files):
            run.add(passed(ids.MODEL_FILE, f"The deployed model file {last.get('file')!r} (SHA-256 {digest}) is one the policy names."), p)
        else:
            run.add(failed(ids.MODEL_FILE, f"The deployed model file {last.get('file')!r} (SHA-256 {digest[:16]}…) is not one of the policy's model_files."), p)
    return {"actions": len(cm.actions), "deployed_model_file": shown, "nonce_source": cm.nonce_source}


def _app_compose(m: docs.ModelAttestation) -> object:
    tcb = _tcb_info(m.info)
    return tcb.get("app_compose") if tcb is not None else None


def _same_td(main: DstackAppraisal, second: DstackAppraisal) -> Check:
    a = main.tdx.quote.body if main.tdx is not None and main.tdx.quote is not None else None
    b = second.tdx.quote.body if second.tdx is not None and second.tdx.quote is not None else None
    if a is None or b is None:
        return skipped(ids.COMPOSE_MANAGER_SAME_TD, "One of the two quotes was not read.")
    names = ("mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrconfigid")
    differ = [n for n in names if getattr(a, n) != getattr(b, n)]
    if differ:
        return failed(ids.COMPOSE_MANAGER_SAME_TD, f"The compose-manager quote is of another TD ({', '.join(differ)} differ).")
    return passed(ids.COMPOSE_MANAGER_SAME_TD, "Both quotes are of the same TD (MRTD, RTMR0-3 and MRCONFIGID equal).")


def _ohttp(m: docs.ModelAttestation) -> Check:
    o = m.ohttp_attestation
    if o is None:
        return skipped(ids.OHTTP_KEY, "The OHTTP key config is served unsigned (no ohttp_attestation): nothing binds it to the attested key, and it is not used.", required=False)
    try:
        Ed25519PublicKey.from_public_bytes(m.signing_address).verify(o.signature, o.key_config)
    except (ValueError, InvalidSignature):
        return failed(ids.OHTTP_KEY, "The OHTTP key config's Ed25519 signature does not verify with the attested signing key.")
    return passed(ids.OHTTP_KEY, f"The OHTTP key config ({len(o.key_config)} bytes) is signed (Ed25519) by the attested signing key. This client does not use it: NEAR AI's OHTTP endpoint is not known to it, so prompts go over TLS (nearai.e2ee).", required=False)
