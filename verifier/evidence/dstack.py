"""dstack's attestation documents (JSON): where the TD quote, the event log, the app compose and
the VM configuration are, and what the app compose says.

The forms, told apart by their members, never by a file's name:

- ``getquote``: the guest agent's ``GetQuote`` answer, also dstack-verifier's request body
  (dstack's own fixtures ``quote-report.json``, ``tdx-lite-getquote.json``; NEAR AI's
  ``compose_manager_attestation``): ``quote`` (hex), ``event_log`` (a JSON string), ``vm_config``
  (a JSON string), ``report_data`` (hex);
- ``info``: a quote beside the guest agent's ``Info`` answer, as NEAR AI's and Venice's
  ``/attestation/report`` give it: ``intel_quote`` (hex), ``event_log`` (a list or a JSON string),
  ``info.tcb_info.app_compose`` (the app compose, a string; ``tcb_info`` is an object or a JSON
  string), ``info.vm_config`` (a JSON string);
- ``gateway``: NEAR AI cloud's answer, whose ``gateway_attestation`` is an ``info`` form (its
  ``model_attestations`` are other TDs, each an ``info`` form of its own, not read here).

dstack's binary ``attestation`` (SCALE or MessagePack, dstack-verifier's other request form) is not
read (:func:`find_evidence` says so). Members are handed on unread (:class:`DstackEvidence`); the
appraisal parses each and makes whatever is wrong a failing check.

The app compose (``app-compose.json``; dstack-types ``AppCompose`` and docs/security/cvm-boundaries.md)
is a JSON object whose exact bytes are hashed: ``compose-hash`` = SHA-256(bytes). Its images are
read from ``docker_compose_file`` line by line (no YAML library: :func:`compose_images`), and
``${VAR:-default}`` is resolved only for a variable the operator cannot set (not in
``allowed_envs``: only those reach the compose from the encrypted environment) and that no
pre-launch or init script names.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from verifier.errors import ParseError
from verifier.strict_json import load_strict_json

MAX_COMPOSE_BYTES = 1024 * 1024
MAX_VM_CONFIG_BYTES = 64 * 1024
MAX_QUOTE_HEX = 2 * 128 * 1024


# -- the document forms --------------------------------------------------------------------------
@dataclass(frozen=True)
class DstackEvidence:
    """One dstack attestation as its document carries it; members as decoded from JSON, unread."""

    form: str
    """``getquote``, ``info`` or ``gateway`` (module docstring)."""
    quote: object
    event_log: object
    app_compose: object = None
    vm_config: object = None
    report_data: object = None
    """What the document says REPORTDATA is (``getquote``): shown, never trusted."""
    notes: tuple[str, ...] = ()


def _info_members(info: object) -> tuple[object, object]:
    """(app compose, vm_config) of an ``info`` object, None where absent."""
    if not isinstance(info, dict):
        return None, None
    tcb = info.get("tcb_info")
    if isinstance(tcb, str):
        tcb = load_strict_json(tcb.encode(), "info.tcb_info")
    compose = tcb.get("app_compose") if isinstance(tcb, dict) else None
    return compose, info.get("vm_config")


def find_evidence(doc: object) -> DstackEvidence | None:
    """The dstack attestation a decoded JSON document holds, or None when it is none of the forms.

    Raises :class:`ParseError` for dstack's binary ``attestation`` form, which is recognised but
    not read.
    """
    if not isinstance(doc, dict):
        return None
    if "attestation" in doc and "quote" not in doc:
        raise ParseError("is dstack's binary attestation (SCALE or MessagePack), which this verifier does not "
                         "read; give the GetQuote form (quote, event_log, vm_config)", field="attestation")
    if "quote" in doc and "event_log" in doc:
        return DstackEvidence("getquote", doc["quote"], doc["event_log"], None, doc.get("vm_config"),
                              doc.get("report_data"))
    if "intel_quote" in doc and "event_log" in doc:
        compose, vm_config = _info_members(doc.get("info"))
        return DstackEvidence("info", doc["intel_quote"], doc["event_log"], compose, vm_config)
    gateway = doc.get("gateway_attestation")
    if isinstance(gateway, dict) and "intel_quote" in gateway and "event_log" in gateway:
        compose, vm_config = _info_members(gateway.get("info"))
        models = doc.get("model_attestations")
        count = len(models) if isinstance(models, list) else 0
        return DstackEvidence("gateway", gateway["intel_quote"], gateway["event_log"], compose, vm_config,
                              notes=(f"the gateway's attestation; the {count} model attestation(s) beside it "
                                     "are other TDs, not appraised here",))
    return None


def looks_like_compose(doc: object) -> bool:
    """A decoded JSON object that is an app compose rather than an attestation document."""
    return isinstance(doc, dict) and "runner" in doc and ("docker_compose_file" in doc or "manifest_version" in doc)


def quote_bytes(value: object) -> bytes:
    """The TD quote from its document member (hex, as every form carries it)."""
    if not isinstance(value, str) or len(value) > MAX_QUOTE_HEX or re.fullmatch(r"(?:[0-9a-fA-F]{2})+", value) is None:
        raise ParseError("is not a hex TD quote (at most 128 KiB)", field="quote")
    return bytes.fromhex(value)


def text_bytes(value: object, field: str, limit: int) -> bytes:
    """A member that is a JSON document in a string (``vm_config``, ``app_compose``): its UTF-8
    bytes, exactly as hashed."""
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, bytes):
        raise ParseError("is not a string", field=field)
    if len(value) > limit:
        raise ParseError(f"is larger than {limit} bytes", field=field)
    return value


# -- vm_config -------------------------------------------------------------------------------------
def parse_vm_config(value: object) -> dict[str, object]:
    """The VM configuration the host reports (``vm_config``, a JSON object in a string; or the
    object). Unauthenticated: the host writes it (RTMR0 measures the virtual hardware itself)."""
    if not isinstance(value, dict):
        value = load_strict_json(text_bytes(value, "vm_config", MAX_VM_CONFIG_BYTES), "vm_config")
    if not isinstance(value, dict):
        raise ParseError("is not a JSON object", field="vm_config")
    return value


# -- the app compose -------------------------------------------------------------------------------
_BOOLS = ("kms_enabled", "gateway_enabled", "tproxy_enabled", "local_key_provider_enabled", "public_logs",
          "public_sysinfo", "public_tcbinfo", "no_instance_id", "secure_time")
_STRINGS = ("name", "runner", "docker_compose_file", "pre_launch_script", "key_provider", "key_provider_id",
            "storage_fs", "bash_script")
KNOWN_KEYS = frozenset({"manifest_version", "features", "snapshotter", "init_script", "allowed_envs", "swap_size",
                        "event_log_version", "port_policy", "requirements", "verity_volumes", "docker_config",
                        *_BOOLS, *_STRINGS})
"""dstack-types ``AppCompose``'s members, and the older ones (``pre_launch_script``,
``docker_config``, ``tproxy_enabled``, ``bash_script``); others are shown as unknown."""


@dataclass(frozen=True)
class AppCompose:
    raw: bytes
    doc: dict[str, object]
    init_scripts: tuple[str, ...] = ()
    allowed_envs: tuple[str, ...] = ()
    unknown_keys: tuple[str, ...] = ()

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(self.raw).digest()

    def text(self, key: str) -> str | None:
        value = self.doc.get(key)
        return value if isinstance(value, str) else None

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.doc.get(key, default)
        return value if isinstance(value, bool) else default


def parse_app_compose(raw: bytes) -> AppCompose:
    """Read an app compose's members (their types as dstack reads them); the bytes stay as given."""
    doc = load_strict_json(raw, "app_compose")
    if not isinstance(doc, dict):
        raise ParseError("is not a JSON object", field="app_compose")
    for key in _BOOLS:
        if key in doc and not isinstance(doc[key], bool):
            raise ParseError("must be true or false", field=f"app_compose.{key}")
    for key in _STRINGS:
        if key in doc and doc[key] is not None and not isinstance(doc[key], str):
            raise ParseError("must be a string", field=f"app_compose.{key}")
    if not isinstance(doc.get("runner"), str):
        raise ParseError("lacks its runner", field="app_compose")
    envs = doc.get("allowed_envs", [])
    if not isinstance(envs, list) or not all(isinstance(e, str) for e in envs):
        raise ParseError("must be a list of strings", field="app_compose.allowed_envs")
    scripts = doc.get("init_script", [])
    scripts = [scripts] if isinstance(scripts, str) else scripts
    if not isinstance(scripts, list) or not all(isinstance(s, str) for s in scripts):
        raise ParseError("must be a string or a list of strings", field="app_compose.init_script")
    return AppCompose(raw, doc, tuple(scripts), tuple(envs), tuple(sorted(set(doc) - KNOWN_KEYS)))


