"""`make demo` (``python -m vilasr_ros.ros.demo``): the simulated room, the node, and a planner asking questions.

``script`` (questions and the scripted trace), ``world`` (the room published as a camera),
``recorder`` (the drive as a recording), ``planner`` (service and action calls),
``summary`` (answers against the ground truth, and the summary image).
"""
