"""Binary HTTP (RFC 9292): the four §5 examples byte for byte, round trips, streaming, hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.channel import bhttp
from verifier.channel.bhttp import (
    BodyChunk,
    Informational,
    MessageEnd,
    Request,
    RequestHead,
    Response,
    ResponseDecoder,
    ResponseHead,
)
from verifier.channel.varint import decode_varint, encode_varint, read_varint
from verifier.errors import ParseError

CURL_HEADERS = (
    (b"user-agent", b"curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3"),
    (b"host", b"www.example.com"),
    (b"accept-language", b"en, mi"),
)
CURL_REQUEST = Request(b"GET", b"https", b"", b"/hello.txt", CURL_HEADERS)


# --- the RFC 9292 §5 examples


@pytest.mark.vectors
def test_rfc9292_examples(bhttp_vectors: dict[str, str]) -> None:
    assert len(bhttp_vectors) == 4
    raw = {name: bytes.fromhex(value) for name, value in bhttp_vectors.items()}

    known = raw["request_known_length"]
    assert bhttp.decode_request(known) == CURL_REQUEST
    assert bhttp.encode_request(CURL_REQUEST) == known

    indeterminate = raw["request_indeterminate_length"]
    assert bhttp.decode_request(indeterminate) == CURL_REQUEST
    # The example carries 10 bytes of zero padding after the three zero terminators.
    assert bhttp.encode_request(CURL_REQUEST, indeterminate=True, padding=10) == indeterminate

    with_1xx = raw["response_indeterminate_with_1xx"]
    response = bhttp.decode_response(with_1xx)
    assert [(i.status, len(i.headers)) for i in response.informational] == [(102, 1), (103, 2)]
    assert response.informational[1].headers[1] == (
        b"link",
        b"</script.js>; rel=preload; as=script",
    )
    assert response.status == 200
    assert response.header(b"Content-Type") == b"text/plain"
    assert response.body == b"Hello World! My content includes a trailing CRLF.\r\n"
    assert len(response.headers) == 8 and response.trailers == ()
    assert bhttp.encode_response(response, indeterminate=True) == with_1xx

    chunked = raw["response_known_length_chunked_example"]
    response = bhttp.decode_response(chunked)
    assert response == Response(
        200, (), b"This content contains CRLF.\r\n", ((b"trailer", b"text"),)
    )
    assert bhttp.encode_response(response) == chunked


@pytest.mark.vectors
def test_examples_streamed_byte_by_byte(bhttp_vectors: dict[str, str]) -> None:
    data = bytes.fromhex(bhttp_vectors["response_indeterminate_with_1xx"])
    decoder = ResponseDecoder()
    events: list[bhttp.Event] = []
    for i in range(len(data)):
        events += decoder.feed(data[i : i + 1])
    events += decoder.close()
    kinds = [type(e) for e in events]
    assert kinds[:3] == [Informational, Informational, ResponseHead]
    assert kinds[-1] is MessageEnd
    assert (
        b"".join(e.data for e in events if isinstance(e, BodyChunk))
        == bhttp.decode_response(data).body
    )


@pytest.mark.vectors
def test_examples_prefixes_only_parse_error(bhttp_vectors: dict[str, str]) -> None:
    """Every prefix is either a permitted truncation (RFC 9292 §3.8) or a ParseError."""
    known = bytes.fromhex(bhttp_vectors["request_known_length"])
    accepted = []
    for cut in range(len(known) + 1):
        try:
            request = bhttp.decode_request(known[:cut])
        except ParseError:
            continue
        accepted.append(cut)
        assert request.headers in ((), CURL_HEADERS)
    # Before the header section (headers empty), before the content, before the trailers, whole.
    assert accepted == [23, len(known) - 2, len(known) - 1, len(known)]
    for name in ("response_indeterminate_with_1xx", "response_known_length_chunked_example"):
        data = bytes.fromhex(bhttp_vectors[name])
        for cut in range(len(data)):
            try:
                bhttp.decode_response(data[:cut])
            except ParseError:
                pass


# --- invalid messages (RFC 9292 §4)


def _expect(data: bytes, field: str, *, request: bool = False) -> None:
    with pytest.raises(ParseError) as info:
        (bhttp.decode_request if request else bhttp.decode_response)(data)
    assert info.value.field == field


def test_invalid_messages() -> None:
    ok = bhttp.encode_response(Response(200, ((b"a", b"b"),), b"body"))
    _expect(b"", "framing_indicator")
    _expect(b"\x04", "framing_indicator")
    _expect(b"\x00", "framing_indicator")  # a request given to the response decoder
    _expect(ok, "framing_indicator", request=True)
    _expect(b"\x01" + encode_varint(99), "status")
    _expect(b"\x01" + encode_varint(600), "status")
    _expect(ok + b"\x00\x01", "padding")
    _expect(b"\x01" + encode_varint(103), "informational_section")  # 1xx without a final response
    _expect(b"\x01\x40\xc8\x04\x01A\x01b", "header_section")  # upper-case field name
    _expect(b"\x01\x40\xc8\x08\x05:path\x01/", "header_section")  # a control-data pseudo-field
    _expect(b"\x01\x40\xc8\x04\x01a\x01\r", "header_section")  # CR in a value
    _expect(b"\x01\x40\xc8\x04\x01a\x01 ", "header_section")  # trailing whitespace
    _expect(b"\x01\x40\xc8\x02\x00\x00", "header_section")  # empty field name
    _expect(b"\x01\x40\xc8\x05\x01a\x05xy", "header_section")  # value runs past the section
    _expect(b"\x01\x40\xc8\x00\x00\x04\x02:x\x00", "trailer_section")  # pseudo-field in trailers
    _expect(b"\x01\x40\xc8\x00\x05ab", "content")  # content cut short
    _expect(b"\x03\x40\xc8\x00\x02ab", "content")  # indeterminate content without terminator
    _expect(b"\x00\x03G T\x00\x00\x00", "request_control_data", request=True)
    _expect(b"\x00\x03GET\x05ht tp\x00\x00", "request_control_data", request=True)
    _expect(b"\x00\x03GET\x00\x00\x02/\n", "request_control_data", request=True)


def test_unknown_pseudo_field_before_regular_fields_is_allowed() -> None:
    response = bhttp.decode_response(b"\x01\x40\xc8\x09\x02:p\x02/x\x01a\x00")
    assert response.headers == ((b":p", b"/x"), (b"a", b""))
    with pytest.raises(ParseError, match="pseudo-field follows"):
        bhttp.decode_response(b"\x01\x40\xc8\x09\x01a\x00\x02:p\x02/x")


def test_indeterminate_content_truncated_after_a_chunk_is_invalid() -> None:
    whole = bhttp.encode_response(Response(200, (), b"abc"), indeterminate=True)
    assert whole == b"\x03\x40\xc8\x00\x03abc\x00\x00"
    assert bhttp.decode_response(whole[:-1]).body == b"abc"  # trailers omitted
    with pytest.raises(ParseError):
        bhttp.decode_response(whole[:-2])  # content terminator missing
    assert bhttp.decode_response(whole[:4]).body == b""  # content and trailers omitted


def test_field_section_limit() -> None:
    big = Response(200, ((b"x", b"y" * 2000),))
    for indeterminate in (False, True):
        data = bhttp.encode_response(big, indeterminate=indeterminate)
        assert bhttp.decode_response(data) == big
        with pytest.raises(ParseError, match="limit"):
            bhttp.decode_response(data, max_field_section=1000)
    # A huge announced length is refused at once, not awaited.
    decoder = ResponseDecoder()
    with pytest.raises(ParseError, match="limit"):
        decoder.feed(b"\x01\x40\xc8" + encode_varint(1 << 40))
    with pytest.raises(ParseError):  # and the decoder stays failed
        decoder.feed(b"")


def test_constructors_refuse_invalid_messages() -> None:
    with pytest.raises(ValueError):
        Request(b"GET", b"https", b"", b"/", ((b"Host", b"x"),))
    with pytest.raises(ValueError):
        Request(b"", b"https", b"", b"/")
    with pytest.raises(ValueError):
        Response(199)
    with pytest.raises(ValueError):
        Informational(200)
    with pytest.raises(ValueError):
        Response(200, trailers=((b":x", b"y"),))
    with pytest.raises(ValueError):
        bhttp.encode_response_end(((b"a", b"\x00"),))


def test_streamed_response_encoding() -> None:
    head = bhttp.encode_response_head(
        200,
        [(b"content-type", b"text/event-stream")],
        informational=[Informational(103, ((b"link", b"x"),))],
    )
    pieces = [
        bhttp.encode_content_chunk(b"data: a\n\n"),
        bhttp.encode_content_chunk(b""),
        bhttp.encode_content_chunk(b"data: b\n\n"),
    ]
    end = bhttp.encode_response_end([(b"x-done", b"1")])
    decoded = bhttp.decode_response(head + b"".join(pieces) + end)
    assert decoded == Response(
        200,
        ((b"content-type", b"text/event-stream"),),
        b"data: a\n\ndata: b\n\n",
        ((b"x-done", b"1"),),
        (Informational(103, ((b"link", b"x"),)),),
    )
    # The decoder reports the head before any content arrives.
    decoder = ResponseDecoder()
    events = decoder.feed(head)
    assert [type(e) for e in events] == [Informational, ResponseHead]
    assert decoder.feed(pieces[0]) == [BodyChunk(b"data: a\n\n")]


def test_request_decoder_events() -> None:
    request = Request(
        b"POST",
        b"https",
        b"localhost",
        b"/v1/chat/completions",
        ((b"content-type", b"application/json"),),
        b"{}",
    )
    decoder = bhttp.RequestDecoder()
    events = decoder.feed(bhttp.encode_request(request)) + decoder.close()
    assert events == [
        RequestHead(b"POST", b"https", b"localhost", b"/v1/chat/completions", request.headers),
        BodyChunk(b"{}"),
        MessageEnd(()),
    ]
    with pytest.raises(ValueError):
        decoder.feed(b"")


# --- varints (RFC 9000 §16)


def test_varint_examples_from_rfc9000_appendix_a1() -> None:
    examples = {
        "c2197c5eff14e88c": 151288809941952652,
        "9d7f3e7d": 494878333,
        "7bbd": 15293,
        "25": 37,
        "4025": 37,  # non-minimal, still valid
    }
    for hex_value, value in examples.items():
        assert decode_varint(bytes.fromhex(hex_value)) == (value, len(hex_value) // 2)
    assert encode_varint(151288809941952652).hex() == "c2197c5eff14e88c"
    assert encode_varint(37) == b"\x25"
    assert read_varint(b"\x40") is None
    with pytest.raises(ParseError):
        decode_varint(b"\x80\x00")
    with pytest.raises(ValueError):
        encode_varint(1 << 62)


# --- hypothesis: round trips and fuzzing

_names = st.binary(min_size=1, max_size=12).map(
    lambda b: bytes(b"abcdefghijklmnopqrstuvwxyz0123456789-_"[c % 38] for c in b)
)
_values = st.binary(max_size=40).map(
    lambda b: bytes(c for c in b if c not in b"\x00\r\n").strip(b" \t")
)
_fields = st.lists(st.tuples(_names, _values), max_size=5).map(tuple)
_token = _names.map(lambda b: b.upper())
_path = st.binary(max_size=30).map(lambda b: bytes(0x21 + c % 0x5E for c in b))


@st.composite
def _requests(draw: st.DrawFn) -> Request:
    return Request(
        draw(_token),
        draw(st.sampled_from([b"https", b"http", b""])),
        draw(_path),
        draw(_path),
        draw(_fields),
        draw(st.binary(max_size=200)),
        draw(_fields),
    )


@st.composite
def _responses(draw: st.DrawFn) -> Response:
    info = draw(st.lists(st.builds(Informational, st.integers(100, 199), _fields), max_size=2))
    return Response(
        draw(st.integers(200, 599)),
        draw(_fields),
        draw(st.binary(max_size=200)),
        draw(_fields),
        tuple(info),
    )


@settings(max_examples=200, deadline=None)
@given(_requests(), st.booleans(), st.integers(0, 5))
def test_request_round_trip(request: Request, indeterminate: bool, padding: int) -> None:
    data = bhttp.encode_request(request, indeterminate=indeterminate, padding=padding)
    assert bhttp.decode_request(data) == request


@settings(max_examples=200, deadline=None)
@given(_responses(), st.booleans(), st.integers(0, 5), st.lists(st.integers(1, 40), max_size=20))
def test_response_round_trip_in_any_split(
    response: Response, indeterminate: bool, padding: int, splits: list[int]
) -> None:
    data = bhttp.encode_response(response, indeterminate=indeterminate, padding=padding)
    assert bhttp.decode_response(data) == response
    decoder = ResponseDecoder()
    events: list[Any] = []
    pos = 0
    for size in splits:
        events += decoder.feed(data[pos : pos + size])
        pos += size
    events += decoder.feed(data[pos:]) + decoder.close()
    body = b"".join(e.data for e in events if isinstance(e, BodyChunk))
    head = next(e for e in events if isinstance(e, ResponseHead))
    assert (head.status, head.headers, body) == (response.status, response.headers, response.body)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_only_parse_error(data: bytes) -> None:
    for decode in (bhttp.decode_request, bhttp.decode_response):
        try:
            decode(data)
        except ParseError:
            pass
    for framing in (b"\x00", b"\x01", b"\x02", b"\x03"):
        for decode in (bhttp.decode_request, bhttp.decode_response):
            try:
                decode(framing + data)
            except ParseError:
                pass


@settings(max_examples=200, deadline=None)
@given(_responses(), st.booleans(), st.data())
def test_fuzz_mutated_messages_only_parse_error(
    response: Response, indeterminate: bool, data: st.DataObject
) -> None:
    encoded = bytearray(bhttp.encode_response(response, indeterminate=indeterminate))
    index = data.draw(st.integers(0, len(encoded) - 1))
    encoded[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(encoded)))
    for candidate in (bytes(encoded), bytes(encoded[:cut])):
        try:
            bhttp.decode_response(candidate)
        except ParseError:
            pass
