"""Offline input: real MCAP rosbag2 recordings, keyframe folders and image folders through the keyframe store."""

from __future__ import annotations

import math
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from recordings import (
    FRAMES,
    HEADING,
    HEIGHT,
    STEP_M,
    WIDTH,
    D,
    K,
    assert_same_frames,
    base_pose,
    depth_mm,
    extrinsic_pose,
    frame_index,
    view,
    world,
    write_params,
    write_recording,
    write_rosbag2_directory,
)

from vilasr_ros.cli import main
from vilasr_ros.core.camera import CameraIntrinsics, Frame
from vilasr_ros.core.poses import Pose, compose
from vilasr_ros.io.ingest import IngestError, ingest
from vilasr_ros.io.keyframe_folder import KeyframeFolderError, read_keyframes, write_keyframes


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    return write_rosbag2_directory(tmp_path_factory.mktemp("bag") / "run")


# --- MCAP recordings ---------------------------------------------------------------------------


def test_a_recorded_run_becomes_pose_stamped_rgbd_keyframes_at_the_configured_spacing(recording, tmp_path):
    params = write_params(tmp_path / "params.yaml")
    result = ingest(recording, params, tmp_path / "out")

    assert result.kind == "mcap" and result.frames_read == FRAMES
    stats = result.stats.cameras["front"]
    assert stats.offered == FRAMES
    assert stats.admitted == 8 and stats.rejected == {"redundant": FRAMES - 8}  # every 4th frame: 0.52 m apart
    assert result.problems == {}
    frames = read_keyframes(tmp_path / "out")
    assert [frame_index(frame) for frame in frames] == [0, 4, 8, 12, 16, 20, 24, 28]
    for frame in frames:
        index = frame_index(frame)
        assert frame.camera == "front" and frame.frame_id == "front_optical"
        assert np.array_equal(frame.rgb, view(index))
        assert frame.depth.dtype == np.uint16 and np.array_equal(frame.depth, depth_mm(index))  # the depth 10 ms later
        assert frame.depth_scale == 0.001
        assert frame.intrinsics.k.ravel().tolist() == K and frame.intrinsics.distortion == tuple(D)
        assert (frame.intrinsics.width, frame.intrinsics.height) == (WIDTH, HEIGHT)
        expected = compose(base_pose(index), extrinsic_pose())
        assert frame.pose.frame_id == "odom"
        assert frame.pose.position == pytest.approx(expected.position, abs=1e-9)
        assert frame.pose.orientation == pytest.approx(expected.orientation, abs=1e-9)
        # the optical axis (camera z) points along the base's heading
        assert frame.pose.viewing_direction() == pytest.approx((math.cos(HEADING), math.sin(HEADING), 0.0), abs=1e-9)
    gaps = [math.dist(a.pose.position, b.pose.position) for a, b in zip(frames, frames[1:])]
    assert gaps == pytest.approx([4 * STEP_M] * 7)


def test_the_mcap_file_alone_reads_like_its_rosbag2_directory_and_the_folder_round_trips(recording, tmp_path):
    params = write_params(tmp_path / "params.yaml")
    from_directory = ingest(recording, params, tmp_path / "a")
    from_file = ingest(recording / "run_0.mcap", params, tmp_path / "b")
    assert from_file.stats == from_directory.stats
    first = read_keyframes(tmp_path / "a")
    assert_same_frames(read_keyframes(tmp_path / "b"), first)

    # written again from what was read: the same files, bit for bit
    write_keyframes(first, tmp_path / "c")
    assert_same_frames(read_keyframes(tmp_path / "c"), first)
    assert sorted(p.name for p in (tmp_path / "c" / "rgb").iterdir()) == [f"{n:06d}.png" for n in range(1, 9)]


def test_a_compressed_recording_with_pose_stamped_and_compressed_depth(tmp_path):
    bag = write_recording(tmp_path / "compressed.mcap", compressed=True, pose_stamped=True)
    params = write_params(tmp_path / "params.yaml", compressed=True, pose_source="pose")
    result = ingest(bag, params, tmp_path / "out")

    assert result.frames_read == FRAMES and result.stats.total.admitted == 8
    assert result.problems == {}
    for frame in read_keyframes(tmp_path / "out"):
        index = frame_index(frame)
        assert np.array_equal(frame.depth, depth_mm(index))  # compressedDepth is lossless
        assert np.abs(frame.rgb.astype(int) - view(index)).mean() < 8  # jpeg (chroma subsampled) of fine texture
        assert frame.pose.position == pytest.approx(compose(base_pose(index), extrinsic_pose()).position, abs=1e-9)


