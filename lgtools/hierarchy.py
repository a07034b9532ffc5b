"""Label hierarchies: which coarse class each fine class belongs to.

Every built-in hierarchy of the book lives here (Table II, Table VI, Table VIII of Chen et al.
2018, plus the embedded datasets). Chapters 1, 6 and 7 draw them; `lgtools.train` maps fine
predictions to coarse ones with `Hierarchy.to_coarse`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping, Sequence, TypeVar

import numpy as np
import torch

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
                _check_label_range(fine_labels.detach().numpy(), self.num_fine, "fine_labels")
            table = torch.as_tensor(self.fine_to_coarse.copy(), device=fine_labels.device)
            return table[fine_labels.long()]
        labels = np.asarray(fine_labels)
        _check_label_range(labels, self.num_fine, "fine_labels")
        return self.fine_to_coarse[labels.astype(np.int64)]

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


def _check_label_range(labels: np.ndarray, num_classes: int, what: str) -> None:
    if labels.dtype.kind not in "iuf" or (labels.dtype.kind == "f" and not np.all(np.mod(labels, 1) == 0)):
        raise ValueError(f"{what} must hold integer class indices, got dtype {labels.dtype}")
    if labels.size == 0:
        return
    bad = np.unique(labels[(labels < 0) | (labels >= num_classes)])
    if bad.size:
        raise ValueError(f"{what}: values {bad[:10].tolist()} outside 0..{num_classes - 1}")


def random_partition(
    fine_names: Sequence[str], sizes: Sequence[int], seed: int = 0, name: str | None = None
) -> Hierarchy:
    """A random hierarchy whose coarse classes "0", "1", … have the given numbers of fine classes."""
    fine = tuple(str(f) for f in fine_names)
    sizes = [int(s) for s in sizes]
    if not sizes or any(s < 1 for s in sizes) or sum(sizes) != len(fine):
        raise ValueError(f"sizes {sizes} must be positive and sum to the number of fine classes ({len(fine)})")
    order = np.random.default_rng(seed).permutation(len(fine))
    codes = np.empty(len(fine), dtype=np.int64)
    codes[order] = np.repeat(np.arange(len(sizes)), sizes)
    return Hierarchy(fine, tuple(str(k) for k in range(len(sizes))), codes, name or f"random_{seed}")


def add_label_noise(
    fine_labels: LabelArray, hierarchy: Hierarchy, randomness: float, seed: int = 0
) -> LabelArray:
    """Section VI-B noise: with probability `randomness` a sample takes the fine label of a random same-coarse sample.

    The partner is drawn from the *original* labels of the samples sharing the coarse class, so
    the result does not depend on sample order and coarse labels never change. A changed label
    is therefore a fresh draw from that coarse class's fine-label distribution: with k balanced
    fine classes per coarse class about `randomness * (1 - 1/k)` of the labels change. (The
    authors' code swapped label pairs in a loop instead; see the book's erratum list.)
    Returns a new array or tensor (same dtype and device); the input is never modified.
    """
    if not 0.0 <= float(randomness) <= 1.0:
        raise ValueError(f"randomness must be in [0, 1], got {randomness}")
    is_tensor = isinstance(fine_labels, torch.Tensor)
    labels = fine_labels.detach().cpu().numpy() if is_tensor else np.asarray(fine_labels)
    if labels.ndim != 1:
        raise ValueError(f"fine_labels must be one-dimensional, got shape {labels.shape}")
    _check_label_range(labels, hierarchy.num_fine, "fine_labels")
    labels = labels.astype(np.int64)
    noisy = labels.copy()
    rng = np.random.default_rng(seed)
    chosen = rng.random(labels.shape[0]) < float(randomness)
    coarse = hierarchy.fine_to_coarse[labels]
    for c in range(hierarchy.num_coarse):
        pool = labels[coarse == c]  # original fine labels of this coarse class
        targets = np.flatnonzero(chosen & (coarse == c))
        if targets.size:
            noisy[targets] = pool[rng.integers(0, pool.size, size=targets.size)]
    if is_tensor:
        return torch.as_tensor(noisy, dtype=fine_labels.dtype, device=fine_labels.device)
    return noisy.astype(np.asarray(fine_labels).dtype, copy=False)


# ----------------------------------------------------------------------------- built-ins
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

# Official CIFAR-100 superclasses (coarse label order) and their members (Table II).
CIFAR100_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "aquatic_mammals": ("beaver", "dolphin", "otter", "seal", "whale"),
    "fish": ("aquarium_fish", "flatfish", "ray", "shark", "trout"),
    "flowers": ("orchid", "poppy", "rose", "sunflower", "tulip"),
    "food_containers": ("bottle", "bowl", "can", "cup", "plate"),
    "fruit_and_vegetables": ("apple", "mushroom", "orange", "pear", "sweet_pepper"),
    "household_electrical_devices": ("clock", "keyboard", "lamp", "telephone", "television"),
    "household_furniture": ("bed", "chair", "couch", "table", "wardrobe"),
    "insects": ("bee", "beetle", "butterfly", "caterpillar", "cockroach"),
    "large_carnivores": ("bear", "leopard", "lion", "tiger", "wolf"),
    "large_man-made_outdoor_things": ("bridge", "castle", "house", "road", "skyscraper"),
    "large_natural_outdoor_scenes": ("cloud", "forest", "mountain", "plain", "sea"),
    "large_omnivores_and_herbivores": ("camel", "cattle", "chimpanzee", "elephant", "kangaroo"),
    "medium_mammals": ("fox", "porcupine", "possum", "raccoon", "skunk"),
    "non-insect_invertebrates": ("crab", "lobster", "snail", "spider", "worm"),
    "people": ("baby", "boy", "girl", "man", "woman"),
    "reptiles": ("crocodile", "dinosaur", "lizard", "snake", "turtle"),
    "small_mammals": ("hamster", "mouse", "rabbit", "shrew", "squirrel"),
    "trees": ("maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"),
    "vehicles_1": ("bicycle", "bus", "motorcycle", "pickup_truck", "train"),
    "vehicles_2": ("lawn_mower", "rocket", "streetcar", "tank", "tractor"),
})
# torchvision's CIFAR-100 label order is alphabetical.
CIFAR100_CLASSES = tuple(sorted(f for members in CIFAR100_GROUPS.values() for f in members))

# The ten superclasses starred in Table II ("CIFAR-100 animals").
CIFAR100_ANIMALS = (
    "aquatic_mammals", "fish", "insects", "large_carnivores", "large_omnivores_and_herbivores",
    "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals",
)
CIFAR100_5 = ("aquatic_mammals", "large_carnivores", "large_omnivores_and_herbivores", "medium_mammals", "small_mammals")
CIFAR100_15 = CIFAR100_ANIMALS + ("flowers", "fruit_and_vegetables", "trees", "vehicles_1", "vehicles_2")

# (ILSVRC-2012 index, WordNet id, name, coarse); label order = index order = sorted WordNet ids.
IMAGENET_DOG_CAT = (
    (151, "n02085620", "Chihuahua", "dog"), (153, "n02085936", "Maltese", "dog"),
    (154, "n02086079", "Pekinese", "dog"), (157, "n02086910", "papillon", "dog"),
    (161, "n02088238", "basset", "dog"), (281, "n02123045", "tabby", "cat"),
    (282, "n02123159", "tiger_cat", "cat"), (283, "n02123394", "Persian_cat", "cat"),
    (284, "n02123597", "Siamese_cat", "cat"), (285, "n02124075", "Egyptian_cat", "cat"),
)
IMAGENET_FRUIT_VEG = (
    (936, "n07714990", "head_cabbage", "vegetable"), (937, "n07715103", "broccoli", "vegetable"),
    (938, "n07715561", "cauliflower", "vegetable"), (939, "n07716358", "zucchini", "vegetable"),
    (942, "n07717556", "butternut_squash", "vegetable"), (943, "n07718472", "cucumber", "vegetable"),
    (944, "n07718747", "artichoke", "vegetable"), (945, "n07720875", "bell_pepper", "vegetable"),
    (947, "n07734744", "mushroom", "vegetable"), (949, "n07745940", "strawberry", "fruit"),
    (950, "n07747607", "orange", "fruit"), (951, "n07749582", "lemon", "fruit"),
    (952, "n07753113", "fig", "fruit"), (953, "n07753275", "pineapple", "fruit"),
    (954, "n07753592", "banana", "fruit"), (955, "n07754684", "jackfruit", "fruit"),
    (956, "n07760859", "custard_apple", "fruit"),
)

# Table VI as printed; columns plane … truck = CIFAR-10 label order. Rows (3) and (6) do not
# have the 6:4 / 5:5 ratio their group states (5 and 4 ones); kept as printed.
TABLE6_BITS = (
    "0011111100", "1011110100", "0001111100", "0010101111", "0010011111",
    "0001111000", "0010111100", "0101011100", "0010010111", "1000011101",
)

SYNTHETIC_GROUPS = MappingProxyType({
    "round": ("disc", "ring", "crescent"),
    "polygon": ("square", "triangle", "cross"),
    "stripes": ("hstripes", "vstripes", "dstripes"),
    "texture": ("checker", "dots", "blotches"),
})


def _imagenet(rows: tuple, coarse_order: tuple[str, str], name: str) -> Hierarchy:
    groups = {c: [r[2] for r in rows if r[3] == c] for c in coarse_order}
    return Hierarchy.from_groups(groups, [r[2] for r in rows], name, fine_ids=[r[1] for r in rows])


def _cifar100(name: str, keep: tuple[str, ...] | None = None) -> Hierarchy:
    full = Hierarchy.from_groups(CIFAR100_GROUPS, CIFAR100_CLASSES, "cifar100")
    return full if keep is None else full.restrict(keep, name=name)


def _builders() -> Mapping[str, Callable[[], Hierarchy]]:
    table = {
        "cifar10": lambda: Hierarchy.from_groups(
            {"vehicle": ["airplane", "automobile", "ship", "truck"],
             "animal": ["bird", "cat", "deer", "dog", "frog", "horse"]}, CIFAR10_CLASSES, "cifar10"),
        "cifar100": lambda: _cifar100("cifar100"),
        "cifar100_animals": lambda: _cifar100("cifar100_animals", CIFAR100_ANIMALS),
        "cifar100_5": lambda: _cifar100("cifar100_5", CIFAR100_5),
        "cifar100_15": lambda: _cifar100("cifar100_15", CIFAR100_15),
        "imagenet_dog_cat": lambda: _imagenet(IMAGENET_DOG_CAT, ("dog", "cat"), "imagenet_dog_cat"),
        "imagenet_fruit_veg": lambda: _imagenet(IMAGENET_FRUIT_VEG, ("fruit", "vegetable"), "imagenet_fruit_veg"),
        "synthetic": lambda: Hierarchy.from_groups(
            SYNTHETIC_GROUPS, [f for m in SYNTHETIC_GROUPS.values() for f in m], "synthetic"),
        "digits": lambda: Hierarchy.from_groups(
            {"loop": ["0", "4", "6", "8", "9"], "open": ["1", "2", "3", "5", "7"]},
            [str(d) for d in range(10)], "digits"),
    }
    for row, bits in enumerate(TABLE6_BITS, start=1):
        table[f"cifar10_table6_{row}"] = (
            lambda bits=bits, row=row: Hierarchy.from_bits(CIFAR10_CLASSES, bits, name=f"cifar10_table6_{row}")
        )
    return MappingProxyType(table)


_BUILTINS = _builders()  # read-only mapping: no global mutable state


def list_hierarchies() -> tuple[str, ...]:
    """Names accepted by `get_hierarchy`."""
    return tuple(_BUILTINS)


def get_hierarchy(name: str) -> Hierarchy:
    """A built-in hierarchy by name (see `list_hierarchies()`)."""
    if name not in _BUILTINS:
        raise ValueError(f"unknown hierarchy {name!r}; known: {', '.join(_BUILTINS)}")
    return _BUILTINS[name]()


def as_hierarchy(spec: Hierarchy | str, fine_names: Sequence[str]) -> Hierarchy:
    """A Hierarchy from an object, a built-in name, or a Table VI bits string over ``fine_names``."""
    if isinstance(spec, Hierarchy):
        return spec
    if isinstance(spec, str):
        return Hierarchy.from_bits(tuple(fine_names), spec) if spec.isdigit() else get_hierarchy(spec)
    raise ValueError(f"hierarchy must be a Hierarchy, a built-in name or a bits string, "
                     f"got {type(spec).__name__} {spec!r}")
