"""Errors the registry raises; app.py and the CLI map them to answers."""


class RegistryError(Exception):
    """Base of every registry error."""


class NotFound(RegistryError):
    """The thing asked for does not exist."""


class InvalidData(RegistryError):
    """Input that cannot be stored as it is; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
