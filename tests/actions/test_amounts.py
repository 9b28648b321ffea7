"""Amounts as shoppers write them, in KES minor units."""
import pytest

from actions.amounts import parse_amount


@pytest.mark.parametrize("text, minor", [
    ("2000", 200000), ("2,000", 200000), ("KES 5,000", 500000), ("ksh 2000", 200000),
    ("kshs.1500", 150000), ("2k", 200000), ("1.5k", 150000), ("2.5K", 250000),
    ("2 thao", 200000), ("2thao", 200000), ("500 bob", 50000), ("1500 bob", 150000),
    ("shilingi 1000", 100000), ("2000/-", 200000), ("elfu mbili", 200000),
    ("elfu moja na mia tano", 150000), ("mia tano", 50000), ("elfu tatu", 300000),
    ("elfu", 100000), ("soo", 10000), ("mbao", 2000), ("1,250,000", 125000000),
])
def test_amounts(text, minor):
    assert parse_amount(text) == minor


@pytest.mark.parametrize("text", [None, "", "cheap", "bei poa", "0", "kitu kizuri"])
def test_no_amount(text):
    assert parse_amount(text) is None
