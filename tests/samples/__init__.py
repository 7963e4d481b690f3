"""Where the real-world sample files live (see README.md in this folder)."""

from pathlib import Path

SAMPLES = Path(__file__).parent
ESMA = SAMPLES / "esma"
OKX = SAMPLES / "okx"
