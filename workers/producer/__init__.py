"""The example producer: sends the current UNIX time to its consumer's queue (handler.py)."""
