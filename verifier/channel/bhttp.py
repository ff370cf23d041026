"""Binary HTTP messages (RFC 9292): requests and responses, known- and indeterminate-length.

* :func:`encode_request` / :func:`encode_response` write whole messages (framing 0/1 by default,
  2/3 with ``indeterminate=True``), with optional zero padding (§3.8).
* :func:`encode_response_head`, :func:`encode_content_chunk` and :func:`encode_response_end` write
  an indeterminate-length response piece by piece, so a server can stream its content.
* :class:`RequestDecoder` / :class:`ResponseDecoder` parse incrementally (``feed``/``close``) and
  emit events as each part completes; :func:`decode_request` / :func:`decode_response` parse a
  whole message.

Decoding never buffers more than it was given, caps field sections (``max_field_section``), and
refuses anything RFC 9292 §4 calls invalid with a :class:`~verifier.errors.ParseError`: unknown
framing, bad status codes, field names or values that HTTP/2 (RFC 9113 §8.2.1) forbids, the
control-data pseudo-fields, non-zero padding, and truncation anywhere but before the header
section, the content or the trailer section (§3.1, §3.8), which counts as an empty part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from verifier.channel.varint import encode_varint, read_varint
from verifier.errors import ParseError

Field = tuple[bytes, bytes]
Fields = tuple[Field, ...]

MAX_FIELD_SECTION = 1 << 20
"""Default cap on one field section (or one request control string), in bytes."""

_TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_CHAR = frozenset(c for c in _TCHAR if not 0x41 <= c <= 0x5A)
_SCHEME_CHAR = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
_CONTROL_PSEUDO = frozenset({b":method", b":scheme", b":authority", b":path", b":status"})

# --- validation shared by the encoder (ValueError) and the decoder (ParseError)


def _field_problem(name: bytes, value: bytes) -> str | None:
    body = name[1:] if name.startswith(b":") else name
    if not body or not all(c in _NAME_CHAR for c in body):
        return f"invalid field name {name[:64]!r}"
    if name in _CONTROL_PSEUDO:
        return f"field {name.decode()} is carried as control data, not as a field"
    if any(c in (0, 0x0A, 0x0D) for c in value):
        return f"field {name.decode()} has NUL, CR or LF in its value"
    if value[:1] in (b" ", b"\t") or value[-1:] in (b" ", b"\t"):
        return f"field {name.decode()} has leading or trailing whitespace in its value"
    return None


def _section_problem(fields: Fields, *, trailers: bool) -> str | None:
    regular_seen = False
    for name, value in fields:
        problem = _field_problem(name, value)
        if problem:
            return problem
        if name.startswith(b":"):
            if trailers:
                return "pseudo-fields are not allowed in trailers"
            if regular_seen:
                return "a pseudo-field follows a regular field"
        else:
            regular_seen = True
    return None


def _control_problem(method: bytes, scheme: bytes, authority: bytes, path: bytes) -> str | None:
    if not method or not all(c in _TCHAR for c in method):
        return f"invalid method {method[:64]!r}"
    if scheme and not (scheme[0:1].isalpha() and all(c in _SCHEME_CHAR for c in scheme)):
        return f"invalid scheme {scheme[:64]!r}"
    for label, text in (("authority", authority), ("path", path)):
        if any(c <= 0x20 or c >= 0x7F for c in text):
            return f"{label} has a control, space or non-ASCII byte"
    return None


def _fields(value: Iterable[tuple[bytes, bytes]]) -> Fields:
    return tuple((bytes(n), bytes(v)) for n, v in value)


def _check(problem: str | None) -> None:
    if problem:
        raise ValueError(problem)


def _header(fields: Fields, name: bytes) -> bytes | None:
    wanted = name.lower()
    for key, value in fields:
        if key == wanted:
            return value
    return None


# --- messages


@dataclass(frozen=True)
class Request:
    """An HTTP request (RFC 9292 §3.4 control data, §3.6 fields, §3.7 content)."""

    method: bytes
    scheme: bytes
    authority: bytes
    path: bytes
    headers: Fields = ()
    body: bytes = b""
    trailers: Fields = ()

    def __post_init__(self) -> None:
        for name in ("method", "scheme", "authority", "path", "body"):
            object.__setattr__(self, name, bytes(getattr(self, name)))
        object.__setattr__(self, "headers", _fields(self.headers))
        object.__setattr__(self, "trailers", _fields(self.trailers))
        _check(_control_problem(self.method, self.scheme, self.authority, self.path))
        _check(_section_problem(self.headers, trailers=False))
        _check(_section_problem(self.trailers, trailers=True))

    def header(self, name: bytes) -> bytes | None:
        """The first header field named ``name`` (case-insensitive), or ``None``."""
        return _header(self.headers, name)


@dataclass(frozen=True)
class Informational:
    """An informational (1xx) response before the final one (RFC 9292 §3.5.1)."""

    status: int
    headers: Fields = ()

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 199:
            raise ValueError(f"informational status must be 100..199, got {self.status}")
        object.__setattr__(self, "headers", _fields(self.headers))
        _check(_section_problem(self.headers, trailers=False))


@dataclass(frozen=True)
class Response:
    """An HTTP response (RFC 9292 §3.5), with any informational responses before it."""

    status: int
    headers: Fields = ()
    body: bytes = b""
    trailers: Fields = ()
    informational: tuple[Informational, ...] = ()

    def __post_init__(self) -> None:
        if not 200 <= self.status <= 599:
            raise ValueError(f"final status must be 200..599, got {self.status}")
        object.__setattr__(self, "body", bytes(self.body))
        object.__setattr__(self, "headers", _fields(self.headers))
        object.__setattr__(self, "trailers", _fields(self.trailers))
        object.__setattr__(self, "informational", tuple(self.informational))
        _check(_section_problem(self.headers, trailers=False))
        _check(_section_problem(self.trailers, trailers=True))

    def header(self, name: bytes) -> bytes | None:
        """The first header field named ``name`` (case-insensitive), or ``None``."""
        return _header(self.headers, name)


# --- encoding


def _string(value: bytes) -> bytes:
    return encode_varint(len(value)) + value


def _field_lines(fields: Fields) -> bytes:
    return b"".join(_string(name) + _string(value) for name, value in fields)


def _section(fields: Fields, indeterminate: bool) -> bytes:
    lines = _field_lines(fields)
    return lines + b"\x00" if indeterminate else _string(lines)


def _content(body: bytes, indeterminate: bool) -> bytes:
    if not indeterminate:
        return _string(body)
    return (_string(body) if body else b"") + b"\x00"


def encode_request(request: Request, *, indeterminate: bool = False, padding: int = 0) -> bytes:
    """A request as ``message/bhttp`` (RFC 9292 §3.1/§3.2), never truncated, then ``padding`` zeros."""
    if padding < 0:
        raise ValueError("padding cannot be negative")
    return b"".join(
        (
            encode_varint(2 if indeterminate else 0),
            _string(request.method),
            _string(request.scheme),
            _string(request.authority),
            _string(request.path),
            _section(request.headers, indeterminate),
            _content(request.body, indeterminate),
            _section(request.trailers, indeterminate),
            bytes(padding),
        )
    )


def encode_response(response: Response, *, indeterminate: bool = False, padding: int = 0) -> bytes:
    """A response as ``message/bhttp`` (RFC 9292 §3.1/§3.2), never truncated, then ``padding`` zeros."""
    if padding < 0:
        raise ValueError("padding cannot be negative")
    parts = [encode_varint(3 if indeterminate else 1)]
    for info in response.informational:
        parts += [encode_varint(info.status), _section(info.headers, indeterminate)]
    parts += [
        encode_varint(response.status),
        _section(response.headers, indeterminate),
        _content(response.body, indeterminate),
        _section(response.trailers, indeterminate),
        bytes(padding),
    ]
    return b"".join(parts)


def encode_response_head(
    status: int, headers: Iterable[Field] = (), *, informational: Iterable[Informational] = ()
) -> bytes:
    """The start of an indeterminate-length response (RFC 9292 §3.2): framing, 1xx, status, headers.

    Follow it with any number of :func:`encode_content_chunk` and one :func:`encode_response_end`.
    """
    head = Response(status, tuple(headers), informational=tuple(informational))
    parts = [encode_varint(3)]
    for info in head.informational:
        parts += [encode_varint(info.status), _section(info.headers, True)]
    parts += [encode_varint(head.status), _section(head.headers, True)]
    return b"".join(parts)


def encode_content_chunk(data: bytes) -> bytes:
    """One indeterminate-length content chunk (RFC 9292 §3.2); empty data encodes to nothing."""
    return _string(bytes(data)) if data else b""


def encode_response_end(trailers: Iterable[Field] = ()) -> bytes:
    """The content terminator and trailer section that end an indeterminate-length message."""
    fields = _fields(trailers)
    _check(_section_problem(fields, trailers=True))
    return b"\x00" + _section(fields, True)


# --- incremental decoding


@dataclass(frozen=True)
class RequestHead:
    """Event: a request's control data and header section are complete."""

    method: bytes
    scheme: bytes
    authority: bytes
    path: bytes
    headers: Fields


