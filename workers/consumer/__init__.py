"""The consumer service: the example handler reports whether each number it receives is even.

Run it with `python -m workers.consumer`. The developer's part is `handler.py` (one plain
function); polling, concurrency, retries, deletes, shutdown, scale-in protection and logs
belong to the platform, in `workers.runtime.consumer`.
"""
