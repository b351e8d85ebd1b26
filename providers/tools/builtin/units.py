"""The ``convert_units`` tool: unit conversion from Herd's own exact table.

Every factor is a ``Fraction`` of the dimension's base unit, so 1 in is exactly 2.54 cm.
Volumes are US customary (cup 236.5882365 ml, US gallon 3.785411784 l, US fl oz and pint); the
calorie is the thermochemical 4.184 J; KB/MB/GB/TB are decimal and KiB/MiB/GiB/TiB binary; bits
are not units here. Temperatures (C, F, K) convert with offsets, through kelvin.
"""

import difflib
from decimal import Decimal, InvalidOperation
from fractions import Fraction as F
from typing import Any

from ..spec import HerdTool, Param, ToolArgumentError, ToolOutput
from .calculator import decimal_text, shown

GALLON = F("3.785411784")  # litres, US
LB, INCH = F("0.45359237"), F("0.0254")  # kg, m
# dimension -> unit -> (factor to the dimension's base unit, aliases besides the unit's own name)
TABLE: dict[str, dict[str, tuple[F, tuple[str, ...]]]] = {
    "length": {
        "mm": (F(1, 1000), ("millimeter", "millimetre")),
        "cm": (F(1, 100), ("centimeter", "centimetre")),
        "m": (F(1), ("meter", "metre")),
        "km": (F(1000), ("kilometer", "kilometre")),
        "in": (INCH, ("inch", "inches")),
        "ft": (12 * INCH, ("foot", "feet")),
        "yd": (36 * INCH, ("yard",)),
        "mi": (F("1609.344"), ("mile",)),
        "nmi": (F(1852), ("nautical mile",)),
    },
    "mass": {
        "mg": (F(1, 10**6), ("milligram",)),
        "g": (F(1, 1000), ("gram", "gramme")),
        "kg": (F(1), ("kilogram", "kilo")),
        "t": (F(1000), ("tonne", "metric ton")),
        "oz": (LB / 16, ("ounce",)),
        "lb": (LB, ("pound", "lbs")),
        "st": (14 * LB, ("stone",)),
    },
    "time": {
        "ms": (F(1, 1000), ("millisecond", "msec")),
        "s": (F(1), ("second", "sec")),
        "min": (F(60), ("minute",)),
        "h": (F(3600), ("hour", "hr")),
        "day": (F(86400), ("d",)),
        "week": (F(604800), ("wk",)),
    },
    "volume": {
        "ml": (F(1, 1000), ("milliliter", "millilitre")),
        "l": (F(1), ("liter", "litre")),
        "m3": (F(1000), ("cubic meter", "cubic metre")),
        "tsp": (GALLON / 768, ("teaspoon",)),
        "tbsp": (GALLON / 256, ("tablespoon",)),
        "cup": (GALLON / 16, ()),
        "fl oz": (GALLON / 128, ("fluid ounce", "floz")),
        "pint": (GALLON / 8, ("pt",)),
        "gallon": (GALLON, ("gal",)),
    },
    "area": {
        "m2": (F(1), ("square meter", "square metre", "sq m", "sqm")),
        "km2": (F(10**6), ("square kilometer", "square kilometre", "sq km")),
        "ha": (F(10**4), ("hectare",)),
        "acre": (F("4046.8564224"), ("ac",)),
        "ft2": (144 * INCH**2, ("square foot", "square feet", "sq ft", "sqft")),
    },
    "speed": {
        "m/s": (F(1), ("meter per second", "metre per second", "mps")),
        "km/h": (F(5, 18), ("kph", "kmh", "km/hr", "kilometer per hour", "kilometre per hour")),
        "mph": (F("1609.344") / 3600, ("mi/h", "mile per hour")),
        "knot": (F(1852, 3600), ("kn", "kt")),
    },
    "data": {
        "B": (F(1), ("byte",)),
        "KB": (F(1000), ("kilobyte",)),
        "MB": (F(1000**2), ("megabyte",)),
        "GB": (F(1000**3), ("gigabyte",)),
        "TB": (F(1000**4), ("terabyte",)),
        "KiB": (F(1024), ("kibibyte",)),
        "MiB": (F(1024**2), ("mebibyte",)),
        "GiB": (F(1024**3), ("gibibyte",)),
        "TiB": (F(1024**4), ("tebibyte",)),
    },
    "energy": {
        "J": (F(1), ("joule",)),
        "kJ": (F(1000), ("kilojoule",)),
        "cal": (F("4.184"), ("calorie",)),
        "kcal": (F(4184), ("kilocalorie",)),
        "Wh": (F(3600), ("watt hour", "watt-hour")),
        "kWh": (F(3_600_000), ("kilowatt hour", "kilowatt-hour")),
    },
    "pressure": {
        "Pa": (F(1), ("pascal",)),
        "kPa": (F(1000), ("kilopascal",)),
        "bar": (F(100_000), ()),
        "psi": (LB * F("9.80665") / INCH**2, ("pound per square inch",)),
        "atm": (F(101_325), ("atmosphere",)),
    },
    # degrees: K = (value + offset) * factor, so C and F keep their zero points
    "temperature": {
        "C": (F(1), ("celsius", "centigrade", "degc", "degree celsius")),
        "F": (F(5, 9), ("fahrenheit", "degf", "degree fahrenheit")),
        "K": (F(1), ("kelvin", "degree kelvin")),
    },
}
OFFSETS = {"C": F("273.15"), "F": F("459.67"), "K": F(0)}


