"""The producer service: sends the current UNIX time to the consumer's queue at random intervals.

Run it with `python -m workers.producer`; the platform code it uses lives in
`workers.runtime`.
"""
