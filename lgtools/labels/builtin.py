"""Every built-in hierarchy of the book, as data: Table II, Table VI and Table VIII of Chen et al.
2018 and the embedded datasets; ``get_hierarchy`` builds one by name, ``as_hierarchy`` also takes
a Table VI bits string or an object.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from lgtools.labels.hierarchy import Hierarchy

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
# Checked against the official list in ilsvrc2012_classes.csv (tests/test_data.py; its source in
# ilsvrc2012_classes.md): index and id exactly, the name as the first synonym with underscores.
IMAGENET_DOG_CAT = (
    (151, "n02085620", "Chihuahua", "dog"), (153, "n02085936", "Maltese_dog", "dog"),
    (154, "n02086079", "Pekinese", "dog"), (157, "n02086910", "papillon", "dog"),
    (161, "n02088238", "basset", "dog"), (281, "n02123045", "tabby", "cat"),
    (282, "n02123159", "tiger_cat", "cat"), (283, "n02123394", "Persian_cat", "cat"),
    (284, "n02123597", "Siamese_cat", "cat"), (285, "n02124075", "Egyptian_cat", "cat"),
)
IMAGENET_FRUIT_VEG = (
    (936, "n07714571", "head_cabbage", "vegetable"), (937, "n07714990", "broccoli", "vegetable"),
    (938, "n07715103", "cauliflower", "vegetable"), (939, "n07716358", "zucchini", "vegetable"),
    (942, "n07717556", "butternut_squash", "vegetable"), (943, "n07718472", "cucumber", "vegetable"),
    (944, "n07718747", "artichoke", "vegetable"), (945, "n07720875", "bell_pepper", "vegetable"),
    (947, "n07734744", "mushroom", "vegetable"), (949, "n07745940", "strawberry", "fruit"),
    (950, "n07747607", "orange", "fruit"), (951, "n07749582", "lemon", "fruit"),
    (952, "n07753113", "fig", "fruit"), (953, "n07753275", "pineapple", "fruit"),
    (954, "n07753592", "banana", "fruit"), (955, "n07754684", "jackfruit", "fruit"),
    (956, "n07760859", "custard_apple", "fruit"),
)

# Beyond the paper (chapter 11): five coarse classes of two fine classes each, grouped as a person
# sorting CIFAR-10 by kind would, so that k = 2 clusters per coarse class could in principle give
# back exactly the ten annotated classes.
CIFAR10_FIVE_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "air_and_sea": ("airplane", "ship"), "road": ("automobile", "truck"), "pet": ("cat", "dog"),
    "hoofed": ("deer", "horse"), "small_animal": ("bird", "frog"),
})

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
        "cifar10_5": lambda: Hierarchy.from_groups(CIFAR10_FIVE_GROUPS, CIFAR10_CLASSES, "cifar10_5"),
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


@functools.cache
def _built(name: str) -> Hierarchy:
    """The built-in hierarchy ``name``, built once: a Hierarchy is immutable (read-only arrays), so one object serves
    every caller (a sweep's dry run resolves one per run, four times; building it anew cost most of a 10^5-run listing)."""
    return _BUILTINS[name]()


def get_hierarchy(name: str) -> Hierarchy:
    """A built-in hierarchy by name (see `list_hierarchies()`)."""
    if not isinstance(name, str) or name not in _BUILTINS:
        raise ValueError(f"unknown hierarchy {name!r}; known: {', '.join(_BUILTINS)}")
    return _built(name)


def as_hierarchy(spec: Hierarchy | str, fine_names: Sequence[str]) -> Hierarchy:
    """A Hierarchy from an object, a built-in name, or a Table VI bits string over ``fine_names``."""
    if isinstance(spec, Hierarchy):
        return spec
    if isinstance(spec, str):
        # Bits: one character per fine class, digits meant; a stray letter gets the bits error.
        looks_like_bits = spec not in _BUILTINS and len(spec) == len(fine_names) and any(c.isdigit() for c in spec)
        return Hierarchy.from_bits(tuple(fine_names), spec) if spec.isdigit() or looks_like_bits else get_hierarchy(spec)
    raise ValueError(f"hierarchy must be a Hierarchy, a built-in name or a bits string, "
                     f"got {type(spec).__name__} {spec!r}")


def resolve_for(dataset: str, spec: Hierarchy | str | None) -> Hierarchy | None:
    """The Hierarchy a run's ``hierarchy`` names over ``dataset`` (None: the dataset's own grouping).

    None when only the data can tell: an image folder's own classes, or bits over them.
    """
    if isinstance(spec, Hierarchy):
        return spec
    spec = dataset if spec is None else spec
    if dataset in _BUILTINS:  # the dataset's fine classes are known: names and bits resolve now
        return as_hierarchy(spec, get_hierarchy(dataset).fine_names)
    return get_hierarchy(spec) if spec in _BUILTINS else None