# -- the images of docker_compose_file -------------------------------------------------------------
@dataclass(frozen=True)
class ImageRef:
    """One ``image:`` of the compose: as written, and what it resolves to (None: it does not
    resolve here, ``why`` says why)."""

    service_line: int
    written: str
    resolved: str | None
    variables: tuple[str, ...] = ()
    operator_set: tuple[str, ...] = ()
    """Variables the operator can set (in ``allowed_envs``) or a script names: the image is theirs to choose."""
    why: str | None = None

    @property
    def pinned(self) -> bool:
        """Resolved to a reference by digest (``@sha256:...``): the registry cannot swap it."""
        return self.resolved is not None and re.search(r"@sha256:[0-9a-f]{64}\Z", self.resolved) is not None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"line": self.service_line, "written": self.written, "resolved": self.resolved,
                                  "pinned": self.pinned}
        if self.variables:
            out["variables"] = list(self.variables)
        if self.operator_set:
            out["operator_set"] = list(self.operator_set)
        if self.why:
            out["why"] = self.why
        return out


@dataclass(frozen=True)
class ComposeImages:
    images: tuple[ImageRef, ...]
    unread: tuple[int, ...] = field(default=())
    """Lines naming ``image`` in a form the line reader does not read (flow style, anchors, block
    scalars), or getting a service from elsewhere (``build``, ``include``, ``extends``, ``<<``): the
    list of images may then be incomplete."""