def test_max_keyframes_selects_a_spread_and_a_keyframe_folder_can_be_ingested_again(recording, tmp_path):
    params = write_params(tmp_path / "params.yaml")
    result = ingest(recording, params, tmp_path / "three", max_keyframes=3)
    assert result.written == 3 and result.stats.total.keyframes == 8
    three = read_keyframes(tmp_path / "three")
    assert frame_index(three[-1]) == 28  # the newest is always kept
    assert [frame_index(f) for f in three] == sorted(frame_index(f) for f in three)

    ingest(recording, params, tmp_path / "all")
    again = ingest(tmp_path / "all", params, tmp_path / "again")
    assert again.kind == "keyframes" and again.stats.total.admitted == 8
    assert_same_frames(read_keyframes(tmp_path / "again"), read_keyframes(tmp_path / "all"))


def test_damage_in_a_recording_is_reported_and_skipped(tmp_path):
    bag = write_recording(tmp_path / "damaged.mcap", garbage_depth_at=8)
    params = write_params(tmp_path / "params.yaml")
    result = ingest(bag, params, tmp_path / "out")
    [(problem, count)] = result.problems.items()
    assert count == 1 and problem.startswith(
        "undecodable sensor_msgs/msg/Image message on /front/depth/image_raw skipped"
    )
    # frame 8 waited for its depth while frame 9 got its own and became the keyframe (as live);
    # when frame 8 went on without depth it came too soon after it
    assert result.stats.total.rejected == {"redundant": FRAMES - 9, "too soon": 1}
    frames = read_keyframes(tmp_path / "out")
    assert [frame_index(frame) for frame in frames] == [0, 4, 9, 13, 17, 21, 25, 29]
    assert all(np.array_equal(frame.depth, depth_mm(frame_index(frame))) for frame in frames)

    # cut short, as when the recorder is killed: no index, the last chunk broken
    data = (tmp_path / "damaged.mcap").read_bytes()
    (tmp_path / "cut.mcap").write_bytes(data[: len(data) * 2 // 3])
    result = ingest(tmp_path / "cut.mcap", params, tmp_path / "cut")
    assert any("no valid index" in problem for problem in result.problems)
    assert 0 < result.frames_read < FRAMES and result.stats.total.admitted >= 1


def test_topics_missing_from_the_recording(recording, tmp_path):
    params = write_params(tmp_path / "params.yaml")
    text = params.read_text().replace("/front/depth/image_raw", "/front/aligned_depth/image_raw")
    params.write_text(text)
    result = ingest(recording, params, tmp_path / "out")
    assert result.problems == {
        "topic /front/aligned_depth/image_raw (cameras.front.depth_topic) is not recorded: not used": 1
    }
    assert result.stats.total.admitted == 8  # frames went on without depth
    assert all(frame.depth is None for frame in read_keyframes(tmp_path / "out"))

    params.write_text(text.replace("/front/color/image_raw", "/rear/image"))
    with pytest.raises(
        IngestError,
        match=r"has none of the image topics /rear/image; its topics: .*/front/color/image_raw \(sensor_msgs/msg/Image\)",
    ):
        ingest(recording, params, tmp_path / "none")


# --- folders of images -------------------------------------------------------------------------


def test_a_folder_of_pngs_with_depth_camera_info_and_stamps(tmp_path):
    folder = tmp_path / "frames"
    (folder / "depth").mkdir(parents=True)
    scenes = [np.ascontiguousarray(world()[:, i * WIDTH // 2 : i * WIDTH // 2 + WIDTH]) for i in range(5)]
    for index, scene in enumerate(scenes):
        cv2.imwrite(str(folder / f"frame_{index:03d}.png"), cv2.cvtColor(scene, cv2.COLOR_RGB2BGR))
    (folder / "frame_002.png").write_bytes(b"not a png")
    cv2.imwrite(str(folder / "depth" / "frame_000.png"), depth_mm(0))
    np.save(folder / "depth" / "frame_001.npy", np.full((HEIGHT // 2, WIDTH // 2), 1.5, np.float32))
    cv2.imwrite(str(folder / "depth" / "frame_003.png"), np.zeros((HEIGHT, WIDTH), np.uint8))
    (folder / "stamps.txt").write_text("".join(f"frame_{i:03d}.png {12 + 0.75 * i}\n" for i in range(5)))
    (folder / "camera_info.yaml").write_text(
        yaml.safe_dump(
            {
                "image_width": WIDTH,
                "image_height": HEIGHT,
                "camera_name": "kitchen",
                "camera_matrix": {"rows": 3, "cols": 3, "data": K},
                "distortion_model": "plumb_bob",
                "distortion_coefficients": {"rows": 1, "cols": 5, "data": D},
            }
        )
    )
    params = tmp_path / "params.yaml"
    params.write_text("/**:\n  ros__parameters:\n    keyframes:\n      min_novelty: 0.2\n")

    result = ingest(folder, params, tmp_path / "out", camera="kitchen")

    assert result.kind == "images" and result.frames_read == 4
    assert result.stats.cameras["kitchen"].admitted == 4
    assert set(result.problems) == {
        f"cannot read image {folder / 'frame_002.png'}: skipped",
        f"depth image {folder / 'depth' / 'frame_003.png'} must be a single-channel 16-bit PNG, got uint8 "
        f"({HEIGHT}, {WIDTH}): frame kept without depth",
        f"no depth for frame_004 in {folder / 'depth'}: frame kept without depth",
    }
    frames = read_keyframes(tmp_path / "out")
    assert [f.stamp_ns for f in frames] == [12_000_000_000, 12_750_000_000, 14_250_000_000, 15_000_000_000]
    assert all(f.camera == "kitchen" and f.frame_id == "kitchen" and f.pose is None for f in frames)
    assert all(f.intrinsics.k.ravel().tolist() == K and f.intrinsics.distortion == tuple(D) for f in frames)
    assert np.array_equal(frames[0].rgb, scenes[0]) and np.array_equal(frames[0].depth, depth_mm(0))
    assert frames[1].depth.dtype == np.float32 and frames[1].depth.shape == (HEIGHT // 2, WIDTH // 2)
    assert frames[2].depth is None and frames[3].depth is None


def test_an_image_folder_without_stamps_is_spaced_a_tenth_of_a_second_and_unknown_parameters_are_noted(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for index in range(3):
        cv2.imwrite(str(folder / f"{index}.jpg"), view(40 * index))
    params = tmp_path / "params.yaml"
    params.write_text(
        "vilasr:\n  ros__parameters:\n    use_sim_time: true\n"
        "    keyframes: {min_interval: 0.0, min_novelty: 0.2, min_sharpnes: 5.0}\n"
    )
    result = ingest(folder, params, tmp_path / "out")
    assert result.stats.cameras["camera"].admitted == 3
    assert result.problems == {f"params file {params}: ignored unknown parameter(s) keyframes.min_sharpnes": 1}
    assert [f.stamp_ns for f in read_keyframes(tmp_path / "out")] == [0, 100_000_000, 200_000_000]


# --- the keyframe folder format ----------------------------------------------------------------


def test_keyframe_folders_round_trip_every_field_exactly(tmp_path):
    rng = np.random.default_rng(3)
    metres = rng.uniform(0.2, 8.0, (30, 40)).astype(np.float32)
    metres[0, :5] = np.nan
    frames = [
        Frame("front", 5, "front_optical", rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)),
        Frame(
            "rear",
            1_700_000_000_123_456_789,
            "rear_optical",
            rng.integers(0, 256, (60, 80, 3), dtype=np.uint8),
            depth=metres,
            intrinsics=CameraIntrinsics(
                np.array([[61.3, 0, 40.1], [0, 60.7, 29.9], [0, 0, 1]]),
                80,
                60,
                (0.1, -0.2, 0.0, 0.0, 0.03),
                "rational_polynomial",
            ),
            pose=Pose(tuple(rng.normal(size=3)), tuple(rng.normal(size=4)), "map"),
        ),
        Frame(
            "front",
            7,
            "front_optical",
            rng.integers(0, 256, (60, 80, 3), dtype=np.uint8),
            depth=rng.integers(0, 65535, (60, 80), dtype=np.uint16),
            depth_scale=0.00025,
            pose=Pose((1.0, 2.0, 3.0), (0.1, 0.2, 0.3, 0.9), "odom"),
        ),
    ]
    index = write_keyframes(frames, tmp_path / "kf")
    assert index == tmp_path / "kf" / "keyframes.json"
    assert_same_frames(read_keyframes(tmp_path / "kf"), frames)
    assert sorted(p.name for p in (tmp_path / "kf" / "depth").iterdir()) == ["000002.npy", "000003.png"]

    write_keyframes(frames[:1], tmp_path / "kf")  # a previous keyframe folder is replaced
    assert len(read_keyframes(tmp_path / "kf")) == 1
    assert not (tmp_path / "kf" / "depth" / "000002.npy").exists()


def test_keyframe_folder_errors_name_the_file(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(KeyframeFolderError, match="is not empty and holds no keyframes.json"):
        write_keyframes([], tmp_path / "other")
    with pytest.raises(KeyframeFolderError, match="keyframes.json is missing"):
        read_keyframes(tmp_path / "other")
    write_keyframes([Frame("c", 0, "c", view(0))], tmp_path / "kf")
    (tmp_path / "kf" / "rgb" / "000001.png").unlink()
    with pytest.raises(KeyframeFolderError, match=r"keyframes.json, keyframe 1: cannot read colour image .*000001.png"):
        read_keyframes(tmp_path / "kf")


# --- the command line and bad input ------------------------------------------------------------


def run(argv: list[str]) -> int:
    return main(["ingest", *argv])


def test_the_command_prints_counts_and_exits_0(recording, tmp_path, capsys):
    params = write_params(tmp_path / "params.yaml")
    code = run([str(recording), "--params-file", str(params), "--out", str(tmp_path / "out"), "--max-keyframes", "4"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"read {FRAMES} frame(s) from {recording} (mcap)" in out
    assert f"camera front: {FRAMES} offered, 8 admitted, 0 evicted, rejected: redundant {FRAMES - 8}" in out
    assert f"wrote 4 keyframe(s) to {tmp_path / 'out' / 'keyframes.json'}" in out


def bad_source(directory: Path, kind: str) -> Path:
    """A source that cannot be ingested."""
    if kind == "corrupt":
        (directory / "junk.mcap").write_bytes(b"\x89PNG, not a recording" * 10)
        return directory / "junk.mcap"
    if kind == "empty":
        (directory / "empty.mcap").write_bytes(b"")
        return directory / "empty.mcap"
    if kind == "other file":
        (directory / "notes.txt").write_text("x")
        return directory / "notes.txt"
    if kind == "empty folder":
        (directory / "nothing").mkdir()
        return directory / "nothing"
    if kind == "unreadable images":
        (directory / "frames").mkdir()
        (directory / "frames" / "0001.png").write_bytes(b"truncated")
        return directory / "frames"
    return directory / "missing.mcap"


@pytest.mark.parametrize(
    "kind, message",
    [
        ("missing", r"missing.mcap does not exist"),
        ("corrupt", r"junk.mcap is not an MCAP file \(not a valid MCAP file, invalid magic"),
        ("empty", r"empty.mcap is not an MCAP file"),
        ("other file", r"notes.txt is not a recording \(.mcap, .db3, .bag\)"),
        ("empty folder", r"nothing holds no recording \(.mcap, metadata.yaml\), no keyframes.json and no"),
        ("unreadable images", r"no frame could be read from .*frames \(cannot read image .*0001.png: skipped\)"),
    ],
)
def test_bad_sources_exit_2_with_one_line(tmp_path, capsys, kind, message):
    source = bad_source(tmp_path, kind)
    assert run([str(source), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vilasr-ros ingest: ")
    assert re.search(message, err)
    assert not (tmp_path / "out").exists()


def test_bad_parameter_files_exit_2_with_the_config_error(recording, tmp_path, capsys):
    params = write_params(tmp_path / "params.yaml", min_novelty=2.0)
    assert run([str(recording), "--params-file", str(params), "--out", str(tmp_path / "out")]) == 2
    assert (
        capsys.readouterr().err
        == f"vilasr-ros ingest: invalid parameter in {params}: keyframes.min_novelty must be in (0.0, 1.0], got 2.0\n"
    )

    params.write_text(
        "/**:\n  ros__parameters:\n    cameras:\n      names: [front]\n      front:\n        transport: h264\n"
    )
    assert run([str(recording), "--params-file", str(params), "--out", str(tmp_path / "out")]) == 2
    assert "cameras.front.transport must be one of raw, compressed, got 'h264'" in capsys.readouterr().err

    params.write_text("/**: [unclosed")
    assert run([str(recording), "--params-file", str(params), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith(f"vilasr-ros ingest: cannot read params file {params}")

    assert run([str(recording), "--params-file", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "out")]) == 2
    assert "nope.yaml does not exist" in capsys.readouterr().err

    assert run([str(recording), "--out", str(tmp_path / "out"), "--camera", "rear"]) == 2
    assert "--camera 'rear' is not in cameras.names (camera)" in capsys.readouterr().err
