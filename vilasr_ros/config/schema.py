"""The parameter schema: one validated dataclass per concern.

Every ROS parameter of the node is a field below; its ROS name is
``<group>.<field>`` (``engine.max_turns``), its default is the field default and
its description is the field's ``doc`` metadata. The ROS layer declares the
parameters from this schema and builds a :class:`NodeConfig` from their values,
so validation lives here, in plain Python, with clear messages.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vilasr_ros.core.errors import DataError
from vilasr_ros.core.poses import POSE_STRING_FORMS, parse_pose


class ConfigError(ValueError):
    """A parameter has an invalid value; the message names the parameter."""


@dataclass(frozen=True)
class Bounds:
    """The numbers a parameter accepts: ``minimum`` (excluded when ``exclusive_minimum``) to ``maximum``,
    both included when given; floats must be finite. The node's parameter descriptors carry them as
    ranges (ROS ranges are inclusive: an excluded minimum is refused by validation, with the reason)."""

    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False

    def problem(self, name: str, value: float) -> str | None:
        """Why ``value`` is out of bounds (a message naming ``name``), or None when it is within."""
        below = self.minimum is not None and (
            value < self.minimum or (self.exclusive_minimum and value == self.minimum)
        )
        above = self.maximum is not None and value > self.maximum
        if not (below or above or (isinstance(value, float) and not math.isfinite(value))):
            return None
        return f"{name} must be {self.describe(isinstance(value, float))}, got {value}"

    def describe(self, real: bool = True) -> str:
        """The accepted values in words: ``in 1..100``, ``a finite number > 0.0``, ``in (0.0, 1.0]``."""
        lower = "(" if self.exclusive_minimum else "["
        if self.minimum is not None and self.maximum is not None:
            return f"in {lower}{self.minimum}, {self.maximum}]" if real else f"in {self.minimum}..{self.maximum}"
        if self.minimum is not None:
            relation = ">" if self.exclusive_minimum else ">="
            return f"a finite number {relation} {self.minimum}" if real else f"{relation} {self.minimum}"
        return f"a finite number <= {self.maximum}" if real else f"<= {self.maximum}"


def _param(
    default: Any,
    doc: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    also_bool: bool = False,
) -> Any:
    """A parameter field: its default, its description and (for numbers) its :class:`Bounds`.

    ``also_bool``: a string choice that also takes a boolean (``true``/``false`` written unquoted in YAML
    or on the command line), read as the string "true"/"false" (declared with dynamic typing in ROS).
    """
    metadata: dict[str, Any] = {"doc": doc}
    if also_bool:
        metadata["also_bool"] = True
    if minimum is not None or maximum is not None:
        metadata["bounds"] = Bounds(minimum, maximum, exclusive_minimum)
    return field(default=default, metadata=metadata)


def _check_bounds(prefix: str, config: Any) -> None:
    """Raise ConfigError for the first field of ``config`` outside its :class:`Bounds`."""
    for item in dataclasses.fields(config):
        bounds = item.metadata.get("bounds")
        problem = bounds.problem(f"{prefix}.{item.name}", getattr(config, item.name)) if bounds else None
        if problem:
            raise ConfigError(problem)


BACKEND_KINDS = ("transformers", "openai", "replay")
DTYPES = ("auto", "bfloat16", "float16", "float32")
ATTN_IMPLEMENTATIONS = ("sdpa", "eager", "flash_attention_2")
QUANTIZATIONS = ("none", "4bit", "8bit", "torchao-int8", "torchao-int4")
DECODES = ("auto", "graph", "static", "dynamic")
IMAGE_FORMATS = ("png", "jpeg")
PROMPT_STYLES = ("images", "video")


@dataclass(frozen=True)
class BackendConfig:
    """Which model answers, and where it runs."""

    kind: str = _param(
        "transformers",
        "Backend: transformers (in-process Qwen2.5-VL), openai (an OpenAI-compatible "
        "server such as vLLM) or replay (assistant turns read from a transcript file).",
    )
    model: str = _param(
        "AntResearchNLP/ViLaSR",
        "Model: a Hugging Face id or a local directory (transformers); the served model name (openai).",
    )
    device: str = _param("auto", "Torch device: auto (cuda when available, else cpu), cpu, cuda, cuda:N.")
    dtype: str = _param("auto", "Weights dtype: auto (bfloat16 on GPU, float32 on CPU), bfloat16, float16, float32.")
    attn_implementation: str = _param("sdpa", "Attention implementation: sdpa, eager or flash_attention_2.")
    quantization: str = _param(
        "none",
        "Weight quantization: none; 4bit or 8bit (bitsandbytes, CUDA); torchao-int8 (int8 weight-only, CPU or "
        "CUDA) or torchao-int4 (int4 weight-only, CUDA and bfloat16): torchao runs where bitsandbytes does not "
        "(Jetson). Needs the package it names.",
    )
    decode: str = _param(
        "auto",
        "Decode loop (transformers backend): graph (pre-allocated KV cache, each token's step replayed as a CUDA "
        "graph; CUDA only), static (the same cache, no graph), dynamic (a Python forward per token over a growing "
        "cache) or auto (graph on CUDA, dynamic on CPU). All give the same tokens.",
    )
    url: str = _param("http://localhost:8000/v1", "Base URL of the OpenAI-compatible server (openai backend).")
    api_key_env: str = _param(
        "OPENAI_API_KEY",
        "Environment variable holding the server's API key (openai backend); unset means no key.",
    )
    allow_insecure_localhost: bool = _param(
        False,
        "Allow sending the API key over plain http when backend.url is on this machine (localhost, 127.0.0.1, "
        "::1; openai backend). Otherwise a key is only sent over https and configure fails with the reason.",
    )
    request_timeout: float = _param(
        120.0,
        "Seconds to wait for the server's next chunk (the headers, then each streamed chunk; keep-alive "
        "comments do not count) before the request fails (openai backend).",
        minimum=0.0,
        exclusive_minimum=True,
    )
    max_retries: int = _param(
        2,
        "Retries of a failed server request, never past the query's deadline (openai backend).",
        minimum=0,
    )
    image_format: str = _param(
        "png", "How images travel to the server (openai backend): png (lossless) or jpeg (a fraction of the bytes)."
    )
    jpeg_quality: int = _param(
        90,
        "JPEG quality 1-100 when backend.image_format is jpeg (openai backend).",
        minimum=1,
        maximum=100,
    )
    transcript: str = _param(
        "", "JSON file with the assistant turns to replay, one list or one per question (replay backend)."
    )
    replay_turn_seconds: float = _param(
        0.0,
        "Seconds each replayed turn takes, streamed in pieces (replay backend): rehearses cancel, timeouts "
        "and concurrent clients without a model.",
        minimum=0.0,
    )

    def __post_init__(self) -> None:
        _check_bounds("backend", self)
        _check_choice("backend.kind", self.kind, BACKEND_KINDS)
        _check_choice("backend.dtype", self.dtype, DTYPES)
        _check_choice("backend.attn_implementation", self.attn_implementation, ATTN_IMPLEMENTATIONS)
        _check_choice("backend.quantization", self.quantization, QUANTIZATIONS)
        _check_choice("backend.decode", self.decode, DECODES)
        if not (self.device in ("auto", "cpu", "cuda") or _is_cuda_index(self.device)):
            raise ConfigError(f"backend.device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if self.kind != "replay" and not self.model.strip():
            raise ConfigError("backend.model must name a model (a Hugging Face id or a local path)")
        if self.kind == "openai" and not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"backend.url must start with http:// or https://, got {self.url!r}")
        if self.kind == "replay" and not self.transcript.strip():
            raise ConfigError("backend.transcript must name a JSON transcript file when backend.kind is replay")
        _check_choice("backend.image_format", self.image_format, IMAGE_FORMATS)


@dataclass(frozen=True)
class EngineConfig:
    """The drawing-reasoning loop and sampling."""

    max_turns: int = _param(10, "Model calls per query before it must answer (the reference uses 10).", minimum=1)
    max_images: int = _param(
        45,
        "Images in one conversation, keyframes and drawings together (reference: 45).",
        minimum=1,
    )
    max_pixels: int = _param(
        351232,
        "Pixel budget per image after Qwen2.5-VL smart_resize (reference: 351232).",
        minimum=28 * 28 * 4,
    )
    temperature: float = _param(0.75, "Sampling temperature; 0 decodes greedily (reference: 0.75).", minimum=0.0)
    top_p: float = _param(
        0.9,
        "Nucleus sampling threshold (reference: 0.9).",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
    )
    max_new_tokens: int = _param(2048, "Tokens the model may generate in one turn.", minimum=1)
    seed: int = _param(-1, "Sampling seed; -1 draws a fresh seed per query.", minimum=-1)
    prompt_style: str = _param(
        "images",
        "How keyframes are announced: images (indexed images, as in the reference's multi-image evaluation) or "
        "video (frames of a video, as in its VSI-Bench evaluation).",
    )

    def __post_init__(self) -> None:
        _check_bounds("engine", self)
        _check_choice("engine.prompt_style", self.prompt_style, PROMPT_STYLES)


@dataclass(frozen=True)
class QueryConfig:
    """Defaults and limits for incoming queries."""

    max_keyframes: int = _param(
        16,
        "Keyframes shown to the model when a request asks for 0 (reference: 16 frames).",
        minimum=1,
    )
    lookback: float = _param(
        120.0,
        "Seconds of history a query may use when a request gives 0; 0 means all.",
        minimum=0.0,
    )
    timeout: float = _param(
        120.0,
        "Seconds a query may take when a request gives 0.",
        minimum=0.0,
        exclusive_minimum=True,
    )
    queue_size: int = _param(4, "Queries waiting behind the running one; more are refused as busy.", minimum=0)

    def __post_init__(self) -> None:
        _check_bounds("query", self)


@dataclass(frozen=True)
class FramesConfig:
    """Coordinate frames of the published estimates."""

    target_frame: str = _param("map", "Frame of every published 3D position (map, odom, ...).")
    base_frame: str = _param("base_link", "Robot base frame that ranges and bearings are measured from.")

    def __post_init__(self) -> None:
        for name, value in (("frames.target_frame", self.target_frame), ("frames.base_frame", self.base_frame)):
            if not value.strip() or value.startswith("/"):
                raise ConfigError(f"{name} must be a non-empty frame id without a leading '/', got {value!r}")


@dataclass(frozen=True)
class KeyframeConfig:
    """Which camera frames are kept as keyframes, and how many."""

    min_sharpness: float = _param(
        30.0,
        "Frames less sharp than this are rejected as blurred: variance of the Laplacian of the "
        "grayscale image downscaled to at most 320 px wide (grey levels squared).",
        minimum=0.0,
    )
    min_translation: float = _param(
        0.5,
        "Metres the camera must move since its last keyframe to admit a frame (needs a pose).",
        minimum=0.0,
        exclusive_minimum=True,
    )
    min_rotation: float = _param(
        20.0,
        "Degrees the camera must turn since its last keyframe to admit a frame (needs a pose).",
        minimum=0.0,
        exclusive_minimum=True,
    )
    min_novelty: float = _param(
        0.35,
        "View change that admits a frame, in (0, 1]: 1 - normalised correlation of smoothed 64x48 "
        "grayscale thumbnails with the camera's last keyframe (a 10 % shift of the view gives about 0.25).",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
    )
    min_interval: float = _param(0.5, "Minimum seconds between two keyframes of one camera.", minimum=0.0)
    max_interval: float = _param(
        5.0,
        "Seconds after which a sharp frame is admitted even if nothing moved or changed.",
        minimum=0.0,
        exclusive_minimum=True,
    )
    stamp_tolerance: float = _param(
        1.0,
        "Seconds a frame's stamp may lie before its camera's last keyframe; older is rejected as out of order.",
        minimum=0.0,
    )
    max_per_camera: int = _param(
        100,
        "Keyframes kept per camera; one 1280x720 RGB-D keyframe (16UC1 depth) holds about 4.6 MB.",
        minimum=1,
    )
    max_total: int = _param(300, "Keyframes kept over all cameras.", minimum=1)
    max_bytes: int = _param(
        2_000_000_000,
        "Bytes of image data the keyframes may hold over all cameras (colour plus depth, as held in memory); "
        "beyond it the least informative keyframes are evicted. 2 GB leaves room for a 7B model on a 16 GB robot "
        "computer; a 4K RGB-D keyframe holds about 60 MB.",
        minimum=1_000_000,
    )

    def __post_init__(self) -> None:
        _check_bounds("keyframes", self)
        _check_number("keyframes.max_interval", self.max_interval, minimum=self.min_interval, exclusive=True)


@dataclass(frozen=True)
class GeometryConfig:
    """How boxes and lines the model drew become metric 3D estimates."""

    min_depth: float = _param(0.1, "Depth readings nearer than this (metres) are ignored as invalid.", minimum=0.0)
    max_depth: float = _param(
        20.0,
        "Depth readings farther than this (metres) are ignored as invalid.",
        minimum=0.0,
        exclusive_minimum=True,
    )
    inner_box_fraction: float = _param(
        0.5,
        "Central fraction of a box's width and height whose depth pixels give the object's depth "
        "(0.5: the middle quarter of its area, away from the background at its edges).",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
    )
    min_valid_fraction: float = _param(
        0.1,
        "Fraction of the depth pixels in a box's inner region that must be valid for a 3D estimate.",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
    )
    endpoint_radius: float = _param(
        0.01,
        "Radius of the depth window around a path endpoint, as a fraction of the image width "
        "(0.01: 3 px of a 320 px depth image, at least 1 px).",
        minimum=0.0,
        maximum=0.5,
        exclusive_minimum=True,
    )
    fusion_radius: float = _param(
        1.0,
        "Metres within which views of the same label from different keyframes are fused into one "
        "estimate; farther views stay separate estimates with that label.",
        minimum=0.0,
        exclusive_minimum=True,
    )

    approach_standoff: float = _param(
        0.6,
        "Metres between an object's box and the approach pose published for it (where a robot stops in "
        "front of the object, facing it, on the side the cameras saw).",
        minimum=0.0,
    )

    def __post_init__(self) -> None:
        _check_bounds("geometry", self)
        _check_number("geometry.max_depth", self.max_depth, minimum=self.min_depth, exclusive=True)


POSE_SOURCES = ("auto", "tf", "odometry", "pose", "none")
IMAGE_TRANSPORTS = ("raw", "compressed")
DEPTH_TRANSPORTS = ("raw", "compressedDepth")
RECTIFIED_CHOICES = ("auto", "true", "false")


@dataclass(frozen=True)
class PoseConfig:
    """Where the cameras' poses come from."""

    source: str = _param(
        "auto",
        "Camera poses: tf (tf2, ROS installs), odometry (nav_msgs/Odometry on pose.topic plus each camera's "
        "extrinsic), pose (geometry_msgs/PoseStamped on pose.topic plus extrinsic), none, or auto (tf when "
        "tf2_ros is importable, else odometry).",
    )
    topic: str = _param("/odom", "Topic of the robot base pose for pose.source odometry or pose.")
    max_gap: float = _param(
        0.5,
        "Seconds between two base poses beyond which a frame's pose is not interpolated.",
        minimum=0.0,
        exclusive_minimum=True,
    )
    tf_timeout: float = _param(
        0.05,
        "Seconds a tf lookup may wait for a transform at a frame's stamp (pose.source tf); after it the frame "
        "stays without pose and the failure is counted in diagnostics.",
        minimum=0.0,
    )

    def __post_init__(self) -> None:
        _check_bounds("pose", self)
        _check_choice("pose.source", self.source, POSE_SOURCES)
        if self.source in ("odometry", "pose", "auto") and not self.topic.strip():
            raise ConfigError(f"pose.topic must name a topic when pose.source is {self.source}")