def normal(unit: str) -> str:
    key = " ".join(unit.strip().lower().replace("°", "").replace("º", "").split())
    return key.replace("²", "2").replace("³", "3").replace("^", "").replace(" / ", "/")


def build_index() -> dict[str, tuple[str, str]]:
    index: dict[str, tuple[str, str]] = {}
    for dimension, units in TABLE.items():
        for unit, (_, aliases) in units.items():
            for alias in (unit, *aliases):
                key = normal(alias)
                if index.setdefault(key, (dimension, unit)) != (dimension, unit):
                    raise AssertionError(f"unit alias {alias!r} is ambiguous")
    return index


INDEX = build_index()


def find(unit: str) -> tuple[str, str] | None:
    """(dimension, unit) for a unit name, its alias, plural or spelling without spaces."""
    key = normal(unit)
    singular = " ".join(
        w[:-1] if len(w) > 3 and w.endswith("s") and w[-2:] not in ("us", "ss") else w for w in key.split()
    )
    return INDEX.get(key) or INDEX.get(singular) or INDEX.get(key.replace(" ", ""))


def listing(dimension: str) -> str:
    return f"{dimension} units: {', '.join(TABLE[dimension])}"


def unknown(what: str, unit: str, dimension: str | None) -> ToolArgumentError:
    close = dict.fromkeys(INDEX[k][1] for k in difflib.get_close_matches(normal(unit), INDEX, n=5, cutoff=0.6))
    hint = f"; did you mean {', '.join(close)}?" if close else "."
    accepted = listing(dimension) if dimension else "; ".join(listing(d) for d in TABLE)
    return ToolArgumentError(f"convert_units: unknown {what} {shown(unit)}{hint} Accepted {accepted}")


def number(value: Any) -> F:
    try:
        if isinstance(value, bool):
            raise TypeError
        exact = Decimal(str(value).strip())
    except (TypeError, ValueError, InvalidOperation):  # str() of an int over 4300 digits is a ValueError
        exact = Decimal("NaN")
    if not exact.is_finite() or abs(exact.adjusted()) > 100:  # so every result stays within float range
        raise ToolArgumentError(
            f"convert_units: value must be a number such as 2.54 or 1500 (at most 1e100), not {shown(value)}"
        )
    return F(exact)


def number_text(x: F) -> tuple[str, bool]:
    if x.denominator == 1 and abs(x) < 10**21:
        return str(x.numerator), True
    return decimal_text(x)


def convert(value: F, dimension: str, source: str, target: str) -> F:
    (source_factor, _), (target_factor, _) = TABLE[dimension][source], TABLE[dimension][target]
    if dimension != "temperature":
        return value * source_factor / target_factor
    kelvin = (value + OFFSETS[source]) * source_factor
    if kelvin < 0:
        raise ToolArgumentError(f"convert_units: {number_text(value)[0]} {source} is below absolute zero")
    return kelvin / target_factor - OFFSETS[target]


async def run(value: Any, from_unit: Any, to_unit: Any) -> ToolOutput:
    amount = number(value)
    source = find(from_unit) if isinstance(from_unit, str) else None
    target = find(to_unit) if isinstance(to_unit, str) else None
    if source is None:
        raise unknown("from_unit", str(from_unit), target and target[0])
    if target is None:
        raise unknown("to_unit", str(to_unit), source[0])
    (dimension, src), (target_dimension, dst) = source, target
    if dimension != target_dimension:
        raise ToolArgumentError(
            f"convert_units: cannot convert {src} ({dimension}) to {dst} ({target_dimension}); "
            f"{src} converts only to {listing(dimension)}"
        )
    result = convert(amount, dimension, src, dst)
    shown, exact = number_text(result)
    text = f"{number_text(amount)[0]} {src} {'=' if exact else '≈'} {shown} {dst}"
    data = {
        "value": float(amount),
        "from_unit": src,
        "to_unit": dst,
        "dimension": dimension,
        "result": result.numerator if result.denominator == 1 else float(result),
        "result_exact": str(result),
        "text": text,
    }
    return ToolOutput(text=text, data=data)


CONVERT_UNITS = HerdTool(
    name="convert_units",
    description=(
        "Convert a value between units of length, mass, time, volume (US), area, speed, data, energy, "
        "pressure or temperature, e.g. 5 mi to km, 100 F to C, 2 GiB to MB."
    ),
    params=(
        Param("value", "The amount to convert, e.g. 2.5", type="number"),
        Param("from_unit", "The unit of the value, e.g. 'km', 'lb', '°F', 'GiB'"),
        Param("to_unit", "The unit to convert to, e.g. 'mi', 'kg', 'C', 'MB'"),
    ),
    run=run,
)
