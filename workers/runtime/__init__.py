"""The platform side of every worker: configuration from the environment, logs, the SQS client,
and the loops around a developer's code. Each image gets a copy of this package at build time."""