@dataclass(frozen=True)
class CamerasConfig:
    """Which cameras are buffered; each name gets its own cameras.<name>.* parameters."""

    names: tuple[str, ...] = _param(
        ("camera",), "Camera names; each has the cameras.<name>.* parameters (image_topic, ...)."
    )
    depth_tolerance: float = _param(
        0.05,
        "Seconds between a colour frame and the depth image paired with it.",
        minimum=0.0,
        exclusive_minimum=True,
    )
    max_image_pixels: int = _param(
        4096 * 2160,
        "Largest image accepted (width x height, colour or depth), checked before decoding (for compressed "
        "images from the PNG/JPEG header): larger messages are dropped. The default admits 4K (DCI and UHD).",
        minimum=1,
    )
    stamp_jump_back: float = _param(
        1.0,
        "Seconds a camera's stamps may go back before it counts as a time jump (a bag replayed in a loop, a "
        "simulator reset): a late frame is dropped; when 3 frames in a row agree on the jump, that camera's "
        "keyframes and the depth and poses stamped on the old time line are cleared (those already on the new "
        "one are kept) and the new time is followed. The node clock going back by more than this (use_sim_time "
        "and a simulator reset, a bag played again with --clock) clears every camera's buffers at once.",
        minimum=0.0,
        exclusive_minimum=True,
    )
    stamp_jump_forward: float = _param(
        30.0,
        "Seconds a camera's stamps may leap ahead of its latest stamp: a single frame farther ahead is dropped "
        "(one bad stamp does not poison the stream); 3 frames in a row that agree are followed.",
        minimum=0.0,
        exclusive_minimum=True,
    )

    def __post_init__(self) -> None:
        if not self.names:
            raise ConfigError("cameras.names must name at least one camera")
        for name in self.names:
            if not name or not all(c.isalnum() or c == "_" for c in name):
                raise ConfigError(f"cameras.names entries must be letters, digits and '_', got {name!r}")
        if len(set(self.names)) != len(self.names):
            raise ConfigError(f"cameras.names has duplicates: {list(self.names)}")
        _check_bounds("cameras", self)


