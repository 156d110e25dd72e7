"""The example scheduled job: one report of a consumer queue's depth per run (handler.py)."""
