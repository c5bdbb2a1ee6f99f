import pytest

from patients.npi import npi_is_valid


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_known_valid_npis_pass(npi):
    assert npi_is_valid(npi)


@pytest.mark.parametrize(
    "npi",
    [
        "1234567890",
        "1234567894",
        "123456789",
        "12345678931",
        "12345678a3",
        "１２３４５６７８９３",
        "",
    ],
)
def test_invalid_npis_fail(npi):
    assert not npi_is_valid(npi)
