"""Herd: a Llama Stack distribution for agentic applications."""

__version__ = "0.1.0"
