"""Evidence formats, parsed strictly and sans-IO: bytes in, frozen dataclasses out.

Each module knows one format (offsets, sizes, reserved fields, enums) and nothing else: no network,
no clock, no policy. Errors are :class:`verifier.errors.ParseError` naming the field.
"""
