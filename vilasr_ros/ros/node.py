"""The vilasr_ros node: parameters, the ~/query service, and main()."""

from __future__ import annotations

import time

import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node

from vilasr_ros.config import ConfigError, NodeConfig
from vilasr_ros.query import QueryError, new_query_id, resolve_request
from vilasr_ros.ros.conversions import request_from_msg, seconds_to_duration
from vilasr_ros.ros.parameters import current_values, declare_node_parameters, validate_parameter_change
from vilasr_ros.srv import SpatialQuery

NODE_NAME = "vilasr"
NOT_READY_ERROR = (
    "not ready: the reasoning engine is not available in this version of vilasr_ros; "
    "the request was valid and nothing was run"
)


class VilasrNode(Node):
    """Serves spatial questions on ``~/query``.

    Raises :class:`ConfigError` from the constructor when a parameter is invalid.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self._config = declare_node_parameters(self)
        self.add_on_set_parameters_callback(lambda changes: validate_parameter_change(self, changes))
        self.add_post_set_parameters_callback(self._on_parameters_set)
        self._query_group = MutuallyExclusiveCallbackGroup()
        self._query_service = self.create_service(
            SpatialQuery, "~/query", self._on_query, callback_group=self._query_group
        )
        self.get_logger().info(
            f"ready to take queries on {self._query_service.service_name} "
            f"(backend {self._config.backend.kind}, model {self._config.backend.model})"
        )

    @property
    def config(self) -> NodeConfig:
        """The validated configuration currently in force."""
        return self._config

    def _on_parameters_set(self, _changes) -> None:
        self._config = NodeConfig.from_parameters(current_values(self))

    def _on_query(self, request: SpatialQuery.Request, response: SpatialQuery.Response) -> SpatialQuery.Response:
        started = time.monotonic()
        response.query_id = new_query_id()
        response.success = False
        response.stop_reason = SpatialQuery.Response.STOP_REJECTED
        response.has_numeric_value = False
        response.numeric_value = float("nan")
        try:
            resolve_request(request_from_msg(request), self._config.query, query_id=response.query_id)
        except QueryError as error:
            response.error = f"invalid request: {error}"
        else:
            response.error = NOT_READY_ERROR
        response.estimates.query_id = response.query_id
        response.estimates.header.frame_id = self._config.frames.target_frame
        response.estimates.header.stamp = self.get_clock().now().to_msg()
        response.latency = seconds_to_duration(time.monotonic() - started)
        self.get_logger().warning(f"query {response.query_id} refused: {response.error}")
        return response


def main(args: list[str] | None = None) -> int:
    """Run the node until Ctrl-C or shutdown; return a process exit code."""
    rclpy.init(args=args)
    try:
        node = VilasrNode()
    except ConfigError as error:
        rclpy.logging.get_logger(NODE_NAME).fatal(f"invalid parameter: {error}")
        rclpy.try_shutdown()
        return 2
    executor = MultiThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
