"""What binds the event log and the app compose to the TD quote, and the policy's reference values.

``dstack.event_log`` (the log parses; runtime events only in RTMR3; a ``system-ready`` event ends
the OS's own), ``dstack.rtmr0``..``dstack.rtmr3`` (the replay of the recorded digests equals the
quote's register), ``dstack.event.payload`` (every runtime event's recorded digest is the one its
name and payload give), ``dstack.mrconfigid`` (MRCONFIGID = 0x01 || the ``compose-hash`` event's
payload || 15 zero bytes), ``dstack.compose`` (SHA-256 of the app compose is that compose hash),
``dstack.compose.content``, ``dstack.compose.allowed`` and ``dstack.os_image``.
"""

from __future__ import annotations

import hashlib
import hmac

from verifier.appraisal.checks import expect_one_of
from verifier.appraisal.dstack import checks as ids
from verifier.appraisal.dstack.checks import Run
from verifier.errors import ParseError
from verifier.evidence.dstack import (
    MAX_COMPOSE_BYTES,
    AppCompose,
    compose_images,
    parse_app_compose,
    text_bytes,
)
from verifier.evidence.dstack_eventlog import (
    DIGEST_SIZE,
    RUNTIME_EVENT_TYPE,
    SYSTEM_READY,
    EventLog,
    parse_event_log,
)
from verifier.evidence.tdx import TdReport
from verifier.result import failed, passed, skipped
from verifier.text import one_line

MRCONFIGID_V1 = 1
COMPOSE_HASH_EVENT = "compose-hash"


def _same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def event_log(run: Run, value: object) -> EventLog | None:
    cid = ids.EVENT_LOG
    try:
        log = parse_event_log(value)
    except ParseError as e:
        run.add(failed(cid, f"The event log does not parse: {one_line(str(e), 300)}.", reason="format"))
        return None
    misplaced = next((e for e in log.runtime if e.imr != 3), None)
    if misplaced is not None:
        run.add(failed(cid, f"Event {misplaced.index} ({one_line(misplaced.name, 80)!r}) is a dstack runtime event "
                            f"(type {RUNTIME_EVENT_TYPE:#x}) in RTMR{misplaced.imr}: dstack extends them into "
                            "RTMR3 only.", reason="runtime_imr"))
        return None
    if not log.has_system_ready:
        run.add(failed(cid, f"No {SYSTEM_READY!r} runtime event: the dstack OS's boot events (app-id, "
                            "compose-hash, key-provider, ...) cannot be told from events the application "
                            "extended later.", reason="no_system_ready"))
        return None
    counts = [len(log.register(i)) for i in range(4)]
    run.add(passed(cid, f"{len(log.events)} events (RTMR0-3: {', '.join(map(str, counts))}); "
                        f"{len(log.system_events)} dstack OS runtime event(s) before {SYSTEM_READY!r}, "
                        f"{len(log.runtime) - len(log.system_events) - 1} after it."))
    return log


def rtmrs(run: Run, log: EventLog | None, body: TdReport | None) -> None:
    """``dstack.rtmrN``: replaying the recorded digests (a stripped runtime event's recomputed)."""
    replayed = log.replay() if log is not None else None
    quoted = (body.rtmr0, body.rtmr1, body.rtmr2, body.rtmr3) if body is not None else None
    for i, cid in enumerate(ids.RTMRS):
        if replayed is None or quoted is None:
            run.add(skipped(cid, f"No {'event log' if replayed is None else 'TD quote'} to replay RTMR{i} against."))
            continue
        assert log is not None
        n = len(log.register(i))
        if _same(replayed[i], quoted[i]):
            run.add(passed(cid, f"Replaying the {n} RTMR{i} event(s) gives the quote's RTMR{i} {quoted[i].hex()}."))
        else:
            run.add(failed(cid, f"Replaying the {n} RTMR{i} event(s) gives {replayed[i].hex()}, but the quote's "
                                f"RTMR{i} is {quoted[i].hex()}: the event log is not the one this TD measured."))


