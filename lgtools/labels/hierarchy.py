"""The ``Hierarchy`` type: which coarse class each fine class belongs to.

The built-in hierarchies are data in ``lgtools.labels.builtin``; the training loop maps fine
predictions to coarse ones with ``Hierarchy.to_coarse``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence, TypeVar

import numpy as np
import torch

from lgtools.labels.validate import as_label_array

LabelArray = TypeVar("LabelArray", np.ndarray, torch.Tensor)


@dataclass(frozen=True, eq=False)
class Hierarchy:
    """An immutable map from fine classes (in dataset label order) to coarse classes."""

    fine_names: tuple[str, ...]
    coarse_names: tuple[str, ...]
    fine_to_coarse: np.ndarray  # int64, read-only, one coarse index per fine class
    name: str = "custom"
    fine_ids: tuple[str, ...] | None = None  # e.g. WordNet ids of ImageNet classes

    def __post_init__(self) -> None:
        fine = tuple(str(f) for f in self.fine_names)
        coarse = tuple(str(c) for c in self.coarse_names)
        mapping = np.array(self.fine_to_coarse, dtype=np.int64).reshape(-1)
        _check_unique(fine, "fine_names")
        _check_unique(coarse, "coarse_names")
        if len(fine) == 0 or len(coarse) == 0:
            raise ValueError("Hierarchy needs at least one fine and one coarse class")
        if mapping.shape[0] != len(fine):
            raise ValueError(
                f"fine_to_coarse has {mapping.shape[0]} entries; expected one per fine class ({len(fine)})"
            )
        bad = [fine[i] for i in np.flatnonzero((mapping < 0) | (mapping >= len(coarse)))]
        if bad:
            raise ValueError(f"fine_to_coarse: {bad} map outside 0..{len(coarse) - 1}")
        empty = [coarse[c] for c in range(len(coarse)) if not np.any(mapping == c)]
        if empty:
            raise ValueError(f"empty coarse class(es): {empty}")
        ids = None if self.fine_ids is None else tuple(str(i) for i in self.fine_ids)
        if ids is not None:
            if len(ids) != len(fine):
                raise ValueError(f"fine_ids has {len(ids)} entries; expected {len(fine)}")
            _check_unique(ids, "fine_ids")
        mapping.setflags(write=False)  # shared safely: nobody can edit a hierarchy in place
        object.__setattr__(self, "fine_names", fine)
        object.__setattr__(self, "coarse_names", coarse)
        object.__setattr__(self, "fine_to_coarse", mapping)
        object.__setattr__(self, "fine_ids", ids)

    # --- comparison (the name is a label, not part of the structure) ---
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hierarchy):
            return NotImplemented
        return (
            self.fine_names == other.fine_names
            and self.coarse_names == other.coarse_names
            and np.array_equal(self.fine_to_coarse, other.fine_to_coarse)
            and self.fine_ids == other.fine_ids
        )

    def __hash__(self) -> int:
        return hash((self.fine_names, self.coarse_names, self.fine_to_coarse.tobytes()))

    @property
    def num_fine(self) -> int:
        """Number of fine classes."""
        return len(self.fine_names)

    @property
    def num_coarse(self) -> int:
        """Number of coarse classes."""
        return len(self.coarse_names)

    def coarse_index(self, coarse: str | int) -> int:
        """Index of a coarse class given by name or index."""
        if isinstance(coarse, (int, np.integer)) and not isinstance(coarse, bool):
            if 0 <= int(coarse) < self.num_coarse:
                return int(coarse)
            raise ValueError(f"coarse index {coarse} outside 0..{self.num_coarse - 1}")
        if coarse in self.coarse_names:
            return self.coarse_names.index(coarse)
        raise ValueError(f"unknown coarse class {coarse!r}; known: {list(self.coarse_names)}")

    def fine_index(self, fine: str) -> int:
        """Label index of a fine class name."""
        if fine in self.fine_names:
            return self.fine_names.index(fine)
        raise ValueError(f"unknown fine class {fine!r}; known: {list(self.fine_names)}")

    def members(self, coarse: str | int) -> tuple[str, ...]:
        """Fine class names of one coarse class (name or index), in label order."""
        c = self.coarse_index(coarse)
        return tuple(f for f, k in zip(self.fine_names, self.fine_to_coarse) if k == c)

    def to_coarse(self, fine_labels: LabelArray) -> LabelArray:
        """Map fine labels to coarse labels; numpy in → numpy out, tensor in → tensor (same device) out."""
        if isinstance(fine_labels, torch.Tensor):
            if fine_labels.device.type == "cpu":  # on an accelerator a range check would force a host sync
                as_label_array(fine_labels, "fine_labels", self.num_fine)
            table = torch.as_tensor(self.fine_to_coarse.copy(), device=fine_labels.device)
            return table[fine_labels.long()]
        return self.fine_to_coarse[as_label_array(fine_labels, "fine_labels", self.num_fine)]

    def same_coarse(self) -> np.ndarray:
        """num_fine × num_fine bool matrix B of eq. (1): True where two fine classes share a coarse class."""
        return self.fine_to_coarse[:, None] == self.fine_to_coarse[None, :]

    def multi_hot(self) -> np.ndarray:
        """num_fine × num_fine float32: row i is 1 on every fine class sharing i's coarse class."""
        return self.same_coarse().astype(np.float32)

    def bits(self) -> str:
        """Table VI notation: character i is the coarse index of fine class i (needs ≤ 10 coarse classes)."""
        if self.num_coarse > 10:
            raise ValueError(f"bits() needs at most 10 coarse classes, this hierarchy has {self.num_coarse}")
        return "".join(str(int(c)) for c in self.fine_to_coarse)

    def restrict(self, coarse: Sequence[str | int], name: str | None = None) -> Hierarchy:
        """Keep only the given coarse classes and their fine classes, renumbered in original order (Table VIII)."""
        if isinstance(coarse, (str, int)) or len(coarse) == 0:
            raise ValueError("coarse must be a non-empty list of coarse class names or indices")
        unknown = [c for c in coarse if not _is_coarse(self, c)]
        if unknown:
            raise ValueError(f"restrict: unknown coarse class(es) {unknown}; known: {list(self.coarse_names)}")
        keep = [self.coarse_index(c) for c in coarse]
        dup = sorted({self.coarse_names[k] for k in keep if keep.count(k) > 1})
        if dup:
            raise ValueError(f"restrict: coarse class(es) listed twice: {dup}")
        kept = sorted(keep)
        fine_mask = np.isin(self.fine_to_coarse, kept)
        renumber = {old: new for new, old in enumerate(kept)}
        return Hierarchy(
            fine_names=tuple(f for f, m in zip(self.fine_names, fine_mask) if m),
            coarse_names=tuple(self.coarse_names[k] for k in kept),
            fine_to_coarse=np.array([renumber[int(c)] for c in self.fine_to_coarse[fine_mask]]),
            name=name or f"{self.name}_restricted",
            fine_ids=None if self.fine_ids is None else tuple(i for i, m in zip(self.fine_ids, fine_mask) if m),
        )

    @classmethod
    def from_groups(
        cls,
        groups: Mapping[str, Sequence[str]],
        fine_names: Sequence[str] | None = None,
        name: str = "custom",
        fine_ids: Sequence[str] | None = None,
    ) -> Hierarchy:
        """Build from {coarse: [fine, ...]}; `fine_names` fixes the fine label order (default: as listed)."""
        if not groups:
            raise ValueError("groups must map at least one coarse class to its fine classes")
        if isinstance(fine_names, str):
            raise ValueError("fine_names must be a sequence of names, not one string")
        empty = [c for c, members in groups.items() if len(members) == 0]
        if empty:
            raise ValueError(f"empty coarse class(es): {empty}")
        listed = [str(f) for members in groups.values() for f in members]
        twice = sorted({f for f in listed if listed.count(f) > 1})
        if twice:
            raise ValueError(f"fine class(es) listed twice: {twice}")
        order = tuple(listed) if fine_names is None else tuple(str(f) for f in fine_names)
        _check_unique(order, "fine_names")
        outside = [f for f in listed if f not in order]
        if outside:
            raise ValueError(f"fine class(es) not in fine_names (the dataset): {outside}")
        missing = [f for f in order if f not in listed]
        if missing:
            raise ValueError(f"fine class(es) missing from every coarse class: {missing}")
        coarse_of = {str(f): k for k, members in enumerate(groups.values()) for f in members}
        return cls(order, tuple(groups), np.array([coarse_of[f] for f in order]), name, fine_ids)

    @classmethod
    def from_bits(
        cls,
        fine_names: Sequence[str],
        bits: str,
        coarse_names: Sequence[str] | None = None,
        name: str | None = None,
    ) -> Hierarchy:
        """Build from Table VI notation: character i (a digit) is the coarse class of fine class i."""
        fine = tuple(str(f) for f in fine_names)
        if not isinstance(bits, str) or len(bits) != len(fine):
            raise ValueError(
                f"bits {bits!r} must be a string of length {len(fine)} (one digit per fine class)"
            )
        bad = sorted({ch for ch in bits if ch not in "0123456789"})
        if bad:
            raise ValueError(f"bits {bits!r} contains {bad}; allowed characters are digits 0-9")
        codes = np.array([int(ch) for ch in bits], dtype=np.int64)
        num_coarse = int(codes.max()) + 1
        names = tuple(str(k) for k in range(num_coarse)) if coarse_names is None else tuple(coarse_names)
        if len(names) != num_coarse:
            raise ValueError(f"coarse_names has {len(names)} entries; bits {bits!r} use {num_coarse} coarse classes")
        return cls(fine, names, codes, name or f"bits_{bits}")


def _is_coarse(h: Hierarchy, c: str | int) -> bool:
    try:
        h.coarse_index(c)
    except ValueError:
        return False
    return True


def _check_unique(names: Sequence[str], what: str) -> None:
    twice = sorted({n for n in names if list(names).count(n) > 1})
    if twice:
        raise ValueError(f"{what}: entries listed twice: {twice}")
