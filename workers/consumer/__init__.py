"""The example consumer: reports whether each number it receives is even (handler.py)."""
