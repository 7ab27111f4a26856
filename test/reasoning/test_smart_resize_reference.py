"""Our smart_resize against the model processor's own (transformers' Qwen2-VL image processor)."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize as hf_smart_resize

from vilasr_ros.reasoning.images import smart_resize

pytestmark = pytest.mark.model  # imports transformers (seconds), like the tiny-model tests


# From 15 px up (below, qwen_vl_utils' fetch_image, which we follow, rounds a side up to 28 first).
@given(st.integers(15, 4000), st.integers(15, 4000), st.sampled_from([351232, 200704, 1003520]))
def test_smart_resize_matches_the_model_processor(height, width, max_pixels):
    assume(max(height, width) / min(height, width) <= 200)
    assert smart_resize(height, width, max_pixels) == hf_smart_resize(height, width, max_pixels=max_pixels)


@given(st.integers(1, 3000), st.integers(1, 3000))
def test_resized_sizes_are_fixed_points_of_the_processor(height, width):
    assume(max(height, width) / min(height, width) <= 200)
    resized = smart_resize(height, width, 351232)
    assert resized[0] % 28 == 0 and resized[1] % 28 == 0
    assert hf_smart_resize(*resized, max_pixels=351232) == resized  # the processor will not resize again
