"""A reference enclave "restarted with another release" on the same URL, for the approve-on-change
tests (issue 17, point 4): the same image and measurement, a new release version signed by the
demo publisher and appended to the enclave's own transparency log (so that it still verifies)."""

from __future__ import annotations

from enclave import demo_roots
from enclave.release import demo_statement
from enclave.server import BackgroundEnclave

NEW_VERSION = "0.2.0"


def redeploy(server: BackgroundEnclave, version: str = NEW_VERSION) -> None:
    """From now on ``server`` serves release ``version`` (logged at the log's next index)."""
    enclave, log = server.enclave, server.log
    assert log is not None, "the enclave runs without its transparency log"
    statement = demo_statement(enclave.image, [enclave.measurement], version, enclave.settings.platform)
    enclave.release = log.services.publish(statement, demo_roots.publisher_key())
