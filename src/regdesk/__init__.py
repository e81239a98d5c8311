"""regdesk: a service desk run by its written support regulation."""

__version__ = "0.1.0"
