"""The check helper the reader scripts share: each check is counted, and the
first one that fails ends the script with `FAIL: <message>` (exit status 1)."""
import sys


class Checks:
    def __init__(self):
        self.count = 0

    def __call__(self, cond, msg):
        self.count += 1
        if not cond:
            sys.exit(f"FAIL: {msg}")
