"""Pairwise object distances are given among the first MAX_DISTANCE_OBJECTS objects only."""

from vilasr_ros.geometry.estimates import OBJECT, SpatialEstimate
from vilasr_ros.geometry.fusion import MAX_DISTANCE_OBJECTS, object_distances


def estimate(number: int) -> SpatialEstimate:
    position = (float(number), 0.0, 0.0)
    return SpatialEstimate(
        f"object{number}",
        OBJECT,
        2,
        1,
        "cam",
        "cam_optical",
        0,
        (0.0, 0.0, 1.0, 1.0),
        (0.0,) * 4,
        has_depth=True,
        has_pose=True,
        valid_3d=True,
        frame_id="map",
        position=position,
        end_position=position,
        size=(0.5, 0.5, 0.1),
        length=0.0,
        stddev=0.0,
    )


def test_2000_objects_give_the_pairs_of_the_first_32_only():
    distances = object_distances([estimate(n) for n in range(2000)])
    assert len(distances) == MAX_DISTANCE_OBJECTS * (MAX_DISTANCE_OBJECTS - 1) // 2 == 496
    assert max(max(d.index_a, d.index_b) for d in distances) == MAX_DISTANCE_OBJECTS - 1
    assert all(d.distance == abs(d.index_a - d.index_b) for d in distances)  # objects 1 m apart along x
