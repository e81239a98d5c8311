"""Throwaway Django settings for the peer (django-helpdesk) in benchmarks/email_ingest.py."""
