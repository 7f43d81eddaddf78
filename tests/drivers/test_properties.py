"""Property tests of the generic parsers that read the outside world:
definite-length blocks, ``*IDN?``, ``*ESR?``, the simulators' byte-stream
adapter and binary block transfers."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import CalstationError
from drivers.fluke.f5522a import Fluke5522A
from drivers.keysight.k34401a import Keysight34401A
from drivers.roles import Identity
from drivers.sim.base import SimulatedInstrument
from drivers.transport import open_transport, parse_definite_length_block
from tests.drivers.protocol import expected_protocol
from tests.drivers.strategies import PROPERTY, arbitrary_replies, replies, wire

DRIVERS = [Fluke5522A, Keysight34401A]


# -- IEEE 488.2 definite-length blocks ------------------------------------------------


@PROPERTY
@given(st.binary(max_size=300), st.integers(0, 3), st.binary(max_size=5))
def test_definite_length_block_round_trip(payload, padding, tail):
    digits = str(len(payload)).zfill(len(str(len(payload))) + padding)
    if len(digits) > 9:
        return
    block = b"#" + str(len(digits)).encode() + digits.encode() + payload
    assert parse_definite_length_block(block + tail) == (payload, len(block))


@PROPERTY
@given(st.one_of(st.binary(max_size=40), st.binary(max_size=30).map(lambda b: b"#" + b),
                 st.tuples(st.integers(1, 3), st.binary(max_size=20)).map(
                     lambda t: b"#" + str(t[0]).encode() + t[1])))
def test_definite_length_block_parses_consistently_or_says_why_not(data):
    try:
        payload, consumed = parse_definite_length_block(data)
    except ValueError as e:
        assert str(e) and "\n" not in str(e)
    else:
        n = int(data[1:2])
        assert data[:1] == b"#" and 1 <= n <= 9 and data[2 : 2 + n].isdigit()
        assert int(data[2 : 2 + n]) == len(payload) and consumed == 2 + n + len(payload) <= len(data)
        assert data[2 + n : consumed] == payload


# -- *IDN? and *ESR? ----------------------------------------------------------------------


@PROPERTY
@given(st.text(max_size=80))
def test_identity_from_any_text_never_raises(text):
    identity = Identity.from_idn(text)
    assert identity.raw == text.strip()
    assert isinstance(identity.matches(("FLUKE",), ("5522A",)), bool)


IDN_FIELD = r"[ -+\--~]{0,12}"
VALID_IDN = st.from_regex(rf"[A-Z][A-Z -]{{0,15}},[0-9A-Z]{{1,8}},{IDN_FIELD},{IDN_FIELD}", fullmatch=True)


@PROPERTY
@given(st.sampled_from(DRIVERS), replies(VALID_IDN, max_size=60))
def test_identify_accepts_four_printable_fields_only(driver, reply):
    fields = reply.split(",")
    well_formed = (len(fields) == 4 and all(" " <= c <= "~" for c in reply)
                   and fields[0].strip() != "" and fields[1].strip() != "")
    with expected_protocol(driver, [(b"*IDN?\n", wire(reply))]) as instrument:
        try:
            identity = instrument.identify()
        except CalstationError:
            assert not well_formed
        else:
            assert well_formed
            assert [identity.manufacturer, identity.model, identity.serial, identity.firmware] == [
                f.strip() for f in fields]


@PROPERTY
@given(st.sampled_from(DRIVERS), replies(st.integers(0, 300).map(lambda v: f"{v:+d}")))
def test_event_status_is_an_integer_0_to_255(driver, reply):
    with expected_protocol(driver, [(b"*ESR?\n", wire(reply))]) as instrument:
        try:
            value = instrument.event_status()
        except CalstationError:
            assert not (re.fullmatch(r"[+-]?[0-9]{1,3}", reply) and 0 <= int(reply) <= 255)
        else:
            assert re.fullmatch(r"[+-]?[0-9]{1,3}", reply) and value == int(reply) and 0 <= value <= 255


@pytest.mark.parametrize("driver", DRIVERS)
def test_identify_names_the_instrument_on_a_garbled_reply(driver):
    with expected_protocol(driver, [(b"*IDN?\n", b"FLUKE,5522A\n")], name="std") as instrument:
        with pytest.raises(CalstationError, match="std: command '\\*IDN\\?' failed: reply 'FLUKE,5522A' is not four"):
            instrument.identify()


# -- the byte-stream adapter ----------------------------------------------------------------


class Echo(SimulatedInstrument):
    def execute(self, header: str, argument: str) -> str | None:
        return f"{header}|{argument}" if header.endswith("?") else None


LINE = st.text(st.sampled_from("AB?;: 1,\t"), max_size=12)
TERMINATION = st.sampled_from([b"\n", b"\r", b"\r\n"])


@PROPERTY
@given(st.lists(st.tuples(LINE, TERMINATION), max_size=8), st.data())
def test_any_chunking_of_a_byte_stream_gives_the_same_lines_and_replies(lines, data):
    stream = b"".join(text.encode() + term for text, term in lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    whole, chunked = Echo("whole"), Echo("chunked")
    expected = whole.stream().feed(stream)
    adapter = chunked.stream()
    got = b"".join(adapter.feed(stream[a:b]) for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True))
    assert got == expected
    assert list(chunked.received) == list(whole.received)
    assert list(whole.received) == [t for t, _ in lines if t.strip()]


# -- binary blocks over sim:// -----------------------------------------------------------------


class BlockSim(SimulatedInstrument):
    payload = ""

    def execute(self, header: str, argument: str) -> str | None:
        if header == "DATA?":
            return f"#{len(str(len(self.payload)))}{len(self.payload)}{self.payload}"
        return "PONG" if header == "PING?" else None


@PROPERTY
@given(st.binary(max_size=400))
def test_query_binary_block_returns_any_payload_and_stays_in_step(payload):
    sim = BlockSim("blk")
    sim.payload = payload.decode("latin-1")
    transport = open_transport("sim://blk", name="blk", simulators={"blk": sim})
    assert transport.query_binary_block("DATA?") == payload
    assert transport.query("PING?") == "PONG"  # the block's termination was consumed


@PROPERTY
@given(arbitrary_replies(60))
def test_query_binary_block_raises_only_calstation_errors(reply: str) -> None:
    class Raw(SimulatedInstrument):
        def execute(self, header: str, argument: str) -> str | None:
            return reply

    transport = open_transport("sim://raw", name="raw", simulators={"raw": Raw("raw")})
    try:
        payload = transport.query_binary_block("DATA?")
    except CalstationError:
        pass
    else:
        parsed, _ = parse_definite_length_block(reply.encode("latin-1"))
        assert payload == parsed
