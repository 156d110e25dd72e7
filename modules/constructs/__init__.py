"""Reusable constructs the stacks are composed of."""
