"""Image sizing, the per-label merge, and rendering from the pristine frame."""

import numpy as np
import pytest

from vilasr_ros.core.conversation import Box, Line
from vilasr_ros.reasoning.drawing import clamp_box, merge_by_label, render
from vilasr_ros.reasoning.images import ImageError, resize_for_model, smart_resize


def test_smart_resize_of_a_720p_camera_frame():
    assert smart_resize(720, 1280, max_pixels=351232) == (420, 784)


def test_resize_for_model_maps_back_to_source_pixels():
    image = np.zeros((720, 1280, 3), np.uint8)
    resized, mapping = resize_for_model(image, 351232)
    assert resized.shape == (420, 784, 3)
    assert mapping.to_source(784, 420) == (1280.0, 720.0)
    assert (*mapping.to_source(392, 210), *mapping.to_source(784, 420)) == (640.0, 360.0, 1280.0, 720.0)


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((10, 10), np.uint8), "shape"),
        (np.zeros((10, 10, 3), np.float32), "uint8"),
        (np.zeros((0, 10, 3), np.uint8), "empty"),
        (np.zeros((1, 300, 3), np.uint8), "aspect ratio"),
        ("not an image", "numpy array"),
    ],
)
def test_unusable_images_are_refused(image, message):
    with pytest.raises(ImageError, match=message):
        resize_for_model(image, 351232)


def test_merge_replaces_by_label_in_place_and_appends_new_labels():
    inherited = [Box("a", (0, 0, 1, 1)), Box("b", (0, 0, 2, 2)), Box("c", (0, 0, 3, 3))]
    new = [Box("b", (5, 5, 6, 6)), Box("d", (7, 7, 8, 8))]
    assert merge_by_label(inherited, new) == [inherited[0], new[0], inherited[2], new[1]]


def test_merge_keeps_two_items_with_the_same_label_from_one_call():
    new = [Box("chair", (0, 0, 1, 1)), Box("chair", (5, 5, 6, 6))]
    assert merge_by_label([], new) == new
    # ... and a later call's "chair" replaces both.
    later = [Box("chair", (9, 9, 10, 10))]
    assert merge_by_label(new, later) == later


def test_clamp_box_orders_and_clamps():
    assert clamp_box((500, -20, 100, 1e9), 400, 300) == (100.0, 0.0, 400.0, 300.0)


def test_render_draws_on_a_copy_with_palette_and_dots():
    image = np.full((112, 168, 3), 200, np.uint8)
    drawn = render(image, [Box("x", (10, 10, 60, 60))], [Line("p", (80, 20), (150, 90))])
    assert (image == 200).all()  # pristine frame untouched
    assert tuple(drawn[35, 10]) == (255, 0, 0)  # left edge of the first box: red
    assert tuple(drawn[20, 80]) == (255, 0, 0)  # start dot: red
    assert tuple(drawn[90, 150]) == (0, 0, 255)  # end dot: blue
    assert tuple(drawn[55, 115]) == (0, 0, 0)  # the line itself: black
    assert tuple(drawn[100, 20]) == (200, 200, 200)  # elsewhere untouched


def test_resize_cache_reuses_the_same_array_and_never_a_freed_one():
    from vilasr_ros.reasoning.images import ResizeCache

    cache = ResizeCache(capacity=2)
    frame = np.zeros((720, 1280, 3), np.uint8)
    first = cache.resize(frame, 351232)
    assert cache.resize(frame, 351232)[0] is first[0] and (cache.hits, cache.misses) == (1, 1)
    other = np.full((720, 1280, 3), 9, np.uint8)
    assert cache.resize(other, 351232)[0][0, 0, 0] == 9
    del frame, first
    reused = np.full((720, 1280, 3), 200, np.uint8)  # may get the freed array's id: must not hit
    assert cache.resize(reused, 351232)[0][0, 0, 0] == 200
    for _ in range(3):
        cache.resize(np.zeros((56, 56, 3), np.uint8), 351232)
    assert len(cache._entries) <= 2
