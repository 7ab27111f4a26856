"""What the demo, the benchmarks and the tests share, no ROS: a synthetic world and synthetic model data.

- ``room``: a small room rendered as a robot's RGB-D camera sees it (exact geometry, ray-cast);
- ``tiny_model``: a tiny random Qwen2.5-VL saved like ViLaSR-7B, loaded through the real code path;
- ``transcripts``: synthetic ViLaSR transcripts (tool calls every turn, then an answer).
"""
