"""Option negotiation (refimpl.tftp.options): RFC 2347 (OACK), RFC 2348 (blksize), RFC 2349 (timeout, tsize)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.tftp.options import MAX_BLKSIZE, OptionRefused, Settings, client_accepts, server_accepts


def server(requested, *, reading=True, netascii=False, file_size=1000, max_blksize=MAX_BLKSIZE, max_tsize=None):
    return server_accepts(
        requested,
        reading=reading,
        netascii=netascii,
        file_size=file_size,
        default_timeout=1.0,
        max_blksize=max_blksize,
        max_tsize=max_tsize,
    )


def client(requested, oack, *, reading=True):
    return client_accepts(requested, oack, reading=reading, default_timeout=3.0)


def test_no_options_means_rfc_1350_defaults():
    """RFC 2347: with no options the server sends no OACK (empty answer) and blocks are 512 bytes."""
    assert server({}) == ({}, Settings(blksize=512, timeout=1.0, tsize=None))
    assert client({}, {}) == Settings(blksize=512, timeout=3.0, tsize=None)


# -- blksize (RFC 2348) ------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["8", "512", "1428", "65464", "0008"])
def test_server_accepts_blksize_in_range(value):
    """RFC 2348: 8 to 65464 octets; the OACK carries the size the server will use."""
    accepted, settings = server({"blksize": value})
    assert accepted == {"blksize": str(int(value))} and settings.blksize == int(value)


@pytest.mark.parametrize(
    "value", ["7", "0", "65465", "100000", "-8", "+8", " 8", "8 ", "1e3", "0x10", "", "abc", "9" * 5000]
)
def test_server_leaves_an_invalid_blksize_out(value):
    """RFC 2348, RFC 2347: an option the server cannot accept is left out of the OACK, blocks stay 512."""
    accepted, settings = server({"blksize": value})
    assert "blksize" not in accepted and settings.blksize == 512


def test_server_answers_a_smaller_blksize_than_asked():
    """RFC 2348: "the server may ... specify a smaller block size" (here its max_blksize)."""
    accepted, settings = server({"blksize": "65464"}, max_blksize=1468)
    assert accepted == {"blksize": "1468"} and settings.blksize == 1468
    accepted, settings = server({"blksize": "1024"}, max_blksize=1468)  # below the limit: as asked
    assert accepted == {"blksize": "1024"}


@given(st.integers(8, MAX_BLKSIZE), st.integers(8, MAX_BLKSIZE))
def test_what_the_server_answers_the_client_accepts(asked, limit):
    """RFC 2348: the server's answer is never larger than asked, so the client always takes it."""
    requested = {"blksize": str(asked)}
    accepted, settings = server(requested, max_blksize=limit)
    assert settings.blksize == min(asked, limit)
    assert client(requested, accepted).blksize == settings.blksize


def test_client_refuses_a_blksize_larger_than_it_asked_for():
    """RFC 2348: "the specified value must be less than or equal to the value specified by the client"."""
    with pytest.raises(OptionRefused, match="blksize"):
        client({"blksize": "512"}, {"blksize": "1024"})
    for bad in ("7", "65465", "x", ""):
        with pytest.raises(OptionRefused):
            client({"blksize": "65464"}, {"blksize": bad})
    assert client({"blksize": "1428"}, {"blksize": "1024"}).blksize == 1024


def test_client_without_blksize_in_the_oack_uses_512():
    """RFC 2347: an option the server left out is not in effect."""
    assert client({"blksize": "1428", "tsize": "0"}, {"tsize": "10"}).blksize == 512


# -- timeout (RFC 2349) --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "ok"),
    [("1", True), ("255", True), ("5", True), ("0", False), ("256", False), ("1.5", False), ("", False)],
)
def test_server_accepts_a_timeout_of_1_to_255_seconds(value, ok):
    """RFC 2349: timeout is 1 to 255 seconds; the server takes it as it is, or leaves it out."""
    accepted, settings = server({"timeout": value})
    if ok:
        assert accepted == {"timeout": value} and settings.timeout == float(value)
    else:
        assert accepted == {} and settings.timeout == 1.0


def test_client_wants_its_timeout_echoed():
    """RFC 2349: "the value ... must match the value specified by the client"."""
    assert client({"timeout": "5"}, {"timeout": "5"}).timeout == 5.0
    for bad in ("4", "0", "256", "x"):
        with pytest.raises(OptionRefused, match="timeout"):
            client({"timeout": "5"}, {"timeout": bad})


@pytest.mark.parametrize("requested", [{"timeout": "05"}, {"tsize": "007"}, {"blksize": "01024"}])
def test_numbers_with_leading_zeros_negotiate(requested):
    """RFC 2349, RFC 2348: the server answers the number ("5" for "05"); the client compares numbers."""
    accepted, settings = server(requested, reading=False, file_size=None)
    assert accepted == {name: str(int(value)) for name, value in requested.items()}
    agreed = client(requested, accepted, reading=False)
    assert (agreed.blksize, agreed.tsize) == (settings.blksize, settings.tsize)
    assert "timeout" not in requested or agreed.timeout == settings.timeout == 5.0