def payloads(run: Run, log: EventLog | None) -> None:
    """``dstack.event.payload``: each runtime event's digest is its name and payload's."""
    cid = ids.EVENT_PAYLOAD
    if log is None:
        run.add(skipped(cid, "No event log whose runtime events could be checked."))
        return
    runtime = log.runtime
    if not runtime:
        run.add(skipped(cid, "The event log holds no dstack runtime events.", required=False))
        return
    for e in runtime:
        what = f"Runtime event {e.index} ({one_line(e.name, 80)!r}, RTMR{e.imr}, digest version {e.version})"
        if e.digest and not _same(e.digest, e.recomputed_digest()):
            run.add(failed(cid, f"{what} records digest {e.digest.hex()}, but its name and payload give "
                                f"{e.recomputed_digest().hex()}: the payload shown is not the one measured.",
                           reason="digest"))
            return
        if e.preimage is not None and not _same(e.preimage, e.runtime_preimage()):
            run.add(failed(cid, f"{what} carries a preimage that is not its canonical name and payload.",
                           reason="preimage"))
            return
    stripped = sum(1 for e in runtime if not e.digest)
    run.add(passed(cid, f"All {len(runtime)} runtime events' digests are SHA-384 of their name and payload"
                        + (f" ({stripped} stripped, recomputed)." if stripped else ".")))


def _event_compose_hash(log: EventLog | None) -> bytes | None:
    return log.system_payload(COMPOSE_HASH_EVENT) if log is not None else None


def mrconfigid(run: Run, log: EventLog | None, body: TdReport | None) -> bytes | None:
    """``dstack.mrconfigid``; returns the compose hash MRCONFIGID binds (version 1), else None."""
    cid = ids.MRCONFIGID
    if body is None:
        run.add(skipped(cid, "No TD quote whose MRCONFIGID could be read."))
        return None
    mc = body.mrconfigid
    if mc == bytes(DIGEST_SIZE):
        if run.pol.allow_unset_mrconfigid:
            run.add(passed(cid, "MRCONFIGID is zero (unset): the compose is bound through RTMR3's compose-hash "
                                "event only; the policy allows it (allow_unset_mrconfigid)."))
        else:
            run.add(failed(cid, "MRCONFIGID is zero (unset): nothing fixed at launch names the app compose; "
                                "set [dstack] allow_unset_mrconfigid = true to rely on RTMR3's compose-hash "
                                "event alone.", reason="unset"))
        return None
    if mc[0] != MRCONFIGID_V1:
        run.add(failed(cid, f"MRCONFIGID is of version {mc[0]} ({mc.hex()}); this verifier reads version 1 "
                            "(0x01 || SHA-256 of the app compose || zero bytes) only.", reason="version"))
        return None
    bound = mc[1:33]
    if mc[33:] != bytes(DIGEST_SIZE - 33):
        run.add(failed(cid, f"MRCONFIGID {mc.hex()} is of version 1 but its last 15 bytes are not zero.",
                       reason="format"))
        return None
    event = _event_compose_hash(log)
    if log is None:
        run.add(skipped(cid, f"MRCONFIGID binds compose hash {bound.hex()}; no event log to compare it with."))
    elif event is None:
        run.add(failed(cid, f"MRCONFIGID binds compose hash {bound.hex()}, but the event log has no "
                            f"{COMPOSE_HASH_EVENT!r} event before {SYSTEM_READY!r}.", reason="no_event"))
    elif _same(event, bound):
        run.add(passed(cid, f"MRCONFIGID is 0x01 || compose hash {bound.hex()} || zeros, the compose-hash "
                            "RTMR3 event's payload."))
    else:
        run.add(failed(cid, f"MRCONFIGID binds compose hash {bound.hex()}, but RTMR3's compose-hash event says "
                            f"{event.hex()}: the TD was launched for another app compose.", reason="compose_hash"))
    return bound


def compose(run: Run, value: object, log: EventLog | None, mrconfig_hash: bytes | None) -> bytes | None:
    """``dstack.compose``: SHA-256(app compose) is every compose hash the evidence binds; returns the
    compose's bytes when they are bound."""
    cid = ids.COMPOSE
    if value is None:
        run.add(skipped(cid, "The evidence carries no app compose: what runs is known by its hash only"
                             + (" (the policy pins compose hashes)." if run.pol.compose_hashes is not None else
                                "; give the app compose (a second FILE) or pin [dstack] compose_hashes."),
                        required=run.pol.compose_hashes is None))
        return None
    try:
        raw = text_bytes(value, "app_compose", MAX_COMPOSE_BYTES)
    except ParseError as e:
        run.add(failed(cid, f"The {e}.", reason="format"))
        return None
    digest = hashlib.sha256(raw).digest()
    event = _event_compose_hash(log)
    bindings = [(n, v) for n, v in (("RTMR3's compose-hash event", event), ("MRCONFIGID", mrconfig_hash))
                if v is not None]
    if not bindings:
        run.add(skipped(cid, f"The app compose hashes to {digest.hex()}, but nothing in the evidence binds a "
                             "compose hash to compare it with."))
        return None
    wrong = [(n, v) for n, v in bindings if not _same(v, digest)]
    if wrong:
        name, v = wrong[0]
        run.add(failed(cid, f"SHA-256 of the app compose is {digest.hex()}, but {name} binds {v.hex()}: this is "
                            "not the compose the TD runs.",
                       reason="event" if name.startswith("RTMR3") else "mrconfigid"))
        return None
    run.add(passed(cid, f"SHA-256 of the app compose ({len(raw)} bytes) is {digest.hex()}, the compose hash "
                        + " and ".join(n for n, _ in bindings) + " bind."))
    return raw


