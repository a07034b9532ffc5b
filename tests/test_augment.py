"""lgtools.data.augment: batched crop/flip equals per-image slicing; resized crops; normalisation."""

import pytest
import torch

from lgtools.data import augment


def _images(n=16, c=3, h=32, w=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, c, h, w), generator=g, dtype=torch.uint8)


def test_crop_flip_equals_per_image_slicing():
    x = _images()
    top, left, flip = augment.crop_flip_params(len(x), 4, torch.Generator().manual_seed(1))
    out = augment.apply_crop_flip(x, top, left, flip, 4)
    padded = torch.zeros(16, 3, 40, 40, dtype=torch.uint8)
    padded[:, :, 4:36, 4:36] = x
    for i in range(len(x)):
        ref = padded[i, :, top[i]:top[i] + 32, left[i]:left[i] + 32]
        if flip[i]:
            ref = ref.flip(-1)
        assert torch.equal(out[i], ref), i
    assert out.dtype == torch.uint8 and out.shape == x.shape


def test_offsets_cover_the_torchvision_range():
    top, left, _ = augment.crop_flip_params(4000, 4, torch.Generator().manual_seed(0))
    assert set(top.tolist()) == set(range(9)) and set(left.tolist()) == set(range(9))


def test_flip_rate_is_one_half():
    _, _, flip = augment.crop_flip_params(20000, 4, torch.Generator().manual_seed(0))
    assert abs(flip.float().mean().item() - 0.5) < 0.015


def test_zero_padding_without_offset_is_identity_or_mirror():
    x = _images(4)
    zero = torch.full((4,), 4)
    flip = torch.tensor([False, True, False, True])
    out = augment.apply_crop_flip(x, zero, zero, flip, 4)
    assert torch.equal(out[0], x[0]) and torch.equal(out[1], x[1].flip(-1))


def test_generator_makes_it_deterministic():
    x = _images()
    a = augment.random_crop_flip(x, 4, torch.Generator().manual_seed(5))
    b = augment.random_crop_flip(x, 4, torch.Generator().manual_seed(5))
    c = augment.random_crop_flip(x, 4, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_resized_crop_boxes_follow_scale_and_ratio():
    boxes = augment.resized_crop_boxes(2000, 64, 80, (0.2, 0.6), (3 / 4, 4 / 3),
                                       torch.Generator().manual_seed(0))
    top, left, h, w = boxes.unbind(1)
    assert (top >= 0).all() and (left >= 0).all()
    assert (top + h <= 64).all() and (left + w <= 80).all()
    area = h * w / (64 * 80)
    assert area.min() > 0.17 and area.max() < 0.63  # rounding widens the range slightly
    ratio = w / h
    assert ratio.min() > 0.7 and ratio.max() < 1.4


def test_resized_crop_of_the_whole_image_reproduces_it():
    x = _images(3, h=24, w=24).float()
    out = augment.random_resized_crop_flip(x, 24, scale=(1.0, 1.0), ratio=(1.0, 1.0),
                                           generator=torch.Generator().manual_seed(0))
    for i in range(3):  # the whole image at the same size: identity, or its mirror
        assert torch.allclose(out[i], x[i], atol=1e-3) or torch.allclose(out[i], x[i].flip(-1), atol=1e-3)


def test_resized_crop_output_size_and_determinism():
    x = _images(5, h=40, w=48)
    a = augment.random_resized_crop_flip(x, 24, generator=torch.Generator().manual_seed(3))
    b = augment.random_resized_crop_flip(x, 24, generator=torch.Generator().manual_seed(3))
    assert a.shape == (5, 3, 24, 24) and a.dtype == torch.float32 and torch.equal(a, b)
    assert a.min() >= 0 and a.max() <= 255


def test_eval_transform_and_center_crop():
    x = _images(2, h=32, w=32)
    assert augment.eval_transform(x, 32) is x
    assert torch.equal(augment.center_crop(x, 16), x[:, :, 8:24, 8:24])
    out = augment.eval_transform(_images(2, h=64, w=80), 28)
    assert out.shape == (2, 3, 28, 28)
    with pytest.raises(ValueError, match="size"):
        augment.center_crop(x, 40)


def test_normalize():
    x = torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    out = augment.normalize(x, (0.5, 0.5, 0.0), (0.5, 0.25, 1.0))
    expected = torch.tensor([[-1.0, 1.0], [-2.0, 2.0], [0.0, 1.0]]).view(1, 3, 1, 2)
    torch.testing.assert_close(out, expected)
    assert augment.normalize(x, (0, 0, 0), (1, 1, 1), torch.bfloat16).dtype == torch.bfloat16


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="padding"):
        augment.crop_flip_params(4, -1)
    with pytest.raises(ValueError, match="scale"):
        augment.resized_crop_boxes(4, 32, 32, (0.5, 0.2), (0.75, 1.33))
    with pytest.raises(ValueError, match="ratio"):
        augment.resized_crop_boxes(4, 32, 32, (0.2, 0.5), (0.0, 1.33))


def test_resized_crop_falls_back_to_a_centred_box_like_torchvision():
    # No 4:1 … 5:1 box of ≥ 90 % of a square image fits: torchvision takes the centred 32×8 box.
    boxes = augment.resized_crop_boxes(6, 32, 32, (0.9, 1.0), (4.0, 5.0),
                                       torch.Generator().manual_seed(0))
    assert boxes.tolist() == [[12.0, 0.0, 8.0, 32.0]] * 6
