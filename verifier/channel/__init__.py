"""The attested channel, sans I/O: pure encoders, decoders and cryptography, no network code.

* :mod:`~verifier.channel.hpke` -- HPKE base mode (RFC 9180) on ``pyhpke``, plus the bare KDF/AEAD.
* :mod:`~verifier.channel.keyconfig` -- OHTTP key configurations and ``application/ohttp-keys``
  (RFC 9458 §3), and the gateway's :class:`~verifier.channel.keyconfig.KeyPair`.
* :mod:`~verifier.channel.varint` -- QUIC variable-length integers (RFC 9000 §16).
* :mod:`~verifier.channel.bhttp` -- Binary HTTP messages (RFC 9292), whole or streamed.
* :mod:`~verifier.channel.ohttp` -- Oblivious HTTP request/response encapsulation (RFC 9458 §4).
* :mod:`~verifier.channel.chunked` -- chunked Oblivious HTTP (draft-ietf-ohai-chunked-ohttp).

Failures are :class:`~verifier.errors.ParseError` (malformed Binary HTTP or key configurations) or
:class:`~verifier.errors.ChannelError` (anything cryptographic or in OHTTP framing), with the
subclasses :class:`~verifier.errors.TruncatedResponse`,
:class:`~verifier.channel.ohttp.UnknownKeyConfig` and :class:`~verifier.channel.chunked.TruncatedRequest`.
"""