@dataclass(frozen=True)
class ResponseHead:
    """Event: the final status and header section are complete."""

    status: int
    headers: Fields


@dataclass(frozen=True)
class BodyChunk:
    """Event: some content bytes (chunk boundaries carry no meaning, RFC 9292 §3.2)."""

    data: bytes


@dataclass(frozen=True)
class MessageEnd:
    """Event: the trailer section is complete; only padding may follow."""

    trailers: Fields


Event = Informational | RequestHead | ResponseHead | BodyChunk | MessageEnd

_FRAMING, _CONTROL, _STATUS, _FIELDS, _CONTENT_LEN, _CONTENT, _PADDING = range(7)
_HEADER, _INFO, _TRAILER = "header", "informational", "trailer"


class _Decoder:
    def __init__(self, kind: Literal["request", "response"], max_field_section: int) -> None:
        self._kind = kind
        self._max = max_field_section
        self._buf = bytearray()
        self._pos = 0
        self._state = _FRAMING
        self._known = True
        self._section = _HEADER
        self._section_start = True
        self._section_size = 0
        self._lines: list[Field] = []
        self._status = 0
        self._control: tuple[bytes, bytes, bytes, bytes] = (b"", b"", b"", b"")
        self._remaining = 0
        self._content_started = False
        self._error: ParseError | None = None
        self._closed = False
        self._events: list[Event] = []

    # helpers

    def _fail(self, message: str, field: str) -> ParseError:
        self._error = ParseError(message, field=field)
        return self._error

    def _varint(self) -> int | None:
        result = read_varint(self._buf, self._pos)
        if result is None:
            return None
        self._pos = result[1]
        return result[0]

    def _string(self, field: str) -> bytes | None:
        """A length-prefixed string at the cursor, or None (cursor unchanged) if incomplete."""
        result = read_varint(self._buf, self._pos)
        if result is None:
            return None
        length, start = result
        if length > self._max:
            raise self._fail(f"length {length} exceeds the limit of {self._max} bytes", field)
        if start + length > len(self._buf):
            return None
        self._pos = start + length
        return bytes(self._buf[start : start + length])

    def _start_section(self, section: str) -> None:
        self._state, self._section = _FIELDS, section
        self._section_start, self._section_size, self._lines = True, 0, []

    # states

    def _step(self) -> bool:
        state = self._state
        if state == _FRAMING:
            framing = self._varint()
            if framing is None:
                return False
            expected = (0, 2) if self._kind == "request" else (1, 3)
            if framing not in expected:
                what = "unknown" if framing > 3 else f"not a {self._kind}"
                raise self._fail(f"framing indicator {framing} is {what}", "framing_indicator")
            self._known = framing < 2
            self._state = _CONTROL if self._kind == "request" else _STATUS
            return True
        if state == _CONTROL:
            mark = self._pos
            parts: list[bytes] = []
            for name in ("method", "scheme", "authority", "path"):
                part = self._string(name)
                if part is None:
                    self._pos = mark
                    return False
                parts.append(part)
            method, scheme, authority, path = parts
            problem = _control_problem(method, scheme, authority, path)
            if problem:
                raise self._fail(problem, "request_control_data")
            self._control = (method, scheme, authority, path)
            self._start_section(_HEADER)
            return True
        if state == _STATUS:
            status = self._varint()
            if status is None:
                return False
            if 100 <= status <= 199:
                self._status = status
                self._start_section(_INFO)
            elif 200 <= status <= 599:
                self._status = status
                self._start_section(_HEADER)
            else:
                raise self._fail(f"status {status} is not 100..599", "status")
            return True
        if state == _FIELDS:
            return self._fields_known() if self._known else self._fields_indeterminate()
        if state == _CONTENT_LEN:
            length = self._varint()
            if length is None:
                return False
            if length == 0:
                self._start_section(_TRAILER)
            else:
                self._remaining = length
                self._state = _CONTENT
            self._content_started = True
            return True
        if state == _CONTENT:
            available = len(self._buf) - self._pos
            if available == 0:
                return False
            take = min(available, self._remaining)
            self._events.append(BodyChunk(bytes(self._buf[self._pos : self._pos + take])))
            self._pos += take
            self._remaining -= take
            if self._remaining == 0:
                # Known length: the content is done. Indeterminate: the next chunk length follows.
                if self._known:
                    self._start_section(_TRAILER)
                else:
                    self._state = _CONTENT_LEN
            return True
        # _PADDING
        if self._pos == len(self._buf):
            return False
        if any(self._buf[self._pos :]):
            raise self._fail("non-zero byte after the end of the message", "padding")
        self._pos = len(self._buf)
        return False

    def _fields_known(self) -> bool:
        section = self._string(f"{self._section}_section")
        if section is None:
            return False
        lines: list[Field] = []
        pos = 0
        field = f"{self._section}_section"
        while pos < len(section):
            result = read_varint(section, pos)
            if result is None or result[0] == 0:
                raise self._fail("malformed field line", field)
            name_len, pos = result
            if pos + name_len > len(section):
                raise self._fail("field name runs past the section", field)
            name = section[pos : pos + name_len]
            pos += name_len
            result = read_varint(section, pos)
            if result is None or result[1] + result[0] > len(section):
                raise self._fail("field value runs past the section", field)
            value = section[result[1] : result[1] + result[0]]
            pos = result[1] + result[0]
            lines.append((name, value))
        self._lines = lines
        self._end_section()
        return True

    def _fields_indeterminate(self) -> bool:
        field = f"{self._section}_section"
        mark = self._pos
        name_len = self._varint()
        if name_len is None:
            return False
        if name_len == 0:
            self._section_start = False
            self._end_section()
            return True
        self._pos = mark
        name = self._string(field)
        if name is None:
            return False
        value = self._string(field)
        if value is None:
            self._pos = mark
            return False
        self._section_start = False
        self._section_size += self._pos - mark
        if self._section_size > self._max:
            raise self._fail(f"section exceeds the limit of {self._max} bytes", field)
        self._lines.append((name, value))
        return True

    def _end_section(self) -> None:
        fields = tuple(self._lines)
        problem = _section_problem(fields, trailers=self._section == _TRAILER)
        if problem:
            raise self._fail(problem, f"{self._section}_section")
        if self._section == _INFO:
            self._events.append(Informational(self._status, fields))
            self._state = _STATUS
        elif self._section == _HEADER:
            self._events.append(self._head(fields))
            self._state = _CONTENT_LEN
        else:
            self._events.append(MessageEnd(fields))
            self._state = _PADDING

    def _head(self, fields: Fields) -> RequestHead | ResponseHead:
        if self._kind == "request":
            return RequestHead(*self._control, fields)
        return ResponseHead(self._status, fields)

    # public

    def _check_open(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise ValueError("this decoder is closed")

    def feed(self, data: bytes) -> list[Event]:
        self._check_open()
        self._buf += data
        while self._step():
            pass
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        events, self._events = self._events, []
        return events

    def close(self) -> list[Event]:
        self._check_open()
        self._closed = True
        nothing_pending = self._pos == len(self._buf)
        state = self._state
        if state == _PADDING:
            return []
        # RFC 9292 §3.1/§3.8: a message may end right before the header section, the content or
        # the trailer section; what is missing counts as empty.
        if nothing_pending and state == _FIELDS and self._section_start and self._section != _INFO:
            if self._section == _HEADER:
                return [self._head(()), MessageEnd(())]
            return [MessageEnd(())]
        if nothing_pending and state == _CONTENT_LEN and not self._content_started:
            return [MessageEnd(())]
        if state == _FRAMING and nothing_pending:
            raise ParseError("empty message", field="framing_indicator")
        where = {
            _FRAMING: "framing_indicator",
            _CONTROL: "request_control_data",
            _STATUS: "status",
            _FIELDS: f"{self._section}_section",
        }.get(state, "content")
        raise ParseError("message is truncated", field=where)


class RequestDecoder(_Decoder):
    """Incremental RFC 9292 request decoder: ``feed(bytes) -> events``, then ``close() -> events``.

    Events, in order: :class:`RequestHead`, :class:`BodyChunk` ..., :class:`MessageEnd`.
    """

    def __init__(self, *, max_field_section: int = MAX_FIELD_SECTION) -> None:
        super().__init__("request", max_field_section)


class ResponseDecoder(_Decoder):
    """Incremental RFC 9292 response decoder: ``feed(bytes) -> events``, then ``close() -> events``.

    Events, in order: :class:`Informational` ..., :class:`ResponseHead`, :class:`BodyChunk` ...,
    :class:`MessageEnd`. ``close`` raises :class:`ParseError` if the message is incomplete.
    """

    def __init__(self, *, max_field_section: int = MAX_FIELD_SECTION) -> None:
        super().__init__("response", max_field_section)


def _collect(decoder: _Decoder, data: bytes) -> list[Event]:
    return decoder.feed(data) + decoder.close()


def decode_request(data: bytes, *, max_field_section: int = MAX_FIELD_SECTION) -> Request:
    """Parse a whole ``message/bhttp`` request (RFC 9292 §3)."""
    events = _collect(RequestDecoder(max_field_section=max_field_section), bytes(data))
    head = events[0]
    end = events[-1]
    assert isinstance(head, RequestHead) and isinstance(end, MessageEnd)
    body = b"".join(e.data for e in events if isinstance(e, BodyChunk))
    return Request(
        head.method, head.scheme, head.authority, head.path, head.headers, body, end.trailers
    )


def decode_response(data: bytes, *, max_field_section: int = MAX_FIELD_SECTION) -> Response:
    """Parse a whole ``message/bhttp`` response (RFC 9292 §3), informational responses included."""
    events = _collect(ResponseDecoder(max_field_section=max_field_section), bytes(data))
    informational = tuple(e for e in events if isinstance(e, Informational))
    head = next(e for e in events if isinstance(e, ResponseHead))
    end = events[-1]
    assert isinstance(end, MessageEnd)
    body = b"".join(e.data for e in events if isinstance(e, BodyChunk))
    return Response(head.status, head.headers, body, end.trailers, informational)
