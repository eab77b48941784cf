"""Stands in for the finder setuptools writes for an editable install."""


def install() -> None:
    pass
