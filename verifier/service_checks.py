"""The check every provider makes first: ``service.url`` (:func:`verifier.urls.check_service_url`).

Each provider's catalogue (:mod:`verifier.providers.native.checks`,
:mod:`verifier.providers.tinfoil.checks`) re-uses this constant as its first id.
"""

from __future__ import annotations

SERVICE_URL = "service.url"

CATALOGUE: tuple[str, ...] = (SERVICE_URL,)
"""Every id the shared service checks emit."""

AUTHENTICITY: tuple[str, ...] = ()
"""``service.url`` says whether to talk to a service at all, not whether its evidence is authentic."""
