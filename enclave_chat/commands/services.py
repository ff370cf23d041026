"""``enclave-chat services [--json]``: the services the client knows (``enclave_chat/services.toml``),
with the provider and policy each is spoken to with when no ``--provider`` or ``--policy`` is given."""

from __future__ import annotations

import argparse

from enclave_chat.output import print_json
from enclave_chat.process import Exit


def cmd_services(args: argparse.Namespace) -> Exit:
    from enclave_chat.services import known_services

    services = known_services()
    if args.json:
        print_json({"services": [s.to_json() for s in services]})
        return Exit.VERIFIED
    for service in services:
        print(f"{service.name}: --provider {service.provider} --policy {service.policy}")
        print(f"  hosts: {', '.join(service.hosts)}")
        if service.about:
            print(f"  {service.about}")
    return Exit.VERIFIED