_IMAGE_LINE = re.compile(r"^(?P<indent>[ ]*)(?:-[ ]+)?image[ ]*:(?:[ ]+(?P<value>.*?))?[ ]*$")
_OTHER_SOURCES = re.compile(r"^[ ]*(?:-[ ]+)?(?:build|include|extends|<<)[ ]*:")
"""Keys through which a service gets an image or a definition from elsewhere (a build context, another
compose file, a YAML merge): listed as not read."""
_BLOCK_START = re.compile(r":[ ]*[|>][-+0-9]*[ ]*(?:#.*)?$")
_VAR = re.compile(r"\$(?:\$|\{(?P<braced>[^}]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?", re.S)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _scalar(value: str) -> str | None:
    """A plain or quoted one-line YAML scalar, or None when it is another form."""
    if value[:1] in ('"', "'"):
        q = value[0]
        end = value.find(q, 1)
        rest = value[end + 1:].strip() if end > 0 else "x"
        if rest and not rest.startswith("#"):
            return None  # unterminated, or '' / other text after the closing quote
        inner = value[1:end]
        return None if (q == '"' and "\\" in inner) else inner  # escapes are not read
    value = re.sub(r"[ ]+#.*$", "", value).strip()
    if not value or value[0] in "|>&*!{[%@`":
        return None
    return value


def _resolve(written: str, operator: set[str], scripts: str) -> tuple[str | None, tuple[str, ...], tuple[str, ...], str | None]:
    """(resolved, variables, operator-set variables, why) for one image reference, as docker
    compose interpolates it with no variable set but those the operator may set."""
    names: list[str] = []
    chosen: list[str] = []
    why: str | None = None
    out: list[str] = []
    pos = 0
    for m in _VAR.finditer(written):
        out.append(written[pos:m.start()])
        pos = m.end()
        if m.group(0) == "$$":
            out.append("$")
            continue
        expr = m.group("bare") or m.group("braced") or ""
        b = _BRACED.fullmatch(expr)
        if b is None or "$" in (b.group("arg") or ""):
            return None, tuple(names), tuple(chosen), "an interpolation this reader does not resolve"
        name, op, arg = b.group("name"), b.group("op"), b.group("arg") or ""
        names.append(name)
        if name in operator or re.search(rf"\b{re.escape(name)}\b", scripts):
            chosen.append(name)
            continue
        if op in (":-", "-"):
            out.append(arg)
        elif op in (":?", "?"):
            why = f"${{{name}}} is unset, so docker compose refuses to start"
        # unset without a default (or with :+ / +): the empty string
    out.append(written[pos:])
    if chosen:
        return None, tuple(names), tuple(chosen), ("set by the operator (allowed_envs) or a script: "
                                                   + ", ".join(chosen))
    if why:
        return None, tuple(names), (), why
    return "".join(out), tuple(names), (), None


def compose_images(compose: AppCompose) -> ComposeImages:
    """The ``image:`` references of ``docker_compose_file``, resolved where the operator has no say.

    A line reader: block-style ``image: VALUE`` (plain or quoted) is read; text inside block
    scalars (``content: |``) is skipped; any other line naming ``image``, and every ``build``,
    ``include``, ``extends`` or ``<<`` key, is listed in ``unread``.
    """
    text = compose.text("docker_compose_file") or ""
    operator = set(compose.allowed_envs)
    scripts = "\n".join([compose.text("pre_launch_script") or "", *compose.init_scripts])
    images: list[ImageRef] = []
    unread: list[int] = []
    block_indent: int | None = None
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if block_indent is not None:
            if not stripped or indent > block_indent:
                continue
            block_indent = None
        if not stripped or stripped.startswith("#"):
            continue
        m = _IMAGE_LINE.match(line)
        if m is not None:
            value = _scalar(m.group("value") or "")
            if value is None:
                unread.append(n)
            else:
                resolved, names, chosen, why = _resolve(value, operator, scripts)
                images.append(ImageRef(n, value, resolved, names, chosen, why))
        elif _OTHER_SOURCES.match(line) or re.search(r"\bimage\b", line.split(" #", 1)[0]):
            unread.append(n)
        if _BLOCK_START.search(line):
            block_indent = indent
    return ComposeImages(tuple(images), tuple(unread))
