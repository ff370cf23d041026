"""The transparency side of the reference deployment: a tiled log, a witness, and the publisher.

* :class:`~enclave.transparency.log.TransparencyLog` - an append-only log on disk (C2SP tlog-tiles),
  checkpoints signed by the log key (C2SP tlog-checkpoint), cosigned by its witnesses;
* :class:`~enclave.transparency.witness.Witness` - a C2SP tlog-witness;
* :func:`~enclave.transparency.publish.publish_release` - sign a release statement and log it;
* :func:`~enclave.transparency.services.start_transparency` - both services on loopback ports;
* :mod:`~enclave.transparency.server` - the starlette apps and the uvicorn runner.
"""
