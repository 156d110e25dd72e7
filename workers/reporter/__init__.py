"""The reporter job: one report of the consumer queue's depth per run, then exit.

Run it with `python -m workers.reporter`; EventBridge Scheduler starts it as a Fargate task.
"""
