"""Benchmarks: scripts that measure the workers against a local SQS (see the Makefile)."""
