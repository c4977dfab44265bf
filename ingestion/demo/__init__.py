"""Demo region generator: writes every feed of docs/feed_layouts.md for a simulated Krasnoyarsk Krai."""

from .generator import FEEDS, generate_region

__all__ = ["FEEDS", "generate_region"]
