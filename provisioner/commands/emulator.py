"""Placeholder: commands of this module are being built."""

import click


def register(group: click.Group) -> None:
    """Add this module's commands to the `telephony` group."""
