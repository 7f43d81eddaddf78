"""Hypothesis strategies for what comes back from the outside world.

A reply under test is one line of text (any character 0..255 but LF, the
termination), drawn three ways: well-formed in the documented format,
well-formed with one edit (cut short, a character dropped, added,
replaced or doubled: what line faults do), or arbitrary.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st

#: Moderate: the property tests of tests/drivers together take a few seconds.
PROPERTY = settings(max_examples=150, deadline=None)

#: Any character a reply line may hold (the transports decode latin-1).
reply_chars = st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="\n")


def arbitrary_replies(max_size: int = 40) -> st.SearchStrategy[str]:
    """Any line of text."""
    return st.text(reply_chars, max_size=max_size)


@st.composite
def _edited(draw: st.DrawFn, valid: st.SearchStrategy[str]) -> str:
    text = draw(valid)
    kind = draw(st.sampled_from(["cut", "drop", "insert", "replace", "double", "pad"]))
    i = draw(st.integers(0, max(len(text) - 1, 0)))
    char = draw(reply_chars)
    if kind == "cut":
        return text[:i]
    if kind == "drop":
        return text[:i] + text[i + 1 :]
    if kind == "insert":
        return text[:i] + char + text[i:]
    if kind == "replace":
        return text[:i] + char + text[i + 1 :]
    if kind == "double":
        return text + "," + text
    return draw(st.sampled_from([" ", "\r", "\t", "\x00"])) + text


def replies(valid: st.SearchStrategy[str], max_size: int = 40) -> st.SearchStrategy[str]:
    """Valid replies, valid replies with one edit, and arbitrary text."""
    return st.one_of(valid, _edited(valid), arbitrary_replies(max_size))


def wire(reply: str) -> bytes:
    """``reply`` as the instrument sends it: latin-1, LF-terminated."""
    return reply.encode("latin-1") + b"\n"
