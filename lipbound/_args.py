"""argparse ``type`` functions shared by every command: a value out of range is a usage error
(exit status 2, argparse's message naming the option) before any work is done."""

from __future__ import annotations

import argparse
import math


def _number(kind, text: str, ok, want: str):
    try:
        v = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}") from None
    if isinstance(v, float) and not math.isfinite(v) or not ok(v):
        raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}")
    return v


def int_range(lo: int, hi: int, what: str):
    """An argparse ``type`` accepting integers from ``lo`` to ``hi`` (inclusive), naming ``what``
    the number is in its message.

    >>> int_range(1, 5, "cases")("3")
    3
    >>> int_range(1, 5, "cases")("9")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be an integer from 1 to 5 (cases), got '9'
    """

    def parse(text: str) -> int:
        return _number(int, text, lambda v: lo <= v <= hi, f"an integer from {lo} to {hi} ({what})")

    parse.__name__ = "integer"  # argparse names the type in some messages
    return parse


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _number(int, text, lambda v: v >= 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _number(int, text, lambda v: v >= 0, "a non-negative integer")


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0.

    >>> positive_float("2.5"), positive_float("1e-3")
    (2.5, 0.001)
    """
    return _number(float, text, lambda v: v > 0, "a finite positive number")


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    return _number(float, text, lambda v: v >= 0, "a finite non-negative number")
