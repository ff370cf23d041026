"""A local OpenAI-compatible endpoint whose every request goes through one verified
:class:`verifier.session.Session` (docs/proxy.md): :mod:`.core` carries a request through the
channel, :mod:`.app` the routes and the local checks, :mod:`.server` starts and stops it."""
