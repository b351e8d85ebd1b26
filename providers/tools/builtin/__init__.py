"""Herd's built-in tools, in plain Python: calculator, clock, unit conversion and calendar invites.

``BUILTIN_TOOLS`` are the tools every deployment offers; they need no network. ``fetch_page``
(``web_fetch.WEB_FETCH_TOOL``) is not among them: Herd is offline-first, so it is enabled only
on purpose.
"""

from ..spec import HerdTool
from .calculator import CALCULATOR
from .calendar_invite import CREATE_INVITE
from .clock import CONVERT_TIME, CURRENT_TIME
from .units import CONVERT_UNITS

BUILTIN_TOOLS: tuple[HerdTool, ...] = (CALCULATOR, CURRENT_TIME, CONVERT_TIME, CONVERT_UNITS, CREATE_INVITE)
_BY_NAME = {tool.name: tool for tool in BUILTIN_TOOLS}


def builtin_tool(name: str) -> HerdTool:
    """The built-in tool called ``name``; KeyError names the ones there are."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no built-in tool {name!r}; the built-in tools are {', '.join(_BY_NAME)}") from None
