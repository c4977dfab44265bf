"""State shared by the feed writers of one generation run."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from .pupils import Pupils
from .region import Region
from .truth import DefectPlanter
from .writers import FileSpec, Rotator


@dataclass
class Run:
    region: Region
    pupils: Pupils
    planter: DefectPlanter
    seed: int
    rot: Rotator = field(default_factory=Rotator)
    files: list[FileSpec] = field(default_factory=list)
    extra_truth: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)

    def rng(self, *key) -> np.random.Generator:
        """An independent stream per purpose, so one feed's changes do not reshuffle another's."""
        return np.random.default_rng([self.seed, zlib.crc32(repr(key).encode("utf-8"))])

    def add(self, spec: FileSpec) -> FileSpec:
        self.files.append(spec)
        return spec
