"""Errors the registry raises; app.py and the CLI map them to answers."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of every registry error."""


class NotFound(RegistryError):
    """The thing asked for does not exist."""


class InvalidData(RegistryError):
    """Input that cannot be stored as it is; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def N_(message: str) -> str:
    """Mark a problem's text for the catalogs; the edge that knows the reader's language translates it."""
    return message


class Problem(str):
    """One refused input: reads as English, and keeps its template and values for a translating edge."""

    template: str
    values: dict[str, str | int]

    def __new__(cls, template: str, **values: str | int) -> Problem:
        """Format template with values, keeping both."""
        problem = super().__new__(cls, template.format(**values))
        problem.template = template
        problem.values = values
        return problem
