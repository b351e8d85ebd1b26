"""Agent definitions: named agents the server exposes as model ``agent:NAME``."""
