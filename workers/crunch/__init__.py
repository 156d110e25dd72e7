"""The example job family: works for a while, then succeeds or fails on request (handler.py)."""
