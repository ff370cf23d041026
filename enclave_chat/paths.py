"""Where enclave-chat keeps things: built-in policies, and the user's config, data, cache and state.

User directories follow each OS's conventions (platformdirs); each can be moved with an environment
variable (``ENCLAVE_CHAT_CONFIG_DIR``, ``..._DATA_DIR``, ``..._CACHE_DIR``, ``..._STATE_DIR``), which
the tests use. Directories are created with mode 0700.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from verifier.appraisal.policy import Policy, load_policy
from verifier.errors import PolicyError
from verifier.policy_check import check_policy

if TYPE_CHECKING:
    from verifier.release_pin import ReleaseStore

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


def release_store() -> ReleaseStore:
    """The per-service record of the release last accepted (``ask``/``proxy --on-change``, the chat)."""
    from verifier.release_pin import ReleaseStore

    return ReleaseStore(user_dir("state") / "releases")


def policies_dir() -> Path:
    """The built-in policies: packaged beside this module in a wheel, or the repository's folder."""
    packaged = Path(__file__).parent / "policies"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "policies"


def builtin_policy_names() -> list[str]:
    """The built-in policies' names (``--policy NAME``), ``default`` first, then by name."""
    names = sorted(p.stem for p in policies_dir().glob("*.toml"))
    return sorted(names, key=lambda n: (n != "default", n))


DEMO_TRANSPARENCY = "demo-transparency"
"""The reference deployment's log and witness state, under the user's data directory."""


def demo_transparency_dir() -> Path:
    """Where the reference deployment's log and witness keep their state across restarts, so that
    a client that remembers the log's checkpoint sees it grow, never start over (a fork)."""
    return user_dir("data", create=True) / DEMO_TRANSPARENCY


def is_policy_path(argument: str) -> bool:
    """Whether a ``--policy`` argument names a file: it has a slash (``./default``, ``dir/p``) or
    ends in ``.toml``. Anything else is a name, and a name is never looked up in the working
    directory (a file planted there must not stand in for a built-in policy)."""
    seps = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return any(sep in argument for sep in seps) or argument.endswith(".toml")


def builtin_policy_path(name: str) -> Path:
    """The file of the built-in policy ``name``; :class:`PolicyError` naming the built-ins for any
    other word (with a hint when a file of that name is in the working directory)."""
    names = builtin_policy_names()
    if name not in names:
        hint = f" (to use the file {name!r} here, give ./{name})" if Path(name).exists() else ""
        raise PolicyError(f"no built-in policy named {name!r}; the built-ins are {', '.join(names)}{hint}")
    return policies_dir() / f"{name}.toml"


def resolve_policy(name_or_path: str | None) -> Policy:
    """``None`` is the built-in default policy; a name (``demo``, ``strict``) is a built-in one,
    never a file of that name; a path (:func:`is_policy_path`) is that file."""
    target = name_or_path or "default"
    path = Path(target) if is_policy_path(target) else builtin_policy_path(target)
    return check_policy(load_policy(path))
