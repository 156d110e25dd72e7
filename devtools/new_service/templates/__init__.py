"""A service of this platform: the platform calls its handler (handler.py, see service.yaml)."""
