"""Tests for lgtools.labels: built-ins against Table II, constructors, validation, label noise."""

import numpy as np
import pytest
import torch

from lgtools.labels.builtin import as_hierarchy, get_hierarchy, list_hierarchies
from lgtools.labels.hierarchy import Hierarchy
from lgtools.labels.noise import NOISE_MODES, add_label_noise, changed_share
from lgtools.labels.partitions import random_partition

# torchvision's CIFAR-100 class names in label order (typed here independently of the module).
CIFAR100_NAMES = """apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus
butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile
cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower
leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter
palm_tree pear pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket
rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper
table tank telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf
woman worm""".split()
# CIFAR-100's official coarse label of each fine label (the dataset's `coarse_labels` mapping).
CIFAR100_COARSE_OF_FINE = [
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11, 6, 11, 5, 10, 7, 6, 13, 15, 3, 15,
    0, 11, 1, 10, 12, 14, 16, 9, 11, 5, 5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4,
    18, 17, 10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13, 16, 19, 2, 4, 6, 19,
    5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
]
CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# ------------------------------------------------------------------ built-ins vs Table II
def test_cifar100_matches_official_superclasses():
    h = get_hierarchy("cifar100")
    assert list(h.fine_names) == CIFAR100_NAMES
    assert h.num_fine == 100 and h.num_coarse == 20
    assert h.fine_to_coarse.tolist() == CIFAR100_COARSE_OF_FINE
    assert all(len(h.members(c)) == 5 for c in range(20))
    assert h.coarse_names[h.fine_to_coarse[h.fine_index("maple_tree")]] == "trees"
    assert h.members("large_carnivores") == ("bear", "leopard", "lion", "tiger", "wolf")
    assert h.coarse_names[9] == "large_man-made_outdoor_things"


def test_cifar10_and_table6_row1_agree():
    h = get_hierarchy("cifar10")
    assert list(h.fine_names) == CIFAR10
    assert h.members("vehicle") == ("airplane", "automobile", "ship", "truck")
    assert h.bits() == "0011111100"
    assert get_hierarchy("cifar10_table6_1") == h.__class__.from_bits(CIFAR10, "0011111100")


def test_cifar100_subsets():
    animals = get_hierarchy("cifar100_animals")
    assert animals.num_fine == 50 and animals.num_coarse == 10
    assert "maple_tree" not in animals.fine_names and "whale" in animals.fine_names
    assert get_hierarchy("cifar100_5").num_fine == 25
    fifteen = get_hierarchy("cifar100_15")
    assert fifteen.num_coarse == 15 and fifteen.num_fine == 75 and "trees" in fifteen.coarse_names
    assert "food_containers" not in fifteen.coarse_names
    # fine order stays the CIFAR-100 label order
    assert list(animals.fine_names) == [f for f in CIFAR100_NAMES if f in animals.fine_names]


def test_imagenet_subsets_have_wordnet_ids_in_label_order():
    dog_cat = get_hierarchy("imagenet_dog_cat")
    fruit_veg = get_hierarchy("imagenet_fruit_veg")
    assert dog_cat.num_fine == 10 and fruit_veg.num_fine == 17
    assert dog_cat.members("cat") == ("tabby", "tiger_cat", "Persian_cat", "Siamese_cat", "Egyptian_cat")
    assert len(fruit_veg.members("fruit")) == 8 and len(fruit_veg.members("vegetable")) == 9
    for h in (dog_cat, fruit_veg):
        # ImageFolder sorts WordNet-id folders; that order must be the label order
        assert list(h.fine_ids) == sorted(h.fine_ids)
        assert all(i.startswith("n") and len(i) == 9 for i in h.fine_ids)
    assert dict(zip(dog_cat.fine_names, dog_cat.fine_ids))["basset"] == "n02088238"
    assert dict(zip(fruit_veg.fine_names, fruit_veg.fine_ids))["custard_apple"] == "n07760859"


def test_embedded_and_table6_builtins():
    syn = get_hierarchy("synthetic")
    assert syn.num_fine == 12 and syn.members("stripes") == ("hstripes", "vstripes", "dstripes")
    digits = get_hierarchy("digits")
    assert digits.members("loop") == ("0", "4", "6", "8", "9")
    names = list_hierarchies()
    assert {f"cifar10_table6_{k}" for k in range(1, 11)} <= set(names)
    assert get_hierarchy("cifar10_table6_10").bits() == "1000011101"
    assert get_hierarchy("cifar10_table6_3").bits().count("1") == 5  # printed as in the paper


def test_unknown_hierarchy_lists_known_names():
    with pytest.raises(ValueError, match="cifar100_animals"):
        get_hierarchy("cifar1000")


# ------------------------------------------------------------------ behaviour
def test_immutable():
    h = get_hierarchy("cifar10")
    with pytest.raises(ValueError):
        h.fine_to_coarse[0] = 1
    with pytest.raises(AttributeError):
        h.name = "other"


