"""The vilasr_ros lifecycle node: cameras in, spatial questions answered, drawings published.

Lifecycle (as Nav2 and yolo_ros do it):

- configure: read and validate every parameter, build the keyframe store and
  load the model backend (SUCCESS; FAILURE with the reason logged when a
  parameter is invalid or the model cannot load: the node stays unconfigured);
- activate: subscribe the cameras and the pose source, start diagnostics and
  the publishers; queries are answered only while active;
- deactivate: unsubscribe, cancel the running and the waiting queries (their
  results say "cancelled: the node was deactivated"; nothing is published);
- cleanup / shutdown: stop the query worker and free the model (and GPU memory).

With ``autostart`` (default) the node walks to active by itself.

Threads: each camera has its own callback group (frames of different cameras
are ingested in parallel, each in order); the service and the action are
reentrant so that a second caller gets "busy" at once instead of queueing in
the executor; queries run one at a time on the worker thread that owns the model.

No request goes unanswered: the query service and the action's services keep
``SERVICE_QUEUE_DEPTH`` requests in DDS (a burst of hundreds is taken, not
overwritten), a request the worker has no room for is answered "busy" at once
without waiting for a thread, an action goal is rejected in the goal callback
when the queue is full, and cancelling a waiting goal ends it at once. Only
admitted callers (``query.queue_size`` + 1) hold an executor thread, and there
are threads for all of them plus the cameras and spares.
"""

from __future__ import annotations

import os
import threading
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.clock import ClockChange, JumpHandle, JumpThreshold, TimeJump
from rclpy.duration import Duration
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import MarkerArray

from vilasr_ros.action import SpatialQuery as SpatialQueryAction
from vilasr_ros.config import ConfigError
from vilasr_ros.core.poses import Pose
from vilasr_ros.core.stop import StopReason
from vilasr_ros.keyframes.store import KeyframeStore
from vilasr_ros.msg import SpatialEstimateArray
from vilasr_ros.query import Estimation, QueryOutcome, answer, from_store
from vilasr_ros.query.request import QueryError, new_query_id, resolve_request
from vilasr_ros.query.worker import QueryWorker, Reservation, WorkerBusy, WorkerStopped
from vilasr_ros.reasoning.backend import Backend, BackendError
from vilasr_ros.reasoning.engine import ReasoningEngine, TurnRecord
from vilasr_ros.reasoning.factory import create_backend
from vilasr_ros.ros.camera_input import CALLBACK_GROUPS, CameraInput
from vilasr_ros.ros.conversions import (
    BackendReport,
    annotated_image_msgs,
    diagnostics_msg,
    estimates_msg,
    fill_result,
    markers_msg,
    process_rss_bytes,
    rejected_result,
    request_from_msg,
    seconds_to_duration,
    turn_msg,
)
from vilasr_ros.ros.parameters import Settings, declare_node_parameters, read_settings, review_parameter_change
from vilasr_ros.ros.pose_source import PoseSource, create_pose_source, estimate_problems
from vilasr_ros.ros.rates import RateWindow
from vilasr_ros.ros.transport import PROFILE_NAME, use_shipped_transport, user_chose_transport
from vilasr_ros.srv import SpatialQuery

