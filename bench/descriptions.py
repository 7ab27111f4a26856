"""One-line meanings of the top-level numeric keys of bench/results.json (for results.md)."""

from __future__ import annotations

MEANINGS = {
    # keyframe ingestion (bench/ingest_bench.py)
    "ingest_ms_per_720p_frame": "median ms per 1280x720 RGB + 16UC1 depth frame of a moving 30 Hz camera through "
    "the node's camera-callback path: message conversion, pairing with depth, camera_info and odometry pose, "
    "KeyframeStore.offer; every frame scored (min_interval 0), default threads",
    "ingest_offer_ms_per_720p_frame": "median ms of KeyframeStore.offer alone (same frames, every frame scored)",
    "ingest_conversion_ms_per_720p_frame": "median ms converting the colour, depth and camera_info messages "
    "(views of the message data, no copy)",
    "ingest_ms_per_720p_frame_default_config": "median ms per frame with the shipped keyframes config "
    "(min_interval 0.5 s: at 30 Hz most frames are rejected as too soon, unscored)",
    "ingest_ms_per_720p_frame_one_core": "as ingest_ms_per_720p_frame, pinned to one CPU with one thread "
    "(OpenCV, OpenMP, BLAS)",
    "ingest_fps_one_core": "frames per second one core ingests, every frame scored (frames / summed ingest time)",
    "ingest_fps_one_core_default_config": "frames per second one core ingests with the shipped config",
    "ingest_deserialize_ms_per_720p_frame": "median ms rclpy takes to deserialize the colour + depth messages "
    "before the callback runs (one core)",
    "ingest_core_share_4_cameras_30hz": "fraction of one core that four 30 Hz 720p RGB-D cameras cost "
    "(deserialization + ingestion, shipped config; target < 0.5)",
    # the drawing loop (replay backend)
    "loop_overhead_ms_per_turn": "ms per turn of everything but the model (prompt, parse, draw; keyframes already "
    "resized), replay backend, 4 keyframes of 720p, 10 turns, median of repeated queries",
    "loop_overhead_ms_per_query_4x720p": "ms per 10-turn query of the same (replay backend, 4 keyframes of 720p)",
    "loop_overhead_ms_per_query_4x720p_cold": "ms of the first such query, which also resizes the 4 keyframes",
    # incremental vs re-prefill (tiny Qwen2.5-VL)
    "incremental_s_per_query": "s per teacher-forced 10-turn query on the tiny Qwen2.5-VL, KV cache and image "
    "features kept across turns (ours)",
    "incremental_prefill_tokens": "tokens prefilled by the incremental loop for that query",
    "incremental_vision_patches": "vision patches encoded by the incremental loop for that query",
    "prefill_work_ratio": "tokens prefilled / the minimum (every token once), incremental loop",
    "vision_encode_ratio": "vision patches encoded / the minimum (every image once), incremental loop",
    "min_prefill_tokens": "the minimum: every prompt token of the 10-turn conversation prefilled once",
    "reprefill_s_per_query": "s per query when the whole conversation is re-submitted every turn (the reference's way)",
    "reprefill_prefill_tokens": "tokens prefilled by re-prefilling every turn",
    "reprefill_vision_patches": "vision patches encoded by re-prefilling every turn",
    "reprefill_prefill_work_ratio": "tokens prefilled / the minimum, re-prefill",
    "reprefill_vision_encode_ratio": "vision patches encoded / the minimum, re-prefill",
    "incremental_speedup_vs_reprefill": "re-prefill time / incremental time, same transcript and model",
    # decode loops (tiny Qwen2.5-VL, CPU; bench/gpu.py measures them at 7B scale on a GPU)
    "decode_dynamic_s_per_query": "s per 10-turn query on the tiny Qwen2.5-VL decoding 32 tokens per turn with "
    "today's loop (a forward per token over a growing DynamicCache), median of repeated queries",
    "decode_static_s_per_query": "s per the same query with the pre-allocated static KV cache (backend.decode "
    "static; on a GPU the graph path also replays each step as a CUDA graph)",
    "decode_dynamic_tokens_per_s": "decoded tokens per second of the dynamic loop in that query (CPU, tiny model)",
    "decode_static_tokens_per_s": "decoded tokens per second of the static-cache loop in that query (CPU, tiny model)",
    "decode_static_speedup_vs_dynamic": "dynamic time per query / static time per query, same transcript and model",
    # the node's service (bench/service_bench.py)
    "service_overhead_ms": "median client-side round trip of ~/query (node as a separate process, replay backend, "
    "2-turn transcript, 16 keyframes of 720p RGB-D, one persistent client)",
    "service_node_latency_ms": "median node-side time of those calls (the response's latency field)",
    "service_transport_ms": "median round trip minus node-side time: DDS transport and (de)serialization",
    "service_pipeline_ms": "median time of the same query pipeline (select 16 keyframes, 2-turn replay, 3D "
    "estimates) in-process, without ROS",
    "service_call_query_ms": "median round trip through vilasr_ros.ros.client.call_query (a new client per call, "
    "as `vilasr-ros ask`)",
    "latency_p50_ms_8_clients": "median round trip with 8 client processes calling at once, 10 calls each "
    "(queries run one at a time: mostly queueing)",
    "latency_p90_ms_8_clients": "90th percentile round trip, 8 concurrent clients",
    "latency_p99_ms_8_clients": "99th percentile round trip, 8 concurrent clients",
    "latency_max_ms_8_clients": "slowest round trip, 8 concurrent clients",
    "node_latency_p50_ms_8_clients": "median node-side time (response latency) under 8 concurrent clients",
    "queries_per_s_8_clients": "answered queries per second while 8 clients call at once",
    "calls_8_clients": "calls made by the 8 clients",
    "busy_8_clients": "calls refused busy (query.queue_size 8: should be 0)",
    "failed_8_clients": "calls that failed for another reason (should be 0)",
    "fill_camera_frames_received_ratio": "colour frames the node received / frames the bench process published "
    "(1280x720 rgb8 + 16UC1 at 10 Hz, best effort; the bench process keeps Fast DDS's defaults), while filling "
    "its buffer",
    "camera_frames_received_ratio": "colour frames the node received (its diagnostics) / frames a separate camera "
    "process published: raw 1280x720 rgb8 + 16UC1 + camera_info at 30 Hz for 10 s, best effort, with the shipped "
    "Fast DDS profile (config/fastdds_large_data.xml) on both sides (target >= 0.95)",
    "camera_frames_received_ratio_default": "the same with Fast DDS's default transports on both sides",
    "camera_frames_with_depth_ratio": "colour frames received with their depth matched / frames published "
    "(shipped profile)",
    "camera_frames_with_depth_ratio_default": "the same with Fast DDS's default transports",
    "camera_depth_received_ratio": "depth images the node received (its diagnostics) / depth images published "
    "(shipped profile)",
    "camera_depth_received_ratio_default": "the same with Fast DDS's default transports",
    "object_boxes_ms_per_object_16_keyframes": "time to lift, merge and fit the 3D boxes of a query's objects, per "
    "object: three objects drawn on each of 16 keyframes (640x480 depth, 1 % range noise, 5 % holes) through "
    "estimate_drawings; the box stage alone (target: under 20 ms)",
    "estimate_drawings_ms_16_keyframes_3_objects": "the whole geometry of that query: per-drawing lifting, fusion, "
    "boxes and distances",
    "node_rss_mb_per_buffer_mb": "growth of the node's resident memory while its buffer filled (1280x720 RGB-D) / "
    "the keyframe memory its diagnostics report: 1.0 means diagnostics account for all of it; above 1: the "
    "depth and pending frames held for pairing (reported apart), DDS buffers and allocator slack",
    "service_non_loopback_tx_packets": "packets sent on any interface but loopback during the service benchmarks "
    "(machine-wide counter; 0: all ROS traffic stayed on localhost)",
    "peak_rss_mb": "peak resident memory (VmHWM, MiB) of the node process after the service benchmarks",
    "peak_rss_mb_client": "peak resident memory (MiB) of the largest concurrent client process",
    "peak_rss_mb_bench": "peak resident memory (MiB) of the bench process itself (tiny model runs included)",
    "bench_wall_s": "wall time of the whole `make bench` run, seconds",
}


def describe(key: str) -> str:
    """The meaning of ``key``, or a note that it has none yet."""
    return MEANINGS.get(key, "(no description)")