def test_to_coarse_numpy_and_torch():
    h = get_hierarchy("cifar10")
    fine = np.array([0, 2, 8, 9, 5])
    out = h.to_coarse(fine)
    assert isinstance(out, np.ndarray) and out.tolist() == [0, 1, 0, 0, 1]
    t = h.to_coarse(torch.tensor([0, 2, 8, 9, 5]))
    assert isinstance(t, torch.Tensor) and t.tolist() == [0, 1, 0, 0, 1] and t.device.type == "cpu"
    with pytest.raises(ValueError, match="10"):
        h.to_coarse(np.array([0, 10]))


def test_same_coarse_and_multi_hot():
    h = Hierarchy.from_bits(["a", "b", "c"], "010")
    expected = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=bool)
    assert np.array_equal(h.same_coarse(), expected)
    assert h.multi_hot().dtype == np.float32 and h.multi_hot().sum() == 5


def test_from_groups_fixes_label_order():
    h = Hierarchy.from_groups({"x": ["c", "a"], "y": ["b"]}, fine_names=["a", "b", "c"])
    assert h.fine_names == ("a", "b", "c") and h.fine_to_coarse.tolist() == [0, 1, 0]
    assert h.members(1) == ("b",) and h.members("x") == ("a", "c")


def test_from_bits_bits_round_trip():
    for bits in ("0011111100", "1000011101", "0120120120"):
        assert Hierarchy.from_bits(CIFAR10, bits).bits() == bits


def test_as_hierarchy_reads_objects_names_and_bits():
    h = get_hierarchy("cifar10")
    assert as_hierarchy(h, CIFAR10) is h
    assert as_hierarchy("cifar10", CIFAR10) == h
    assert as_hierarchy("1000011101", CIFAR10).bits() == "1000011101"
    with pytest.raises(ValueError, match="unknown hierarchy 'cifar11'"):
        as_hierarchy("cifar11", CIFAR10)
    with pytest.raises(ValueError, match="hierarchy must be a Hierarchy, a built-in name or a bits string"):
        as_hierarchy(3, CIFAR10)


def test_restrict_round_trips():
    full = get_hierarchy("cifar100")
    assert full.restrict(list(full.coarse_names)) == full
    animals = get_hierarchy("cifar100_animals")
    # order of the request does not matter; the original order is kept
    assert full.restrict(list(reversed(animals.coarse_names))) == animals
    sub = get_hierarchy("cifar10").restrict(["animal"])
    assert sub.num_coarse == 1 and sub.fine_names == ("bird", "cat", "deer", "dog", "frog", "horse")
    assert sub.fine_to_coarse.tolist() == [0] * 6
    dc = get_hierarchy("imagenet_dog_cat").restrict(["cat"])
    assert dc.fine_ids[0] == "n02123045"


def test_random_partition():
    h = random_partition(CIFAR10, [6, 4], seed=3)
    assert sorted(len(h.members(c)) for c in range(2)) == [4, 6]
    assert h == random_partition(CIFAR10, [6, 4], seed=3)
    assert any(random_partition(CIFAR10, [6, 4], seed=s) != h for s in range(4, 10))
    with pytest.raises(ValueError, match="sum"):
        random_partition(CIFAR10, [6, 3], seed=0)


# ------------------------------------------------------------------ validation errors
@pytest.mark.parametrize(
    "call, needle",
    [
        (lambda: Hierarchy.from_groups({"x": ["a", "b"], "y": ["b"]}), "'b'"),  # listed twice
        (lambda: Hierarchy.from_groups({"x": ["a"], "y": []}), "'y'"),  # empty coarse class
        (lambda: Hierarchy.from_groups({"x": ["a"]}, fine_names=["a", "zz"]), "'zz'"),  # missing
        (lambda: Hierarchy.from_groups({"x": ["a", "qq"]}, fine_names=["a"]), "'qq'"),  # not in dataset
        (lambda: Hierarchy.from_bits(CIFAR10, "00111"), "length 10"),
        (lambda: Hierarchy.from_bits(CIFAR10, "00111111x0"), "'x'"),
        (lambda: Hierarchy.from_bits(CIFAR10, "0022222200"), "'1'"),  # coarse class 1 empty
        (lambda: get_hierarchy("cifar10").restrict(["plant"]), "'plant'"),
        (lambda: get_hierarchy("cifar10").restrict(["animal", "animal"]), "'animal'"),
        (lambda: get_hierarchy("cifar10").members("plant"), "'plant'"),
        (lambda: Hierarchy(("a", "a"), ("x",), np.array([0, 0])), "'a'"),
    ],
)
def test_validation_errors_name_the_offender(call, needle):
    with pytest.raises(ValueError) as info:
        call()
    assert needle in str(info.value)