NODE_NAME = "vilasr"
DIAGNOSTICS_PERIOD_S = 1.0
EXECUTOR_SPARE_THREADS = 4  # pose subscription, timers, lifecycle / parameter services, a refused caller
RESULT_GRACE_S = 5.0  # waited beyond a query's timeout for the worker to hand back its outcome
SHUTDOWN_GRACE_S = 1.0  # a caller waits this long for a cancelled query's outcome when the node shuts down
RELIABLE = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE)
# The latest estimates and markers stay with the publisher: a subscriber that starts after a query (a planner,
# RViz) receives them at once, if it subscribes transient local too (a volatile subscriber gets only new ones).
LATCHED = QoSProfile(depth=1, reliability=QoSReliabilityPolicy.RELIABLE, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
# Requests DDS keeps until the executor takes them: a burst of this many gets as many answers (the ones
# the worker has no room for: "busy" at once). Clients sending bursts need as deep a response queue.
SERVICE_QUEUE_DEPTH = 1000
SERVICE_QOS = QoSProfile(depth=SERVICE_QUEUE_DEPTH, reliability=QoSReliabilityPolicy.RELIABLE)
DEACTIVATED = "the node was deactivated"
SHUTTING_DOWN = "the node is shutting down"
PHASE_DRAWING = SpatialQueryAction.Feedback.PHASE_DRAWING
PHASE_REASONING = SpatialQueryAction.Feedback.PHASE_REASONING


class VilasrNode(LifecycleNode):
    """Serves ``~/query`` (service and action) from buffered camera keyframes.

    Raises :class:`ConfigError` from the constructor when a parameter is invalid.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self._settings: Settings = declare_node_parameters(self)
        self._queue_limit = self._settings.node.query.queue_size  # the executor's threads are sized for it
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._state_lock = threading.Lock()
        self._active = False
        self._status = "unconfigured"
        self._backend: Backend | None = None
        self._store: KeyframeStore | None = None
        self._engine: ReasoningEngine | None = None
        self._worker: QueryWorker | None = None
        self._poses: PoseSource | None = None
        self._cameras: list[CameraInput] = []
        self._diagnostics_timer = None
        self._clock_jumps: JumpHandle | None = None
        self._frame_rates: dict[str, RateWindow] = {}  # per camera name, sampled by the diagnostics timer
        self._last_latency: float | None = None  # seconds, of the last query that ran
        self._closing = threading.Event()
        self._reservations: dict[int, tuple[object, Reservation]] = {}  # id(goal) -> (goal, its place)
        self._reservations_lock = threading.Lock()

        self._query_group = ReentrantCallbackGroup()
        self._service = self.create_service(
            SpatialQuery, "~/query", self._on_query_service, qos_profile=SERVICE_QOS, callback_group=self._query_group
        )
        self._action = ActionServer(
            self,
            SpatialQueryAction,
            "~/query",
            execute_callback=self._on_query_action,
            goal_callback=self._on_goal,
            cancel_callback=lambda goal_handle: CancelResponse.ACCEPT,
            callback_group=self._query_group,
            goal_service_qos_profile=SERVICE_QOS,
            result_service_qos_profile=SERVICE_QOS,
            cancel_service_qos_profile=SERVICE_QOS,
        )
        self._image_pub = self.create_lifecycle_publisher(Image, "~/annotated_image", RELIABLE)
        self._image_info_pub = self.create_lifecycle_publisher(CameraInfo, "~/annotated_image/camera_info", RELIABLE)
        self._estimates_pub = self.create_lifecycle_publisher(SpatialEstimateArray, "~/estimates", LATCHED)
        self._markers_pub = self.create_lifecycle_publisher(MarkerArray, "~/markers", LATCHED)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)

        if self._settings.node.autostart:
            self._autostart_timer = self.create_timer(
                0.0, self._autostart, callback_group=MutuallyExclusiveCallbackGroup()
            )
        self.get_logger().info(f"started; query service and action on {self._service.service_name}")

    # --- lifecycle ---------------------------------------------------------------------

    def _autostart(self) -> None:
        self._autostart_timer.cancel()
        self.destroy_timer(self._autostart_timer)
        if self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            self.trigger_activate()

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Validate parameters, build the keyframe store and load the model; FAILURE keeps the node unconfigured."""
        try:
            self._settings = read_settings(self)
        except ConfigError as error:
            self.get_logger().error(f"configure failed: invalid parameter: {error}")
            return TransitionCallbackReturn.FAILURE
        config = self._settings.node
        for problem in estimate_problems(config, self._settings.cameras):
            self.get_logger().warning(f"no valid 3D estimates: {problem}")
        what = config.backend.transcript if config.backend.kind == "replay" else config.backend.model
        self._status = f"loading the {config.backend.kind} backend ({what})"
        self.get_logger().info(self._status)
        started = time.monotonic()
        try:
            backend = create_backend(config.backend)
        except BackendError as error:
            self._status = f"unconfigured: the backend failed to load: {error}"
            self.get_logger().error(f"configure failed: {error}")
            return TransitionCallbackReturn.FAILURE
        self._backend = backend
        self._store = KeyframeStore(config.keyframes, cameras=config.cameras.names)
        self._engine = ReasoningEngine(backend, config.engine, video=config.engine.prompt_style == "video")
        self._worker = QueryWorker(config.query.queue_size)
        self._status = "inactive"
        self.get_logger().info(f"configured in {time.monotonic() - started:.1f} s")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Subscribe cameras and poses, start diagnostics; queries are answered from now on."""
        config = self._settings.node
        self._poses = create_pose_source(
            self, config.pose, config.frames.target_frame, config.frames.base_frame, MutuallyExclusiveCallbackGroup()
        )
        self._cameras = [
            CameraInput(
                self,
                camera,
                self._store,
                self._poses,
                config.cameras,
                config.frames.base_frame,
            )
            for camera in self._settings.cameras
        ]
        self._frame_rates = {camera.config.name: RateWindow() for camera in self._cameras}
        self._diagnostics_timer = self.create_timer(
            DIAGNOSTICS_PERIOD_S, self._publish_diagnostics, callback_group=MutuallyExclusiveCallbackGroup()
        )
        with self._state_lock:
            self._active = True
            self._status = "active"
        topics = ", ".join(camera.config.image_topic for camera in self._cameras)
        # The node clock itself going back (sim time reset, a bag played again with --clock): the
        # cameras start over at once, before their stamps confirm the jump.
        threshold = JumpThreshold(
            min_forward=None,
            min_backward=Duration(nanoseconds=-round(config.cameras.stamp_jump_back * 1e9)),
            on_clock_change=True,
        )
        self._clock_jumps = self.get_clock().create_jump_callback(threshold, post_callback=self._on_clock_jump)
        self.get_logger().info(f"active: buffering {topics}")
        return super().on_activate(state)

    def _on_clock_jump(self, jump: TimeJump) -> None:
        """The node clock jumped back or changed source: every camera's keyframes, depth, waiting frames and
        stamp reference and the pose history are dropped (their stamps are on the old time line)."""
        try:
            if jump.clock_change == ClockChange.ROS_TIME_NO_CHANGE:
                what = f"the node clock jumped back {-jump.delta.nanoseconds / 1e9:.1f} s (a simulator reset?)"
            else:
                what = f"the node clock changed source ({jump.clock_change.name})"
            for camera in list(self._cameras):
                camera.start_over()
            if self._poses is not None:
                self._poses.reset()
            self.get_logger().warning(f"{what}: cleared the keyframes, depth and poses of the old time line")
        except Exception as error:  # contained: a jump callback runs inside the clock's update
            self.get_logger().error(f"clearing the buffers after a clock jump failed: {error!r}")

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop ingesting and answering, cancel the running and waiting queries; the model stays loaded."""
        self._stop_inputs()
        worker = self._worker
        if worker is not None:
            cancelled = worker.cancel_all(DEACTIVATED)
            if cancelled:
                self.get_logger().warning(f"deactivated: cancelled {cancelled} running or waiting queries")
        self._status = "inactive"
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Free the model, the keyframes and the worker."""
        self._release()
        self._status = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.release()
        self._status = "finalized"
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.get_logger().error(f"error in state {state.label}; releasing everything")
        self.release()
        return TransitionCallbackReturn.SUCCESS

    def executor_threads(self) -> int:
        """Threads the executor needs so that nothing waits on a blocked query caller: one per caller
        the worker admits (running + queued), one per camera callback group, and a few for poses, timers
        and services."""
        settings = self._settings
        cameras = CALLBACK_GROUPS * len(settings.cameras)
        return settings.node.query.queue_size + 1 + cameras + EXECUTOR_SPARE_THREADS

    def release(self) -> None:
        """Stop everything and free the model (used on exit); callers waiting on queries get a reply
        within ``SHUTDOWN_GRACE_S`` whatever the backend does."""
        self._closing.set()
        self._stop_inputs()
        self._release()

    def _stop_inputs(self) -> None:
        with self._state_lock:
            self._active = False
        if self._clock_jumps is not None:
            self._clock_jumps.unregister()
            self._clock_jumps = None
        for camera in self._cameras:
            camera.close()
        self._cameras = []
        if self._poses is not None:
            self._poses.close()
            self._poses = None
        if self._diagnostics_timer is not None:
            self.destroy_timer(self._diagnostics_timer)
            self._diagnostics_timer = None

    def _release(self) -> None:
        if self._worker is not None:
            self._worker.stop(timeout=SHUTDOWN_GRACE_S)
            self._worker = None
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        self._engine = None
        self._store = None

    def _on_set_parameters(self, changes: list[Parameter]) -> SetParametersResult:
        """Refuse an invalid change, or one that cannot apply while configured (with the reason); apply the
        rest: new keyframe thresholds and caps to the store (its keyframes stay), query and geometry
        settings to the next query, the queue size to the worker."""
        with self._state_lock:
            configured = self._store is not None
            result, settings = review_parameter_change(
                self, changes, self._settings if configured else None, self._queue_limit
            )
            if settings is None:
                return result
            if settings.node.keyframes != self._settings.node.keyframes:
                evicted = self._store.reconfigure(settings.node.keyframes)
                if evicted:
                    self.get_logger().info(f"keyframes: {evicted} evicted over the new caps")
            if self._worker is not None:
                self._worker.set_queue_size(settings.node.query.queue_size)
            self._settings = settings
        names = ", ".join(change.name for change in changes)
        self.get_logger().info(f"applied {names}")
        return result

    def _base_pose(self) -> Pose | None:
        poses = self._poses
        return poses.base_pose() if poses is not None else None

    # --- queries -------------------------------------------------------------------------

    def _submit(self, request, query_id: str, on_turn=None, on_phase=None, reservation: Reservation | None = None):
        """Validate and queue a request (in ``reservation``'s place when given); returns (ticket, timeout)
        or raises QueryError/WorkerBusy/WorkerStopped/RuntimeError."""
        with self._state_lock:
            if not self._active or self._worker is None or self._engine is None or self._store is None:
                raise RuntimeError(f"not ready: the node is {self._status}")
            worker, engine, store, config = self._worker, self._engine, self._store, self._settings.node
        query = resolve_request(request_from_msg(request), config.query, query_id=query_id)
        deadline = time.monotonic() + query.timeout
        select = from_store(store, now_ns=lambda: self.get_clock().now().nanoseconds)
        estimation = Estimation(config.frames.target_frame, config.frames.base_frame, config.geometry, self._base_pose)

        def job(cancel: threading.Event) -> QueryOutcome:
            return answer(
                query, select, engine, estimation, cancel=cancel, deadline=deadline, on_turn=on_turn, on_phase=on_phase
            )

        ticket = worker.submit(job, reservation)
        return ticket, query.timeout

    def _execute(
        self, request, result, query_id: str, on_turn=None, on_phase=None, cancelled=lambda: False, reservation=None
    ):
        """Run one request to completion and fill ``result`` (a service response or action result)."""
        started = time.monotonic()
        try:
            ticket, timeout = self._submit(request, query_id, on_turn, on_phase, reservation)
        except QueryError as error:
            return rejected_result(result, query_id, f"invalid request: {error}", started)
        except (WorkerBusy, WorkerStopped, RuntimeError) as error:
            return rejected_result(result, query_id, str(error), started)
        finally:
            if reservation is not None:
                reservation.release()  # unused when the request was refused (a no-op once used)
        self.get_logger().info(f"query {query_id}: {request.question!r}")
        deadline = time.monotonic() + timeout + RESULT_GRACE_S
        while True:
            if cancelled():
                ticket.cancel("cancelled by the client")
            if self._closing.is_set() and not ticket.cancel_event.is_set():
                ticket.cancel(SHUTTING_DOWN)
                deadline = min(deadline, time.monotonic() + SHUTDOWN_GRACE_S)
            try:
                outcome: QueryOutcome = ticket.wait(0.05)
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    ticket.cancel()
                    return rejected_result(
                        result, query_id, "timeout: the query did not finish", started, StopReason.TIMEOUT
                    )
            except WorkerStopped as error:
                return rejected_result(result, query_id, f"cancelled: {error}", started, StopReason.CANCELLED)
            except Exception as error:
                self.get_logger().error(f"query {query_id} failed: {type(error).__name__}: {error}")
                return rejected_result(result, query_id, f"backend error: {error}", started, StopReason.BACKEND_ERROR)
        if outcome.stop_reason == StopReason.CANCELLED and ticket.cancel_reason:
            outcome.error = f"cancelled: {ticket.cancel_reason}"
        with self._state_lock:
            active = self._active
        self._last_latency = time.monotonic() - started
        if active:  # a query cancelled by deactivate publishes nothing (the publishers are inactive)
            self._publish(outcome)
        fill_result(result, outcome, self._settings.node.frames.target_frame, self.get_clock().now().to_msg())
        result.latency = seconds_to_duration(time.monotonic() - started)
        summary = f"query {query_id}: {outcome.stop_reason} {result.answer or result.error!r} in {time.monotonic() - started:.2f} s"
        if outcome.success:
            self.get_logger().info(summary)
        else:
            self.get_logger().warning(summary)
        return result

    def _on_query_service(
        self, request: SpatialQuery.Request, response: SpatialQuery.Response
    ) -> SpatialQuery.Response:
        query_id = new_query_id()
        try:
            return self._execute(request, response, query_id)
        except Exception as error:
            self.get_logger().error(f"query {query_id}: internal error: {type(error).__name__}: {error}")
            return rejected_result(
                response, query_id, f"internal error: {type(error).__name__}: {error}", time.monotonic()
            )

    def _on_goal(self, goal: SpatialQueryAction.Goal) -> GoalResponse:
        """Reject a goal the worker has no room for (a place is held for an accepted one until it runs)."""
        with self._state_lock:
            worker = self._worker if self._active else None
        if worker is None:
            return GoalResponse.ACCEPT  # executed at once: its result says why the node cannot answer
        try:
            reservation = worker.reserve()
        except (WorkerBusy, WorkerStopped) as error:
            self.get_logger().info(f"goal rejected: {error}", throttle_duration_sec=1.0)
            return GoalResponse.REJECT
        with self._reservations_lock:
            self._reservations[id(goal)] = (goal, reservation)
        return GoalResponse.ACCEPT

    def _take_reservation(self, goal: SpatialQueryAction.Goal) -> Reservation | None:
        with self._reservations_lock:
            entry = self._reservations.pop(id(goal), None)
        return entry[1] if entry is not None and entry[0] is goal else None

    def _on_query_action(self, goal_handle) -> SpatialQueryAction.Result:
        started = time.monotonic()
        reservation = self._take_reservation(goal_handle.request)
        query_id = new_query_id()
        feedback_lock = threading.Lock()
        feedback = SpatialQueryAction.Feedback(query_id=query_id)

        def publish(turn: TurnRecord | None, phase: str) -> None:
            with feedback_lock:
                feedback.phase = phase
                if turn is not None:
                    feedback.turn = turn.number
                    feedback.last_turn = turn_msg(turn)
                feedback.elapsed = seconds_to_duration(time.monotonic() - started)
                goal_handle.publish_feedback(feedback)

        try:
            result = self._execute(
                goal_handle.request,
                SpatialQueryAction.Result(),
                query_id,
                on_turn=lambda turn: publish(turn, PHASE_DRAWING if turn.new_images else PHASE_REASONING),
                on_phase=lambda phase: publish(None, phase),
                cancelled=lambda: goal_handle.is_cancel_requested,
                reservation=reservation,
            )
        except Exception as error:
            self.get_logger().error(f"query {query_id}: internal error: {type(error).__name__}: {error}")
            result = rejected_result(
                SpatialQueryAction.Result(), query_id, f"internal error: {type(error).__name__}: {error}", started
            )
        if goal_handle.is_cancel_requested:
            goal_handle.canceled()
        elif result.success:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        return result

    # --- publishing ----------------------------------------------------------------------

    def _publish(self, outcome: QueryOutcome) -> None:
        if outcome.result is None:
            return
        for image, info in annotated_image_msgs(outcome):
            self._image_pub.publish(image)
            self._image_info_pub.publish(info)
        if outcome.estimates is not None:
            target = self._settings.node.frames.target_frame
            stamp = self.get_clock().now().to_msg()
            self._estimates_pub.publish(estimates_msg(outcome, target, stamp))
            self._markers_pub.publish(markers_msg(outcome, target, stamp))

    def _publish_diagnostics(self) -> None:
        store, backend, worker = self._store, self._backend, self._worker
        if store is None:
            return
        now = time.monotonic()
        cameras = list(self._cameras)
        rates = {
            camera.config.name: self._frame_rates[camera.config.name].update(camera.frames_received, now)
            for camera in cameras
            if camera.config.name in self._frame_rates
        }
        report = BackendReport(
            kind=self._settings.node.backend.kind,
            loaded=backend is not None,
            state=self._status,
            queue_length=worker.pending if worker is not None else 0,
            last_latency_s=self._last_latency,
            details=backend.status() if backend is not None else {},
        )
        self._diagnostics_pub.publish(
            diagnostics_msg(
                self.get_fully_qualified_name(),
                store.stats(),
                cameras,
                self.get_clock().now().to_msg(),
                self._poses,
                process_rss_bytes(),
                report,
                rates,
            )
        )


def main(args: list[str] | None = None) -> int:
    """Run the node until Ctrl-C or shutdown; return a process exit code.

    Before ROS starts, Fast DDS is pointed at the shipped large-data profile unless the user chose a
    transport (see :func:`vilasr_ros.ros.transport.use_shipped_transport`). Ctrl-C ends the process
    within a few seconds whatever the backend does: waiting callers are answered "cancelled", the
    worker thread is a daemon, and the executor's threads are not waited on forever.
    """
    chosen = use_shipped_transport(os.environ)
    rclpy.init(args=args)
    if chosen:
        rclpy.logging.get_logger(NODE_NAME).info(f"Fast DDS: {chosen}")
    elif not user_chose_transport(os.environ):
        rclpy.logging.get_logger(NODE_NAME).warning(
            f"Fast DDS: the shipped {PROFILE_NAME} was not found (neither in the package's share folder nor "
            "through AMENT_PREFIX_PATH); using Fast DDS's defaults, which lose most large images from other processes"
        )
    try:
        node = VilasrNode()
    except ConfigError as error:
        rclpy.logging.get_logger(NODE_NAME).fatal(f"invalid parameter: {error}")
        rclpy.try_shutdown()
        return 2
    executor = MultiThreadedExecutor(num_threads=node.executor_threads())
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():  # a real failure; otherwise Ctrl-C shut the context down while the executor waited
            raise
    finally:
        node.release()
        executor.shutdown(timeout_sec=SHUTDOWN_GRACE_S)
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
