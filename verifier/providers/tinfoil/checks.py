"""The Tinfoil provider's own check catalogue: every ``tinfoil.*`` id (and the shared
``service.url``), in the order docs/tinfoil.md ("The checks, in order") lists them.

A result also carries the CPU checks (``snp.*`` or ``tdx.*``, after ``tinfoil.nvswitch_hash``), the
GPU checks (``gpu.*``, after ``tinfoil.attestation_hash``; NVSwitches as ``nvswitch.N.*`` after
``tinfoil.nvswitch``) and the code release's Sigstore checks (``sigstore.*``, between
``tinfoil.release.attestation`` and ``tinfoil.release.tag``): those are the vendor and Sigstore
catalogues'. The hardware release's Sigstore checks are this catalogue's, ``tinfoil.hardware.`` +
the Sigstore id (:data:`HARDWARE_SIGSTORE`).

A v3 document's checks come in this order (those that apply: ``tinfoil.fetch`` only when the
endpoint does not answer 200, and then alone after ``service.url``; the ``tinfoil.hardware.*``
checks for TDX only). ``tinfoil.freshness`` and ``tinfoil.attestation_hash`` are a v2 document's,
whose order is docs/tinfoil.md's "The older v2 document" (it reads the enclave certificate, so
``tinfoil.certificate`` may fail before the CPU checks). ``tinfoil.internal`` comes last: a
verifier bug caught before it could crash the caller. With ``release_source = "demo"`` the
release part is ``tinfoil.repository`` and the native ``release.*`` checks.

A document in Tinfoil's current v3 layout (:mod:`verifier.providers.tinfoil.envelope`) has its own
subset, in the same catalogue order: ``tinfoil.layout`` (present for that layout, and alone, failing,
for a document that mixes the layouts or has neither's members), ``tinfoil.parse``,
``tinfoil.downgrade``, ``tinfoil.nonce``, ``tinfoil.crypto_material_hash``,
``tinfoil.device_evidence_hash``, ``tinfoil.report_data``, the CPU checks, ``tinfoil.tls_key``,
``tinfoil.hpke_key``, the GPU and NVSwitch checks, the code release (``tinfoil.repository`` ... with
the document's own Sigstore bundle), then ``tinfoil.freshness.code``,
``tinfoil.platform.endorsements``, ``tinfoil.freshness.platform``, ``tinfoil.machine``,
``tinfoil.platform.measurement`` (TDX only) and ``tinfoil.freshness.deadline``. It has no
``tinfoil.certificate``, ``tinfoil.signature`` (the layout has no envelope signature),
``tinfoil.gpu_hash``, ``tinfoil.nvswitch_hash`` (the device evidence section is hashed whole) nor
``tinfoil.hardware.*`` (the platform endorsements replace the hardware release); a June 2026
document has none of the current layout's ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.reference import sigstore_checks
from verifier.service_checks import SERVICE_URL

FETCH = "tinfoil.fetch"
LAYOUT = "tinfoil.layout"
PARSE = "tinfoil.parse"
DOWNGRADE = "tinfoil.downgrade"
FRESHNESS = "tinfoil.freshness"
NONCE = "tinfoil.nonce"
GPU_HASH = "tinfoil.gpu_hash"
NVSWITCH_HASH = "tinfoil.nvswitch_hash"
CRYPTO_MATERIAL_HASH = "tinfoil.crypto_material_hash"
DEVICE_EVIDENCE_HASH = "tinfoil.device_evidence_hash"
REPORT_DATA = "tinfoil.report_data"
CERTIFICATE = "tinfoil.certificate"
SIGNATURE = "tinfoil.signature"
TLS_KEY = "tinfoil.tls_key"
HPKE_KEY = "tinfoil.hpke_key"
ATTESTATION_HASH = "tinfoil.attestation_hash"
NVSWITCH = "tinfoil.nvswitch"
REPOSITORY = "tinfoil.repository"
RELEASE_LATEST = "tinfoil.release.latest"
RELEASE_DIGEST = "tinfoil.release.digest"
RELEASE_ATTESTATION = "tinfoil.release.attestation"
RELEASE_TAG = "tinfoil.release.tag"
RELEASE_PREDICATE = "tinfoil.release.predicate"
RELEASE_MEASUREMENT = "tinfoil.release.measurement"
HARDWARE_LATEST = "tinfoil.hardware.latest"
HARDWARE_DIGEST = "tinfoil.hardware.digest"
HARDWARE_ATTESTATION = "tinfoil.hardware.attestation"
HARDWARE_TAG = "tinfoil.hardware.tag"
HARDWARE_PREDICATE = "tinfoil.hardware.predicate"
HARDWARE_MEASUREMENT = "tinfoil.hardware.measurement"
FRESHNESS_CODE = "tinfoil.freshness.code"
PLATFORM_ENDORSEMENTS = "tinfoil.platform.endorsements"
FRESHNESS_PLATFORM = "tinfoil.freshness.platform"
MACHINE = "tinfoil.machine"
PLATFORM_MEASUREMENT = "tinfoil.platform.measurement"
FRESHNESS_DEADLINE = "tinfoil.freshness.deadline"
INTERNAL = "tinfoil.internal"

HARDWARE_SIGSTORE: tuple[str, ...] = tuple("tinfoil.hardware." + i for i in sigstore_checks.CATALOGUE)
"""The hardware release's Sigstore checks, in the Sigstore catalogue's order."""


@dataclass(frozen=True)
class ReleaseIds:
    """The ids of one release's checks (:func:`~verifier.providers.tinfoil.release.appraise_release_fetch`,
    then the measurement compared with its predicate), in emitted order."""

    latest: str
    digest: str
    attestation: str
    sigstore: tuple[str, ...]
    """The Sigstore checks' ids, one for each of :data:`verifier.reference.sigstore_checks.CATALOGUE`."""
    tag: str
    predicate: str
    measurement: str

    def sigstore_id(self, plain: str) -> str:
        """This release's id for the Sigstore check ``plain`` (``sigstore.digest``)."""
        return dict(zip(sigstore_checks.CATALOGUE, self.sigstore, strict=True))[plain]

    def ordered(self) -> tuple[str, ...]:
        return (self.latest, self.digest, self.attestation, *self.sigstore, self.tag, self.predicate,
                self.measurement)