# ------------------------------------------------------------------ label noise
def test_label_noise_share_coarse_labels_and_no_mutation():
    h = get_hierarchy("cifar10")  # 4 vehicle, 6 animal classes
    labels = np.random.default_rng(0).integers(0, 10, size=20_000)
    before = labels.copy()
    noisy = add_label_noise(labels, h, 0.3, seed=1, mode="redraw")
    assert np.array_equal(labels, before)  # input untouched
    assert noisy is not labels and noisy.dtype == labels.dtype
    assert np.array_equal(h.to_coarse(noisy), h.to_coarse(labels))
    vehicle_share = np.isin(labels, [0, 1, 8, 9]).mean()
    expected = 0.3 * (vehicle_share * (1 - 1 / 4) + (1 - vehicle_share) * (1 - 1 / 6))
    assert abs((noisy != labels).mean() - expected) < 0.015
    assert np.array_equal(noisy, add_label_noise(labels, h, 0.3, seed=1, mode="redraw"))
    assert not np.array_equal(noisy, add_label_noise(labels, h, 0.3, seed=2, mode="redraw"))
    for mode in NOISE_MODES:
        assert np.array_equal(add_label_noise(labels, h, 0.0, seed=1, mode=mode), labels)
    with pytest.raises(ValueError, match="mode must be one of"):
        add_label_noise(labels, h, 0.3, mode="shuffle")


def _authors_swaps(labels, fine_to_coarse, draws, partners):
    """The loop of the authors' dataset/data_cifar10.py, fed our random numbers (an independent reading)."""
    labels = list(labels)
    pools = {c: [j for j in range(len(labels)) if fine_to_coarse[labels[j]] == c] for c in set(fine_to_coarse)}
    k = 0
    for i in range(len(labels)):
        if draws[i]:
            pool = pools[fine_to_coarse[labels[i]]]
            swap = pool[int(partners[k] * len(pool))]
            k += 1
            labels[i], labels[swap] = labels[swap], labels[i]
    return np.array(labels)


def test_swap_noise_is_the_authors_loop_and_changes_more_labels():
    h = get_hierarchy("cifar10")
    labels = np.repeat(np.arange(10), 300)
    np.random.default_rng(5).shuffle(labels)
    noisy = add_label_noise(labels, h, 0.3, seed=3, mode="swap")
    rng = np.random.default_rng(3)  # the same stream the procedure draws from, in its order
    draws = rng.random(labels.size) < 0.3
    partners = rng.random(int(draws.sum()))
    assert np.array_equal(noisy, _authors_swaps(labels, list(h.fine_to_coarse), draws, partners))
    assert np.array_equal(h.to_coarse(noisy), h.to_coarse(labels))
    assert np.array_equal(np.bincount(noisy), np.bincount(labels))  # swaps keep every class's count
    # One swap event changes up to two labels: at 0.3 far more than redraw's 0.3·(1 − 1/k).
    big = np.repeat(np.arange(10), 5000)
    swap_share = changed_share(big, add_label_noise(big, h, 0.3, seed=0, mode="swap"))
    redraw_share = changed_share(big, add_label_noise(big, h, 0.3, seed=0, mode="redraw"))
    assert 0.36 < swap_share < 0.41 and 0.22 < redraw_share < 0.25
    with pytest.raises(ValueError, match="one shape"):
        changed_share(big, big[:5])


def test_label_noise_torch():
    h = get_hierarchy("synthetic")
    labels = torch.arange(12).repeat(500)
    before = labels.clone()
    noisy = add_label_noise(labels, h, 1.0, seed=0)
    assert isinstance(noisy, torch.Tensor) and noisy.dtype == torch.int64
    assert torch.equal(labels, before)
    assert torch.equal(h.to_coarse(noisy), h.to_coarse(labels))
    assert abs((noisy != labels).float().mean().item() - (1 - 1 / 3)) < 0.03
    with pytest.raises(ValueError, match="randomness"):
        add_label_noise(labels, h, 1.5, seed=0)


def test_cifar10_five_coarse_classes_pair_the_ten_fine_ones():
    h = get_hierarchy("cifar10_5")
    assert list(h.fine_names) == CIFAR10 and h.num_coarse == 5
    assert [len(h.members(c)) for c in h.coarse_names] == [2] * 5
    assert set(h.members("pet")) == {"cat", "dog"} and set(h.members("road")) == {"automobile", "truck"}
    # Each of its coarse classes lies inside one of CIFAR-10's own two (it refines animal / vehicle).
    two = get_hierarchy("cifar10")
    assert all(any(set(h.members(c)) <= set(two.members(big)) for big in two.coarse_names) for c in h.coarse_names)


def test_chapter_one_worked_example_names_each_images_classes_at_both_levels():
    from lgtools.chapters.label_granularity import prediction_table

    cifar10 = get_hierarchy("cifar10")
    true_fine = [cifar10.fine_index(n) for n in ("cat", "truck")]
    pred_fine = [cifar10.fine_index(n) for n in ("dog", "ship")]
    table = prediction_table(cifar10, true_fine, pred_fine)
    assert table.to_dict("list") == {"true fine": ["cat", "truck"], "predicted fine": ["dog", "ship"],
                                     "true coarse": ["animal", "vehicle"], "predicted coarse": ["animal", "vehicle"]}
    with pytest.raises(ValueError, match="pred_fine must have true_fine's shape"):
        prediction_table(cifar10, true_fine, pred_fine[:1])
