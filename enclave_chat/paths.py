"""Where enclave-chat keeps things: built-in policies, and the user's config, data, cache and state.

User directories follow each OS's conventions (platformdirs); each can be moved with an environment
variable (``ENCLAVE_CHAT_CONFIG_DIR``, ``..._DATA_DIR``, ``..._CACHE_DIR``, ``..._STATE_DIR``), which
the tests use. Directories are created with mode 0700.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from verifier.appraisal.policy import Policy, load_policy
from verifier.appraisal.policy_check import check_policy
from verifier.errors import PolicyError

APP = "enclave-chat"
KINDS = ("config", "data", "cache", "state")


def user_dir(kind: str, *, create: bool = False) -> Path:
    if kind not in KINDS:
        raise ValueError(kind)
    override = os.environ.get(f"ENCLAVE_CHAT_{kind.upper()}_DIR")
    path = Path(override) if override else Path(getattr(platformdirs, f"user_{kind}_dir")(APP))
    if create:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    return path


def policies_dir() -> Path:
    """The built-in policies: packaged beside this module in a wheel, or the repository's folder."""
    packaged = Path(__file__).parent / "policies"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "policies"


def resolve_policy(name_or_path: str | None) -> Policy:
    """``None`` is the default policy; a bare name (``demo``, ``strict``) is a built-in one."""
    target = name_or_path or "default"
    path = Path(target)
    if path.suffix != ".toml" and os.sep not in target and not path.exists():
        path = policies_dir() / f"{target}.toml"
        if not path.is_file():
            known = sorted(p.stem for p in policies_dir().glob("*.toml"))
            raise PolicyError(f"no built-in policy named {target!r}; known: {', '.join(known)}")
    return check_policy(load_policy(path))
