"""What a dstack attestation says, JSON-able; never a verdict.

From the event log (bound by the RTMR replay): the dstack OS's runtime events (``app-id``,
``instance-id``, ``compose-hash``, ``os-image-hash``, ``key-provider``, ...) and the application's
(after ``system-ready``). From the bound app compose: its settings, ``allowed_envs`` (the variables
the operator sets at launch), ``pre_launch_script`` and ``init_script`` in full, and its images.
From the host, unauthenticated: ``vm_config``.
"""

from __future__ import annotations

from verifier.errors import ParseError
from verifier.evidence.dstack import AppCompose, DstackEvidence, compose_images, parse_vm_config
from verifier.evidence.dstack_eventlog import EventLog, payload_text
from verifier.strict_json import load_strict_json
from verifier.text import one_line

_HEX_EVENTS = {"app-id": "app_id", "instance-id": "instance_id", "compose-hash": "compose_hash",
               "os-image-hash": "os_image_hash", "mr-kms": "mr_kms"}
_COMPOSE_SETTINGS = ("manifest_version", "name", "runner", "kms_enabled", "gateway_enabled", "tproxy_enabled",
                     "local_key_provider_enabled", "key_provider", "key_provider_id", "public_logs",
                     "public_sysinfo", "public_tcbinfo", "no_instance_id", "secure_time", "storage_fs", "swap_size")


def _event_row(name: str, payload: bytes) -> dict[str, object]:
    row: dict[str, object] = {"name": name, "payload": payload.hex()}
    text = payload_text(payload)
    if text is not None and payload:
        row["text"] = text
    return row


def key_provider(payload: bytes) -> dict[str, object]:
    """The ``key-provider`` event's payload: dstack's ``{"name": ..., "id": ...}`` (``kms`` with
    the KMS root key, ``local-sgx``, ``none``, ``tpm``), or the raw bytes."""
    try:
        doc = load_strict_json(payload, "key-provider", max_depth=2)
    except ParseError:
        return {"raw": payload.hex()}
    if isinstance(doc, dict) and isinstance(doc.get("name"), str) and isinstance(doc.get("id"), str) and len(doc) == 2:
        return {"name": doc["name"], "id": doc["id"]}
    return {"raw": payload.hex()}


def event_claims(log: EventLog) -> dict[str, object]:
    out: dict[str, object] = {}
    for e in log.system_events:
        key = _HEX_EVENTS.get(e.name)
        if key is not None and key not in out:
            out[key] = e.payload.hex()
    kp = log.system_payload("key-provider")
    if kp is not None:
        out["key_provider"] = key_provider(kp)
    sf = log.system_payload("storage-fs")
    if sf is not None:
        out["storage_fs"] = payload_text(sf) or sf.hex()
    runtime = log.runtime
    ready = len(log.system_events)
    out["event_log"] = {
        "events": len(log.events),
        "per_register": [len(log.register(i)) for i in range(4)],
        "os_events": [_event_row(e.name, e.payload) for e in runtime[:ready + 1]],
        "app_events": [_event_row(e.name, e.payload) for e in runtime[ready + 1:]],
    }
    return out


def compose_claims(app: AppCompose) -> dict[str, object]:
    images = compose_images(app)
    out: dict[str, object] = {k: app.doc[k] for k in _COMPOSE_SETTINGS if k in app.doc}
    out["allowed_envs"] = list(app.allowed_envs)
    out["pre_launch_script"] = app.text("pre_launch_script")
    out["init_script"] = list(app.init_scripts)
    out["images"] = [i.to_json() for i in images.images]
    out["operator_chosen_images"] = sum(1 for i in images.images if i.operator_set)
    if images.unread:
        out["image_lines_not_read"] = list(images.unread)
    if app.unknown_keys:
        out["unknown_keys"] = [one_line(k, 80) for k in app.unknown_keys]
    out["docker_compose_file"] = app.text("docker_compose_file")
    return out


def document_claims(evidence: DstackEvidence) -> dict[str, object]:
    out: dict[str, object] = {"form": evidence.form}
    if evidence.notes:
        out["notes"] = list(evidence.notes)
    if isinstance(evidence.report_data, str):
        out["document_report_data"] = one_line(evidence.report_data, 130)
    if evidence.vm_config is not None:
        try:
            out["vm_config"] = parse_vm_config(evidence.vm_config)
        except ParseError as e:
            out["vm_config"] = {"error": one_line(str(e), 200)}
        out["vm_config_source"] = "the host (unauthenticated; RTMR0 measures the virtual hardware itself)"
    return out