CODE_RELEASE = ReleaseIds(RELEASE_LATEST, RELEASE_DIGEST, RELEASE_ATTESTATION, sigstore_checks.CATALOGUE,
                          RELEASE_TAG, RELEASE_PREDICATE, RELEASE_MEASUREMENT)
"""The code release (the repository the host runs): its Sigstore checks keep their own ids."""

HARDWARE_RELEASE = ReleaseIds(HARDWARE_LATEST, HARDWARE_DIGEST, HARDWARE_ATTESTATION, HARDWARE_SIGSTORE,
                              HARDWARE_TAG, HARDWARE_PREDICATE, HARDWARE_MEASUREMENT)
"""The hardware-measurements release (TDX only)."""

CATALOGUE: tuple[str, ...] = (
    SERVICE_URL, FETCH, LAYOUT, PARSE, DOWNGRADE, FRESHNESS, NONCE, GPU_HASH, NVSWITCH_HASH,
    CRYPTO_MATERIAL_HASH, DEVICE_EVIDENCE_HASH, REPORT_DATA, CERTIFICATE, SIGNATURE, TLS_KEY,
    HPKE_KEY, ATTESTATION_HASH, NVSWITCH, REPOSITORY, RELEASE_LATEST, RELEASE_DIGEST,
    RELEASE_ATTESTATION, RELEASE_TAG, RELEASE_PREDICATE, RELEASE_MEASUREMENT,
    *HARDWARE_RELEASE.ordered(), FRESHNESS_CODE, PLATFORM_ENDORSEMENTS, FRESHNESS_PLATFORM, MACHINE,
    PLATFORM_MEASUREMENT, FRESHNESS_DEADLINE, INTERNAL,
)
"""Every id of the Tinfoil provider's own checks, in documented order."""

AUTHENTICITY: tuple[str, ...] = (FETCH, LAYOUT, PARSE, CERTIFICATE, SIGNATURE, INTERNAL)
"""The ids that always decide ``authentic`` (``tinfoil.tls_key`` does too for a v2 document with
an enclave certificate; the Sigstore catalogue names its own)."""
