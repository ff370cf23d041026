"""``enclave-chat release publish`` (sign a release statement, append it to a log's directory) and
``release verify BUNDLE`` (a Sigstore bundle, a GitHub artifact attestation, offline)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from enclave_chat.arguments import KEY_FILE_LIMIT, key_file
from enclave_chat.commands.log import witnesses
from enclave_chat.output import dumps, fail, report, say, warn
from enclave_chat.process import Exit
from verifier.errors import InputError, VerifierError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def publisher_key(path: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from verifier.files import read_file

    try:
        key = load_pem_private_key(read_file(path, KEY_FILE_LIMIT, "the publisher key"), password=None)
    except InputError as e:
        fail(Exit.USAGE, str(e))
    except (ValueError, TypeError) as e:
        fail(Exit.USAGE, f"{path} is not an unencrypted PEM private key: {e}")
    if not isinstance(key, Ed25519PrivateKey):
        fail(Exit.USAGE, f"{path} is not an Ed25519 key (make one with `openssl genpkey -algorithm ed25519`)")
    return key


def cmd_release(args: argparse.Namespace) -> Exit:
    """``release publish``: sign a statement, append it to a log; ``release verify``: a Sigstore bundle."""
    if args.release_command == "verify":
        from verifier.reference.sigstore_bundle import GITHUB_ISSUER, verify_release_files

        result = verify_release_files(args.bundle, repository=args.repository,
                                      trusted_root_path=args.trusted_root, artifact_path=args.artifact,
                                      digest=args.digest, workflow_ref=args.workflow_ref,
                                      issuer=args.issuer or GITHUB_ISSUER, offline=args.offline,
                                      require_subject=True)
        return report(result, args.json)
    if args.release_command != "publish":
        fail(Exit.USAGE, "use `release publish ...` or `release verify BUNDLE ...`")
    from enclave import demo_roots
    from enclave.transparency.keys import demo_log_signer, load_signer
    from enclave.transparency.log import LogError
    from enclave.transparency.publish import publish_release
    from enclave.transparency.services import open_log
    from enclave_chat.paths import DEMO_TRANSPARENCY, user_dir
    from verifier.reference.checkpoint import read_checkpoint
    from verifier.reference.dsse import format_ed25519_public
    from verifier.reference.note import parse_vkey
    from verifier.reference.release import ReleaseStatement, parse_statement

    if args.key is None and not args.demo_keys:
        fail(Exit.USAGE, "name the publisher's Ed25519 private key with --key FILE (or --demo-keys)")
    publisher = publisher_key(args.key) if args.key is not None else demo_roots.publisher_key()
    data = user_dir("data")
    directory = args.dir or (data / DEMO_TRANSPARENCY / "log" if args.demo_keys else data / "log")
    if not (directory / "checkpoint").is_file():
        fail(Exit.USAGE, f"{directory} is not a log's directory (start one with `enclave-chat log serve --dir {directory}`)")
    if args.log_key is None and args.demo_keys:
        log_signer = demo_log_signer()
    else:
        key_path = args.log_key or directory / "log.skey"
        key_file(key_path, "log")
        try:
            log_signer = load_signer(key_path)
        except OSError as e:
            fail(Exit.USAGE, f"cannot read the log key {key_path}: {e.strerror or e}")
    try:
        statement = parse_statement(ReleaseStatement(args.image, args.version,
                                                     {"sev-snp": tuple(m.lower() for m in args.measurement)}).encode())
    except VerifierError as e:
        fail(Exit.USAGE, f"not a release statement: {e}")
    pairs = witnesses(args.witness)
    import httpx

    with httpx.Client() as http:
        log = open_log(directory, log_signer, witnesses=pairs, http=http)
        try:
            before = log.size
            release = publish_release(statement, publisher_key=publisher, log=log)
            appended = log.size > before
        except (LogError, OSError) as e:
            fail(Exit.USAGE, f"cannot append to the log in {directory}: {e}")
    if args.log_url:
        release["log"]["url"] = args.log_url
    signatures = read_checkpoint(release["log"]["checkpoint"])[1].signatures
    for _, vkey in pairs:
        witness = parse_vkey(vkey)
        if not any(witness.matches(sig) for sig in signatures):
            warn(f"witness {witness.name} has not cosigned the checkpoint")
    text = dumps(release)
    if args.output is not None:
        try:
            args.output.write_text(text)
        except OSError as e:
            fail(Exit.USAGE, f"cannot write {args.output}: {e.strerror or e}")
    else:
        sys.stdout.write(text)
    say(f"release {statement.version} of {statement.image} is leaf {release['log']['index']} of "
        f"{log_signer.name}{'' if appended else ' (it was already there)'}, "
        f"publisher key {format_ed25519_public(publisher.public_key())}")
    return Exit.VERIFIED