# -- tsize (RFC 2349) ------------------------------------------------------------------------------------
def test_rrq_tsize_0_is_answered_with_the_file_size():
    """RFC 2349: in an RRQ the client sends tsize 0 and the OACK says the file's size."""
    accepted, settings = server({"tsize": "0"}, file_size=123456)
    assert accepted == {"tsize": "123456"} and settings.tsize == 123456
    assert client({"tsize": "0"}, accepted).tsize == 123456
    assert server({"tsize": "0"}, file_size=0)[0] == {"tsize": "0"}


def test_netascii_rrq_leaves_tsize_out():
    """RFC 2349, RFC 1350 §1: in netascii the bytes on the wire are not the file's size, so say nothing."""
    accepted, settings = server({"tsize": "0", "blksize": "1024"}, netascii=True, file_size=100)
    assert accepted == {"blksize": "1024"} and settings.tsize is None


def test_wrq_tsize_is_echoed_and_bounded_by_max_upload():
    """RFC 2349: in a WRQ the client says the size; the server echoes it, or refuses a file too large (ERROR 3)."""
    accepted, settings = server({"tsize": "5000"}, reading=False, file_size=None, max_tsize=5000)
    assert accepted == {"tsize": "5000"} and settings.tsize == 5000
    with pytest.raises(OverflowError, match="5001"):
        server({"tsize": "5001"}, reading=False, file_size=None, max_tsize=5000)
    assert server({"tsize": "10" + "0" * 15}, reading=False, file_size=None)[0] == {"tsize": "10" + "0" * 15}


def test_client_checks_the_tsize_answer():
    """RFC 2349: for a WRQ the server echoes the client's tsize; for an RRQ it says a size (a number)."""
    assert client({"tsize": "300"}, {"tsize": "300"}, reading=False).tsize == 300
    with pytest.raises(OptionRefused, match="tsize"):
        client({"tsize": "300"}, {"tsize": "299"}, reading=False)
    with pytest.raises(OptionRefused, match="tsize"):
        client({"tsize": "0"}, {"tsize": "-1"})
    with pytest.raises(OptionRefused, match="tsize"):
        client({"tsize": "0"}, {"tsize": "9" * 5000})  # a huge answer is refused, not a crash


# -- unknown options and the OACK as a whole ----------------------------------------------------------
def test_unknown_options_are_left_out():
    """RFC 2347: the server leaves out every option it does not know (here also RFC 7440's windowsize:
    ``server_accepts`` without ``max_windowsize`` plays a server that does not know it)."""
    accepted, settings = server({"windowsize": "4", "multicast": "", "blksize": "1024", "x": "y"})
    assert accepted == {"blksize": "1024"} and settings == Settings(1024, 1.0, None)


def test_client_refuses_an_oack_with_an_option_it_did_not_ask_for():
    """RFC 2347: the OACK may only acknowledge options the request carried."""
    with pytest.raises(OptionRefused, match="tsize.*not requested"):
        client({"blksize": "1024"}, {"blksize": "1024", "tsize": "10"})
    with pytest.raises(OptionRefused, match="not requested"):
        client({}, {"blksize": "512"})


def test_every_option_at_once():
    """RFC 2347-2349: blksize, timeout and tsize negotiated together, both sides agreeing."""
    requested = {"blksize": "1428", "timeout": "3", "tsize": "0"}
    accepted, settings = server(requested, file_size=99)
    assert accepted == {"blksize": "1428", "timeout": "3", "tsize": "99"}
    assert client(requested, accepted) == settings == Settings(1428, 3.0, 99)


@given(
    st.dictionaries(
        st.sampled_from(["blksize", "timeout", "tsize", "windowsize", "foo"]),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8),
    ),
    st.booleans(),
    st.booleans(),
)
def test_any_request_gets_an_answer_its_client_accepts(requested, reading, netascii):
    """RFC 2347: whatever the client asked, the server's OACK only holds options the client accepts."""
    try:
        accepted, settings = server(requested, reading=reading, netascii=netascii, file_size=777 if reading else None)
    except OverflowError:
        pytest.fail("no max_tsize was set")
    assert set(accepted) <= set(requested) & {"blksize", "timeout", "tsize"}
    assert client(requested, accepted, reading=reading).blksize == settings.blksize


@given(
    st.dictionaries(
        st.sampled_from(["blksize", "windowsize"]),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=6),
    ),
    st.integers(1, 65535),
)
def test_any_windowsize_answer_is_one_the_client_accepts(requested, max_windowsize):
    """RFC 7440 §3: whatever was asked, a granted windowsize is 1..65535, no larger than asked, and accepted."""
    accepted, settings = server_accepts(
        requested, reading=True, netascii=False, file_size=10, default_timeout=1.0, max_windowsize=max_windowsize
    )
    if "windowsize" in accepted:
        assert 1 <= int(accepted["windowsize"]) <= min(int(requested["windowsize"]), max_windowsize)
    assert client(requested, accepted).windowsize == settings.windowsize
