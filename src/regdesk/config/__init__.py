"""Django configuration of the service desk."""