def compose_content(run: Run, raw: bytes | None, given: bool) -> AppCompose | None:
    cid = ids.COMPOSE_CONTENT
    if raw is None:
        run.add(skipped(cid, "No bound app compose to read." if given else "No app compose to read.",
                        required=False))
        return None
    try:
        app = parse_app_compose(raw)
    except ParseError as e:
        run.add(failed(cid, f"The app compose does not read as dstack's app-compose.json: {one_line(str(e), 300)}."))
        return None
    images = compose_images(app)
    chosen = [i for i in images.images if i.operator_set]
    unpinned = [i for i in images.images if i.resolved is not None and not i.pinned]
    parts = [f"runner {one_line(app.text('runner') or '', 40)!r}", f"{len(images.images)} image(s)"]
    if chosen:
        parts.append(f"{len(chosen)} chosen by the operator at launch ({', '.join(sorted({v for i in chosen for v in i.operator_set}))})")
    if unpinned:
        parts.append(f"{len(unpinned)} not pinned by digest")
    if images.unread:
        parts.append(f"lines {', '.join(map(str, images.unread[:5]))} name an image in a form not read here")
    if app.text("pre_launch_script"):
        parts.append("a pre_launch_script (shown in the claims)")
    run.add(passed(cid, "The app compose reads: " + "; ".join(parts) + "."))
    return app


def compose_allowed(run: Run, raw: bytes | None, log: EventLog | None, mrconfig_hash: bytes | None) -> None:
    value = hashlib.sha256(raw).digest() if raw is not None else (_event_compose_hash(log) or mrconfig_hash)
    run.add(expect_one_of(ids.COMPOSE_ALLOWED, "compose hash", value, run.pol.compose_hashes, show=bytes.hex,
                          unset="the policy pins no compose hash ([dstack] compose_hashes); any app compose is "
                                "accepted, and shown"))


def os_image(run: Run, body: TdReport | None, claims: dict[str, object]) -> None:
    """``dstack.os_image``: MRTD, RTMR1 and RTMR2 are one named image's, RTMR0 one of its VM
    configurations'."""
    cid = ids.OS_IMAGE
    images = run.pol.os_images
    if images is None:
        run.add(skipped(cid, "The policy names no dstack OS image ([dstack.os_images]); any image is accepted.",
                        required=False))
        return
    if body is None:
        run.add(skipped(cid, "No TD quote whose measurements could be compared with the OS images."))
        return
    found = [im for im in images if _same(im.mrtd, body.mrtd) and _same(im.rtmr1, body.rtmr1)
             and _same(im.rtmr2, body.rtmr2)]
    if not found:
        run.add(failed(cid, f"MRTD {body.mrtd.hex()[:16]}..., RTMR1 {body.rtmr1.hex()[:16]}..., RTMR2 "
                            f"{body.rtmr2.hex()[:16]}... are none of the {len(images)} OS image(s) the policy names "
                            f"({', '.join(one_line(i.name, 60) for i in images)}).", reason="image"))
        return
    for im in found:
        vm = next((name for name, value in im.rtmr0 if _same(value, body.rtmr0)), None)
        if vm is not None:
            claims["os_image"] = {"name": im.name, "vm_configuration": vm}
            run.add(passed(cid, f"OS image {one_line(im.name, 60)!r} in VM configuration {one_line(vm, 60)!r} "
                                "(MRTD, RTMR0-2 as the policy names them)."))
            return
    names = ", ".join(repr(one_line(im.name, 60)) for im in found)
    run.add(failed(cid, f"MRTD, RTMR1 and RTMR2 are those of OS image {names}, but RTMR0 {body.rtmr0.hex()} is "
                        "none of its VM configurations': the virtual hardware (CPUs, memory, GPUs) is not one the "
                        "policy names.", reason="vm_config"))
