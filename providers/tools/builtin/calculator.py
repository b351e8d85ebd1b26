"""The ``calculator`` tool: exact arithmetic on one expression, without eval.

The expression is parsed with ``ast`` and only a whitelist of nodes is evaluated. Integers and
decimals become ``Fraction``s, so ``0.1 + 0.2`` is exactly ``3/10``; only irrational steps
(``sqrt`` of a non-square, ``pi``, ``e``, fractional powers) fall back to float, and the answer
then says it is approximate. Sizes are bounded before anything big is computed.
"""

import ast
import difflib
import math
import operator
import warnings
from collections.abc import Callable
from decimal import Decimal, Inexact, localcontext
from fractions import Fraction
from typing import Any

from ..spec import HerdTool, Param, ToolArgumentError, ToolOutput

Num = Fraction | float
MAX_LENGTH = 500
MAX_DIGITS = 10_000
MAX_FACTORIAL = 3_000
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
ARITY = {"sqrt": (1, 1), "abs": (1, 1), "round": (1, 2), "min": (1, 99), "max": (1, 99)}
ARITY |= {"floor": (1, 1), "ceil": (1, 1), "factorial": (1, 1), "gcd": (1, 99)}
BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
UNSUPPORTED_OPS = {ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>", ast.MatMult: "@"}
ALLOWED = "numbers, + - * / // % **, parentheses, the functions " + ", ".join(ARITY) + " and the constants pi, e"


def fail(message: str) -> ToolArgumentError:
    return ToolArgumentError(f"calculator: {message}")


def too_big() -> ToolArgumentError:
    return fail(f"the result would have more than {MAX_DIGITS} digits; use smaller numbers")


def decimal_text(x: Fraction, digits: int = 10) -> tuple[str, bool]:
    """``x`` to ``digits`` significant digits, and whether that is exact."""
    with localcontext() as ctx:
        ctx.prec = digits
        ctx.clear_flags()
        d = (Decimal(x.numerator) / Decimal(x.denominator)).normalize()
        exact = not ctx.flags[Inexact]
    if d == 0:
        return "0", exact
    return format(d, "f" if -7 <= d.adjusted() < 15 else "e"), exact


def int_text(n: int) -> str:
    return str(Decimal(n))  # str(int) refuses more than 4300 digits; Decimal does not


def shown(value: Any, limit: int = 80) -> str:
    """``value`` for an error message: its repr, cut to ``limit`` characters."""
    try:
        text = repr(value)
    except ValueError:  # an int over 4300 digits
        text = f"a {len(int_text(value))}-digit number"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def whole(name: str, x: Num) -> int:
    if isinstance(x, Fraction) and x.denominator == 1:
        return x.numerator
    raise fail(f"{name}() needs whole numbers, not {decimal_text(Fraction(x))[0]}")


def floats(*xs: Num) -> list[float]:
    try:
        return [float(x) for x in xs]
    except OverflowError:
        raise too_big() from None


def checked(x: Num) -> Num:
    if isinstance(x, float):
        if not math.isfinite(x):
            raise too_big()
    elif max(abs(x.numerator).bit_length(), x.denominator.bit_length()) * math.log10(2) > MAX_DIGITS:
        raise too_big()
    return x


def iroot(n: int, k: int) -> int | None:
    """The exact integer ``k``-th root of ``n`` >= 0, or None (Newton's method from above)."""
    if n < 2:
        return n
    x = 1 << -(-n.bit_length() // k)
    while (y := ((k - 1) * x + n // x ** (k - 1)) // k) < x:
        x = y
    return x if x**k == n else None


def exact_root(x: Fraction, k: int) -> Fraction | None:
    if x < 0 or k > 1000:
        return None
    num, den = iroot(x.numerator, k), iroot(x.denominator, k)
    return None if num is None or den is None else Fraction(num, den)


def power(base: Num, exp: Num) -> Num:
    if isinstance(base, Fraction) and isinstance(exp, Fraction):
        if exp.denominator == 1:
            n = exp.numerator
            if base == 0 and n < 0:
                raise fail("division by zero: 0 cannot be raised to a negative power")
            if base in (0, 1, -1):
                return base**n
            # |base| != 1, so the result has at least 0.3 * |n| digits: refuse before computing
            size = max(math.log10(abs(base.numerator)), math.log10(base.denominator))
            if abs(n) > 4 * MAX_DIGITS or abs(n) * size > MAX_DIGITS:
                raise too_big()
            return base**n
        root = exact_root(base, exp.denominator)
        if root is not None:
            return power(root, Fraction(exp.numerator))
    b, x = floats(base, exp)
    if b < 0 and not x.is_integer():
        raise fail("a negative number to a fractional power is not a real number")
    if b == 0 and x < 0:
        raise fail("division by zero: 0 cannot be raised to a negative power")
    try:
        return b**x
    except OverflowError:
        raise too_big() from None


def binary(op: ast.operator, a: Num, b: Num) -> Num:
    if isinstance(op, ast.Pow):
        return power(a, b)
    if isinstance(op, ast.BitXor):
        raise fail("'^' is not a power operator here; write 2**3 for 2 to the power 3")
    fn = BINARY.get(type(op))
    if fn is None:
        raise fail(f"the operator {UNSUPPORTED_OPS.get(type(op), '?')!r} is not supported; use {ALLOWED}")
    if b == 0 and isinstance(op, ast.Div | ast.FloorDiv | ast.Mod):
        raise fail("division by zero")
    result = fn(*floats(a, b)) if isinstance(a, float) or isinstance(b, float) else fn(a, b)
    return Fraction(result) if isinstance(result, int) else result


def half_up(x: Num, places: int) -> Fraction:
    """Rounds halves away from zero, as a pocket calculator does (Python's round goes to even)."""
    scale = Fraction(10) ** places
    y = Fraction(math.floor(abs(Fraction(x)) * scale + Fraction(1, 2))) / scale
    return -y if x < 0 else y


def rounded(args: list[Num]) -> Num:
    places = whole("round", args[1]) if len(args) == 2 else 0
    if abs(places) > 100:
        raise fail("round() takes at most 100 decimal places")
    return half_up(args[0], places)


def sqrt(args: list[Num]) -> Num:
    (x,) = args
    if x < 0:
        raise fail("sqrt() of a negative number is not a real number")
    root = exact_root(x, 2) if isinstance(x, Fraction) else None
    return root if root is not None else math.sqrt(floats(x)[0])


def factorial(args: list[Num]) -> Num:
    n = whole("factorial", args[0])
    if not 0 <= n <= MAX_FACTORIAL:
        raise fail(f"factorial() takes a whole number from 0 to {MAX_FACTORIAL}, not {n}")
    return Fraction(math.factorial(n))


FUNCTIONS: dict[str, Callable[[list[Num]], Num]] = {
    "sqrt": sqrt,
    "abs": lambda a: -a[0] if a[0] < 0 else a[0],
    "round": rounded,
    "min": min,
    "max": max,
    "floor": lambda a: Fraction(math.floor(a[0])),
    "ceil": lambda a: Fraction(math.ceil(a[0])),
    "factorial": factorial,
    "gcd": lambda a: Fraction(math.gcd(*(whole("gcd", x) for x in a))),
}


class Evaluator:
    """Walks the parsed expression; anything off the whitelist is a ToolArgumentError."""

    def __init__(self, source: str) -> None:
        self.source = source

    def eval(self, node: ast.expr) -> Num:
        match node:
            case ast.Constant(value=bool() | str() | bytes() | complex() | None):
                raise fail(f"{ast.unparse(node)} is not a number")
            case ast.Constant(value=int() as value):
                return checked(Fraction(value))
            case ast.Constant(value=float()):
                return self.literal(node)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                return -self.eval(operand)
            case ast.UnaryOp(op=ast.UAdd(), operand=operand):
                return +self.eval(operand)
            case ast.BinOp(left=left, op=op, right=right):
                return checked(binary(op, self.eval(left), self.eval(right)))
            case ast.Name(id=name) if name in CONSTANTS:
                return CONSTANTS[name]
            case ast.Name(id=name):
                raise fail(f"unknown name {name!r}{suggest(name)}; the known constants are pi and e")
            case ast.Call():
                return checked(self.call(node))
            case ast.Attribute():
                raise fail(f"attribute access ({ast.unparse(node)}) is not allowed; use only {ALLOWED}")
            case ast.Tuple():
                raise fail("a comma outside a function call is not allowed; write numbers without thousands separators")
        raise fail(f"{ast.unparse(node)!r} is not allowed; use only {ALLOWED}")

    def literal(self, node: ast.Constant) -> Fraction:
        """A decimal literal exactly as written, so 0.1 is 1/10 and not the float nearest it."""
        text = (ast.get_source_segment(self.source, node) or repr(node.value)).replace("_", "")
        value = Decimal(text)
        if not value.is_finite() or abs(value.adjusted()) > MAX_DIGITS:
            raise too_big()
        return Fraction(value)

    def call(self, node: ast.Call) -> Num:
        if not isinstance(node.func, ast.Name):
            raise fail(f"{ast.unparse(node.func)!r} cannot be called; the functions are {', '.join(FUNCTIONS)}")
        name = node.func.id
        if name not in FUNCTIONS:
            raise fail(f"unknown function {name!r}{suggest(name)}; the functions are {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise fail(f"{name}() takes no keyword arguments")
        low, high = ARITY[name]
        if not low <= len(node.args) <= high:
            expected = str(low) if low == high else f"{low} to {high}"
            raise fail(f"{name}() takes {expected} argument(s), not {len(node.args)}")
        return FUNCTIONS[name]([self.eval(arg) for arg in node.args])


def suggest(name: str) -> str:
    close = difflib.get_close_matches(name, [*FUNCTIONS, *CONSTANTS], n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def syntax_message(expr: str, err: SyntaxError) -> str:
    pos = err.offset or 0
    if err.msg == "invalid syntax" and 1 <= pos <= len(expr):
        detail = f"unexpected {expr[pos - 1]!r} at position {pos}"
        if expr[pos - 1] == "!":
            detail += "; write factorial(5) for 5!"
        elif expr[pos - 1] == "=":
            detail += "; send only the expression, without '='"
    elif err.msg == "invalid syntax":
        detail = "it is incomplete (it ends with an operator or is empty)"
    else:
        detail = f"{err.msg} (at position {pos})"
    return f"{shown(expr)} is not an arithmetic expression: {detail}"


def evaluate(expression: str) -> Num:
    """The value of ``expression``; a ToolArgumentError says what is wrong with it."""
    if len(expression) > MAX_LENGTH:
        raise fail(f"the expression is {len(expression)} characters long; send at most {MAX_LENGTH}")
    try:
        with warnings.catch_warnings():  # "1if 2" parses, with a SyntaxWarning printed to stderr
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(expression, mode="eval")
        return Evaluator(expression).eval(tree.body)
    except SyntaxError as err:
        raise fail(syntax_message(expression, err)) from None
    except (RecursionError, MemoryError):
        raise fail("the expression is nested too deeply") from None
    except (OverflowError, ValueError, ArithmeticError) as err:
        raise fail(f"cannot compute {shown(expression)}: {err}") from None


async def run(expression: Any) -> ToolOutput:
    if isinstance(expression, bool) or not isinstance(expression, str | int | float):
        raise fail(f"expression must be a string such as '2 * (3 + 4)', not {type(expression).__name__}")
    text = int_text(expression) if isinstance(expression, int) else str(expression)
    expr = text.strip().translate(str.maketrans("×÷−", "*/-"))
    if not expr:
        raise fail("the expression is empty; send one such as '2 * (3 + 4)'")
    value = evaluate(expr)
    if isinstance(value, float):
        decimal = decimal_text(Fraction(value))[0]
        text, result = f"≈ {decimal}", repr(value)
    elif value.denominator == 1:
        text = result = decimal = int_text(value.numerator)
    else:
        decimal, exact = decimal_text(value)
        result = f"{int_text(value.numerator)}/{int_text(value.denominator)}"
        text = f"{result} {'=' if exact else '≈'} {decimal}"
    data = {"expression": expr, "result": result, "decimal": decimal, "exact": not isinstance(value, float)}
    return ToolOutput(text=text, data=data)


CALCULATOR = HerdTool(
    name="calculator",
    description=(
        "Evaluate an arithmetic expression exactly, e.g. '(2 + 3) * 4 / 7' or 'sqrt(2) * 10**3'. "
        f"Supports {ALLOWED}. Write powers as 2**8, not 2^8."
    ),
    params=(Param("expression", "The arithmetic expression, e.g. '0.1 + 0.2' or 'factorial(20) / 3'"),),
    run=run,
)
