"""The SEV-SNP check catalogue: every check id, in the order docs/sev-snp.md lists them.

An appraisal emits them in this order (those that apply: ``snp.hcl.runtime_data`` only for Azure
HCL reports; only ``snp.parse`` when the report does not parse). ``snp.internal`` comes last: it
stands alone, for a verifier bug caught before it could crash the caller.
"""

from __future__ import annotations

PARSE = "snp.parse"
CHAIN_CERTIFICATES = "snp.chain.certificates"
CHAIN_ARK_PINNED = "snp.chain.ark_pinned"
CHAIN_ASK = "snp.chain.ask"
CHAIN_VCEK = "snp.chain.vcek"
CHAIN_VALIDITY = "snp.chain.validity"
VCEK_EXTENSIONS = "snp.vcek.extensions"
REPORT_SIGNATURE = "snp.report.signature"
REVOCATION = "snp.revocation"
HCL_RUNTIME_DATA = "snp.hcl.runtime_data"
PRODUCT = "snp.product"
SIGNING_KEY = "snp.signing_key"
POLICY_DEBUG = "snp.policy.debug"
POLICY_MIGRATE_MA = "snp.policy.migrate_ma"
POLICY_SMT = "snp.policy.smt"
POLICY_SINGLE_SOCKET = "snp.policy.single_socket"
POLICY_CXL = "snp.policy.cxl"
POLICY_AES_256_XTS = "snp.policy.aes_256_xts"
POLICY_PAGE_SWAP = "snp.policy.page_swap"
POLICY_ABI = "snp.policy.abi"
VMPL = "snp.vmpl"
GUEST_SVN = "snp.guest_svn"
PLATFORM_ALIAS_CHECK = "snp.platform.alias_check"
PLATFORM_SMT = "snp.platform.smt"
PLATFORM_TSME = "snp.platform.tsme"
PLATFORM_FEATURES = "snp.platform.features"
PLATFORM_RESERVED = "snp.platform.reserved"
TCB_COMMITTED = "snp.tcb.committed"
TCB_REPORTED = "snp.tcb.reported"
TCB_MINIMUM = "snp.tcb.minimum"
FIRMWARE = "snp.firmware"
MITIGATION_LAUNCH = "snp.mitigation.launch"
MITIGATION_CURRENT = "snp.mitigation.current"
MEASUREMENT = "snp.measurement"
HOST_DATA = "snp.host_data"
FAMILY_ID = "snp.family_id"
IMAGE_ID = "snp.image_id"
REPORT_ID = "snp.report_id"
ID_KEY = "snp.id_key"
AUTHOR_KEY = "snp.author_key"
ID_BLOCK = "snp.id_block"
REPORT_DATA = "snp.report_data"
INTERNAL = "snp.internal"

CATALOGUE: tuple[str, ...] = (
    PARSE, CHAIN_CERTIFICATES, CHAIN_ARK_PINNED, CHAIN_ASK, CHAIN_VCEK, CHAIN_VALIDITY,
    VCEK_EXTENSIONS, REPORT_SIGNATURE, REVOCATION, HCL_RUNTIME_DATA, PRODUCT, SIGNING_KEY,
    POLICY_DEBUG, POLICY_MIGRATE_MA, POLICY_SMT, POLICY_SINGLE_SOCKET, POLICY_CXL,
    POLICY_AES_256_XTS, POLICY_PAGE_SWAP, POLICY_ABI, VMPL, GUEST_SVN, PLATFORM_ALIAS_CHECK,
    PLATFORM_SMT, PLATFORM_TSME, PLATFORM_FEATURES, PLATFORM_RESERVED, TCB_COMMITTED, TCB_REPORTED,
    TCB_MINIMUM, FIRMWARE, MITIGATION_LAUNCH, MITIGATION_CURRENT, MEASUREMENT, HOST_DATA, FAMILY_ID,
    IMAGE_ID, REPORT_ID, ID_KEY, AUTHOR_KEY, ID_BLOCK, REPORT_DATA, INTERNAL,
)
"""Every id an SEV-SNP appraisal can emit, in documented order."""

AUTHENTICITY: tuple[str, ...] = (
    PARSE, CHAIN_CERTIFICATES, CHAIN_ARK_PINNED, CHAIN_ASK, CHAIN_VCEK, CHAIN_VALIDITY,
    VCEK_EXTENSIONS, REPORT_SIGNATURE,
)
"""The ids that always decide ``authentic`` (``snp.revocation`` does too, when it finds a revocation;
``snp.internal`` always refuses)."""