@dataclass(frozen=True)
class CameraConfig:
    """One camera's topics (parameters cameras.<name>.<field>)."""

    name: str
    image_topic: str = _param("/camera/color/image_raw", "Colour image topic (sensor_msgs/Image or CompressedImage).")
    transport: str = _param("raw", "raw (sensor_msgs/Image) or compressed (sensor_msgs/CompressedImage, jpeg/png).")
    camera_info_topic: str = _param(
        "/camera/color/camera_info", "sensor_msgs/CameraInfo of the colour image; '' for none."
    )
    depth_topic: str = _param(
        "",
        "Depth registered to the colour image (16UC1 or 32FC1; e.g. a RealSense aligned_depth_to_color topic); "
        "'' for none. A depth image is used only when its frame_id is the colour image's (or depth_registered "
        "says so) and its size is the colour size or that size divided by a whole number.",
    )
    depth_registered: bool = _param(
        False,
        "Declare the depth registered to the colour image although their frame_ids differ (a driver that "
        "aligns depth but keeps the depth frame_id).",
    )
    rectified: str = _param(
        "auto",
        "Whether the colour image is rectified: true (use CameraInfo P, no distortion), false (K and D), or auto "
        "(true when image_topic has a segment starting with image_rect). A boolean true/false is read the same.",
        also_bool=True,
    )
    depth_transport: str = _param(
        "raw", "raw (sensor_msgs/Image) or compressedDepth (compressed_depth_image_transport)."
    )
    depth_scale: float = _param(
        0.001,
        "Metres per unit of 16UC1 depth (0.001: millimetres).",
        minimum=0.0,
        exclusive_minimum=True,
    )
    frame_id: str = _param("", "The camera's optical frame; '' takes the image header's frame_id.")
    extrinsic: str = _param(
        "",
        "The optical frame's pose in frames.base_frame for pose.source odometry/pose: 'x y z qx qy qz qw' "
        "or 'x y z roll pitch yaw' (metres, radians); '' means unknown (frames stay without pose).",
    )

    def __post_init__(self) -> None:
        prefix = f"cameras.{self.name}"
        if not self.image_topic.strip():
            raise ConfigError(f"{prefix}.image_topic must name a topic")
        _check_choice(f"{prefix}.transport", self.transport, IMAGE_TRANSPORTS)
        _check_choice(f"{prefix}.depth_transport", self.depth_transport, DEPTH_TRANSPORTS)
        _check_bounds(prefix, self)
        _check_choice(f"{prefix}.rectified", self.rectified, RECTIFIED_CHOICES)
        self.extrinsic_values()

    @property
    def is_rectified(self) -> bool:
        """True when the colour image is rectified (``rectified``, or for auto its topic's name)."""
        if self.rectified == "auto":
            return any(part.startswith("image_rect") for part in self.image_topic.split("/"))
        return self.rectified == "true"

    def extrinsic_values(self) -> tuple[tuple[float, float, float], tuple[float, float, float, float]] | None:
        """The extrinsic as (position, quaternion xyzw), or None when unset; raises ConfigError when malformed."""
        if not self.extrinsic.strip():
            return None
        try:
            pose = parse_pose(self.extrinsic, "base")
        except DataError as error:
            problem = str(error) if "zero length" in str(error) else f"must be {POSE_STRING_FORMS}"
            raise ConfigError(f"cameras.{self.name}.extrinsic {problem}, got {self.extrinsic!r}") from None
        return pose.position, pose.orientation

    @classmethod
    def from_parameters(cls, name: str, values: Mapping[str, Any]) -> CameraConfig:
        """Build camera ``name`` from flat ``cameras.<name>.<field>`` values (missing: defaults)."""
        fields = {}
        for item in _camera_fields():
            key = f"cameras.{name}.{item.name}"
            if key in values:
                value = values[key]
                if item.metadata.get("also_bool") and isinstance(value, bool):
                    value = "true" if value else "false"
                fields[item.name] = _coerce(key, value, type(item.default))
        return cls(name=name, **fields)


