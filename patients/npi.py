"""National Provider Identifier: ten digits whose last is a Luhn check digit
computed over the first nine with the card-issuer prefix 80840."""

_PREFIX = "80840"


def npi_check_digit(first_nine: str) -> int:
    """The Luhn check digit for ``80840`` + ``first_nine``."""
    digits = [int(d) for d in _PREFIX + first_nine]
    total = 0
    # Double every second digit from the right of the payload (the check digit is appended).
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def npi_is_valid(value: str) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 10
        and value.isascii()
        and value.isdigit()
        and npi_check_digit(value[:9]) == int(value[9])
    )
