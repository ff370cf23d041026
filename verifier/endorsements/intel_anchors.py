"""Intel SGX/TDX trust anchor and the names of Intel's PKI, in one place.

Only the pin is trusted: the root certificate itself arrives inside each quote's PCK chain and in
each PCS issuer-chain header, and it is accepted when the SHA-256 of its DER SubjectPublicKeyInfo
equals :data:`INTEL_SGX_ROOT_CA_SPKI_SHA256` (or a pin a test policy names, ``[tdx] roots``).
"""

from __future__ import annotations

INTEL_SGX_ROOT_CA_SPKI_SHA256 = "a0af031289f5d5d4132f9186068a7fc13628633ba235777472e29b6b6c67a49e"
"""Intel SGX Root CA (ECDSA P-256, valid 2018-05-21..2049-12-31, serial 0x22650cd6...).

Source: https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.pem;
the same certificate is go-tdx-guest's ``verify/trusted_root.pem`` (SHA-256 of the whole DER
44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3).
"""

INTEL_ROOT_PINS: tuple[str, ...] = (INTEL_SGX_ROOT_CA_SPKI_SHA256,)

# Subject common names (Intel SGX PCK Certificate and Certificate Revocation List Profile §1.2-1.4)
ROOT_CA_CN = "Intel SGX Root CA"
PCK_PLATFORM_CA_CN = "Intel SGX PCK Platform CA"
PCK_PROCESSOR_CA_CN = "Intel SGX PCK Processor CA"
PCK_LEAF_CN = "Intel SGX PCK Certificate"
TCB_SIGNING_CN = "Intel SGX TCB Signing"

PCK_CA_BY_CN = {PCK_PLATFORM_CA_CN: "platform", PCK_PROCESSOR_CA_CN: "processor"}
"""The PCS ``ca`` parameter that names each intermediate (PCS API v4, "Get PCK Cert CRL")."""

# OIDs of the SGX extension (PCK Certificate and CRL Profile §1.3.5, "Intel SGX Extensions")
SGX_EXTENSION_OID = "1.2.840.113741.1.13.1"
OID_PPID = SGX_EXTENSION_OID + ".1"
OID_TCB = SGX_EXTENSION_OID + ".2"
OID_PCESVN = OID_TCB + ".17"
OID_CPUSVN = OID_TCB + ".18"
OID_PCE_ID = SGX_EXTENSION_OID + ".3"
OID_FMSPC = SGX_EXTENSION_OID + ".4"
OID_SGX_TYPE = SGX_EXTENSION_OID + ".5"
OID_PLATFORM_INSTANCE_ID = SGX_EXTENSION_OID + ".6"
OID_CONFIGURATION = SGX_EXTENSION_OID + ".7"
OID_DYNAMIC_PLATFORM = OID_CONFIGURATION + ".1"
OID_CACHED_KEYS = OID_CONFIGURATION + ".2"
OID_SMT_ENABLED = OID_CONFIGURATION + ".3"

SGX_TYPES = {0: "Standard", 1: "Scalable", 2: "ScalableWithIntegrity"}
