"""Map where the Afghan Taliban and Islamic State-Khorasan have fought."""

from __future__ import annotations

__version__ = "0.1.0"