def _camera_fields() -> list[dataclasses.Field]:
    return [item for item in dataclasses.fields(CameraConfig) if item.name != "name"]


def camera_parameter_defaults(name: str) -> dict[str, Any]:
    """The ROS names and defaults of camera ``name``'s parameters."""
    return {f"cameras.{name}.{item.name}": item.default for item in _camera_fields()}


def camera_parameters_also_bool(name: str) -> set[str]:
    """The ROS names of camera ``name``'s string parameters that also take a boolean (dynamic typing)."""
    return {f"cameras.{name}.{item.name}" for item in _camera_fields() if item.metadata.get("also_bool")}


def camera_parameter_descriptions(name: str) -> dict[str, str]:
    """The ROS names and descriptions of camera ``name``'s parameters."""
    return {f"cameras.{name}.{item.name}": item.metadata["doc"] for item in _camera_fields()}


@dataclass(frozen=True)
class NodeConfig:
    """Everything the node reads from its parameters (per-camera topics: :class:`CameraConfig`)."""

    autostart: bool = _param(True, "Configure and activate by itself at start; false: wait for a lifecycle manager.")
    backend: BackendConfig = field(default_factory=BackendConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    query: QueryConfig = field(default_factory=QueryConfig)
    frames: FramesConfig = field(default_factory=FramesConfig)
    keyframes: KeyframeConfig = field(default_factory=KeyframeConfig)
    geometry: GeometryConfig = field(default_factory=GeometryConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    cameras: CamerasConfig = field(default_factory=CamerasConfig)

    @classmethod
    def from_parameters(cls, values: Mapping[str, Any]) -> NodeConfig:
        """Build from flat ``group.name`` (or top-level ``name``) values; missing names keep their defaults."""
        known = parameter_defaults()
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"unknown parameter(s): {', '.join(unknown)}")
        groups: dict[str, dict[str, Any]] = {}
        built: dict[str, Any] = {}
        for name, value in values.items():
            coerced = _coerce(name, value, type(known[name]))
            group, _, item = name.rpartition(".")
            if group:
                groups.setdefault(group, {})[item] = coerced
            else:
                built[item] = coerced
        for item in dataclasses.fields(cls):
            if _is_group(item):
                built[item.name] = item.default_factory(**groups.get(item.name, {}))  # type: ignore[misc]
        return cls(**built)

    def to_parameters(self) -> dict[str, Any]:
        """Flat ``group.name`` -> value, the inverse of :meth:`from_parameters`."""
        flat: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if not _is_group(item):
                flat[item.name] = value
                continue
            for entry in dataclasses.fields(value):
                flat[f"{item.name}.{entry.name}"] = getattr(value, entry.name)
        return flat


def _is_group(item: dataclasses.Field) -> bool:
    return item.default_factory is not dataclasses.MISSING  # type: ignore[comparison-overlap]


def parameter_defaults() -> dict[str, Any]:
    """Every static parameter's ROS name and default value (per-camera ones: camera_parameter_defaults)."""
    return NodeConfig().to_parameters()


def parameter_descriptions() -> dict[str, str]:
    """Every static parameter's ROS name and one-line description."""
    docs: dict[str, str] = {}
    for item in dataclasses.fields(NodeConfig):
        if not _is_group(item):
            docs[item.name] = item.metadata["doc"]
            continue
        for entry in dataclasses.fields(item.default_factory):  # type: ignore[arg-type]
            docs[f"{item.name}.{entry.name}"] = entry.metadata["doc"]
    return docs


def parameter_bounds() -> dict[str, Bounds]:
    """The :class:`Bounds` of every static parameter that has them, by ROS name."""
    bounds: dict[str, Bounds] = {}
    for item in dataclasses.fields(NodeConfig):
        entries = dataclasses.fields(item.default_factory) if _is_group(item) else ()  # type: ignore[arg-type]
        for entry in entries:
            if "bounds" in entry.metadata:
                bounds[f"{item.name}.{entry.name}"] = entry.metadata["bounds"]
    return bounds


def camera_parameter_bounds(name: str) -> dict[str, Bounds]:
    """The :class:`Bounds` of camera ``name``'s parameters that have them."""
    fields = [item for item in _camera_fields() if "bounds" in item.metadata]
    return {f"cameras.{name}.{item.name}": item.metadata["bounds"] for item in fields}


def _coerce(name: str, value: Any, expected: type) -> Any:
    if expected is tuple:  # string arrays (ROS returns lists)
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(f"{name} must be a list of strings, got {value!r}")
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"{name} must be of type {expected.__name__}, got {value!r}")
    return value


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def _check_number(name: str, value: float, minimum: float, exclusive: bool = False) -> None:
    if not math.isfinite(value) or value < minimum or (exclusive and value == minimum):
        relation = ">" if exclusive else ">="
        raise ConfigError(f"{name} must be a finite number {relation} {minimum}, got {value}")


def _is_cuda_index(device: str) -> bool:
    prefix, _, index = device.partition(":")
    return prefix == "cuda" and index.isdigit()
