"""The dstack check catalogue: every ``dstack.*`` id, in the order docs/dstack.md lists them, and the
collector of one appraisal.

An appraisal emits ``dstack.parse`` first, then the TD quote's own ``tdx.*`` checks (as
:func:`verifier.appraisal.tdx.appraise_tdx` emits them, ids unchanged), then the rest of this
catalogue in order. A document whose quote does not decode gives ``dstack.parse`` alone.
"""

from __future__ import annotations

import datetime as dt

from verifier.appraisal.checks import CheckCollector
from verifier.appraisal.dstack.rules import DstackPolicy

PARSE = "dstack.parse"
EVENT_LOG = "dstack.event_log"
RTMR0 = "dstack.rtmr0"
RTMR1 = "dstack.rtmr1"
RTMR2 = "dstack.rtmr2"
RTMR3 = "dstack.rtmr3"
EVENT_PAYLOAD = "dstack.event.payload"
MRCONFIGID = "dstack.mrconfigid"
COMPOSE = "dstack.compose"
COMPOSE_CONTENT = "dstack.compose.content"
COMPOSE_ALLOWED = "dstack.compose.allowed"
OS_IMAGE = "dstack.os_image"

RTMRS: tuple[str, str, str, str] = (RTMR0, RTMR1, RTMR2, RTMR3)
"""The replay check of each register, by index."""

CATALOGUE: tuple[str, ...] = (PARSE, EVENT_LOG, *RTMRS, EVENT_PAYLOAD, MRCONFIGID, COMPOSE, COMPOSE_CONTENT,
                              COMPOSE_ALLOWED, OS_IMAGE)
"""Every ``dstack.*`` id an appraisal emits, in documented (and emitted) order."""

AUTHENTICITY: tuple[str, ...] = (PARSE,)
"""The ids that decide ``authentic`` (with the TD quote's own ``tdx.*`` ones)."""


class Run(CheckCollector):
    """The checks of one appraisal, with the policy and time they are made under."""

    def __init__(self, pol: DstackPolicy, at: dt.datetime) -> None:
        super().__init__()
        self.pol = pol
        self.at = at
