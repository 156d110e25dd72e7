"""The infrastructure: stacks, the constructs they are built from, and the shared pieces."""
