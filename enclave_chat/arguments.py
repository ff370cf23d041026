"""Command-line arguments: the argparse types, and the checks an argument needs beyond its type
(a service URL that cannot be used at all, ``--policy``, a key file). Each refusal is a usage error
(exit 2), one line (docs/cli.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
import stat
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from enclave_chat.output import fail
from enclave_chat.process import Exit
from verifier.errors import InputError, PolicyError

if TYPE_CHECKING:
    from verifier.appraisal.policy import Policy


def iso_time(text: str) -> dt.datetime:
    from verifier.result import parse_time

    try:
        return parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 time") from None


def hex_bytes(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not hex") from None
    if not value:
        raise argparse.ArgumentTypeError("is empty: give at least one byte of hex")
    return value


def port(text: str) -> int:
    try:
        number = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{number} is not a port number (0 to 65535)")
    return number


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (finite, at least 0)")
    return value


_CREDENTIALS = re.compile(r"(//)[^/@?#]*@")


def redact(text: str) -> str:
    """``text`` with the credentials of any URL in it (``//user:password@``) replaced by ``***``."""
    return _CREDENTIALS.sub(r"\1***@", text)


def service_url(url: str) -> str:
    """Refuse (exit 2) a service URL that cannot be used at all: empty, with white space or control
    characters, unparseable (a broken IPv6 literal, a port that is not a number from 0 to 65535),
    with credentials (they would go to a service not yet verified), or with a query or fragment
    (the URL is a base that paths are appended to). Whether the *policy* accepts it (an http(s)
    scheme, a host, loopback for the demo policy) is the ``service.url`` check's (exit 1)."""
    import httpx

    if not url:
        fail(Exit.USAGE, "the service URL is empty")
    shown = redact(url)
    if any(c.isspace() or not c.isprintable() for c in url):
        fail(Exit.USAGE, f"the service URL {shown!r} contains white space or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
        if parts.scheme.lower() in ("http", "https"):
            httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as e:
        fail(Exit.USAGE, f"the service URL {shown!r} is malformed ({redact(str(e))})")
    if parts.username is not None or parts.password is not None:
        fail(Exit.USAGE, f"the service URL {shown!r} carries credentials (user:password@); they would be "
             "sent to a service not yet verified: remove them")
    if parts.query or parts.fragment:
        fail(Exit.USAGE, f"the service URL {shown!r} has a query or a fragment; give the service's base URL")
    return url


PROXY_SCHEMES = ("http", "https")


def proxy_url(url: str) -> str:
    """``--http-proxy URL``: an ``http`` or ``https`` URL with a host (credentials for the proxy are
    allowed and never echoed). Usage error (exit 2) otherwise."""
    shown = redact(url)
    if not url or any(c.isspace() or not c.isprintable() for c in url):
        fail(Exit.USAGE, f"--http-proxy {shown!r} is not a proxy URL (empty, white space or control characters)")
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError as e:
        fail(Exit.USAGE, f"--http-proxy {shown!r} is malformed ({redact(str(e))})")
    if parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname:
        fail(Exit.USAGE, f"--http-proxy {shown!r} is not a proxy URL: give http://HOST[:PORT] or https://HOST[:PORT]")
    return url


def load_policy_arg(name_or_path: str | None) -> Policy:
    """``--policy``: a built-in name or a file. A name is never a file in the working directory; a
    path has a slash or ends in ``.toml`` (:func:`enclave_chat.paths.is_policy_path`). A file is
    read bounded (a FIFO, a device or a huge file must neither hang nor fill memory); an empty
    argument is a usage error, not the default."""
    from enclave_chat.paths import builtin_policy_names, is_policy_path, resolve_policy
    from verifier.appraisal.policy import MAX_POLICY_BYTES, parse_policy
    from verifier.files import read_file
    from verifier.policy_check import check_policy

    if name_or_path is None:
        return resolve_policy(None)
    if not name_or_path.strip():
        fail(Exit.USAGE, "--policy is empty: give a policy file or a built-in name "
             f"({', '.join(builtin_policy_names())})")
    if not is_policy_path(name_or_path):
        return resolve_policy(name_or_path)  # a built-in name, else a PolicyError naming them
    path = Path(name_or_path)
    try:
        data = read_file(path, MAX_POLICY_BYTES, "policy")
    except InputError as e:
        raise PolicyError(str(e)) from None
    return check_policy(parse_policy(data, str(path)))


KEY_FILE_LIMIT = 64 * 1024


def key_file(path: Path, what: str) -> Path:
    """A key file that exists must be a regular file of a sane size (a FIFO or a device would hang
    or never end); one that does not exist is left to the caller (some create it)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return path
    except OSError as e:
        fail(Exit.USAGE, f"cannot use the {what} key {path}: {e.strerror or e}")
    if stat.S_ISDIR(st.st_mode):
        fail(Exit.USAGE, f"cannot use the {what} key {path}: it is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        fail(Exit.USAGE, f"cannot use the {what} key {path}: not a regular file")
    if st.st_size > KEY_FILE_LIMIT:
        fail(Exit.USAGE, f"cannot use the {what} key {path}: {st.st_size} bytes is too large for a key file")
    return path
