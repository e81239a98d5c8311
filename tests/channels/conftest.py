"""The real SMTP server fixture of the background tests serves the mail-out tests too."""

from tests.background.conftest import smtp_server

__all__ = ["smtp_server"]
