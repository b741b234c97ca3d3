"""USD amounts as integer micro-dollars: parsing and rendering, never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings

from config.errors import ValidationFailed, invalid_field

MICROS_PER_USD = 1_000_000
_QUANTUM = Decimal("0.000001")


def parse_usd(value: object, *, field: str = "amount", allow_zero: bool = False) -> int:
    """A USD amount from a decimal string, an integer or a Decimal, in micro-dollars.

    Floats are refused: JSON numbers with a fraction lose precision on the way in,
    so clients send such amounts as strings ("0.002").
    """
    if isinstance(value, bool | float):
        raise ValidationFailed(
            f'{field} must be a decimal string such as "12.5" or an integer, not a float.',
            details={"fields": {field: ["Send amounts as decimal strings."]}},
        )
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 32 or not all(c in "0123456789.+-" for c in text):
            raise invalid_field(field, 'must be a decimal number such as "12.5".')
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise invalid_field(field, 'must be a decimal number such as "12.5".') from None
    else:
        raise invalid_field(field, "must be a decimal string or an integer.")
    if not amount.is_finite():
        raise invalid_field(field, "must be a finite number.")
    if amount.as_tuple().exponent < -6:  # type: ignore[operator]
        raise invalid_field(field, "has more than 6 decimals.")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise invalid_field(
            field, "must be positive." if not allow_zero else "must not be negative."
        )
    if amount > settings.MAX_CREDIT_AMOUNT_USD:
        raise invalid_field(field, f"must be at most {settings.MAX_CREDIT_AMOUNT_USD} USD.")
    return int(amount * MICROS_PER_USD)


def format_usd(micros: int) -> str:
    """Micro-dollars as a decimal string with 6 places: 5000000 -> "5.000000"."""
    return str((Decimal(micros) / MICROS_PER_USD).quantize(_QUANTUM))
