"""How a consumer scales with its queue: backlog per task (default), queue depth or steps.

Backlog per task (scaling mode `backlog-per-task`), three policies on one scalable target:

1. Target tracking on visible messages per running task. Target tracking computes
   desired = ceil(current x metric / target), so a metric of 0 (every message in flight, none
   waiting) would take the service to 0 tasks in the middle of the work. Its metric is floored
   at `TRACKING_FLOOR`: then desired >= 1 whenever a task runs, and target tracking can shrink
   the service to 1 task but never to 0. It cannot scale out of 0 either (0 x anything = 0).
2. Out of 0: a step policy, +1 task, fired by an alarm "messages visible and none in flight":
   nobody receives them. SQS metrics alone, because whether Container Insights reports
   RunningTaskCount 0 or nothing for a service with no task is not documented, and an alarm on
   a metric with no data never fires (simulator/README.md shows both cases). With tasks running,
   a message waits visible with none in flight only for the moments between receives.
3. Into 0: a step policy, exactly 0 tasks, fired by an alarm "no message visible or in flight"
   for `idle_minutes` consecutive minutes. Only this policy removes the last task.

(2) and (3) exist only when min_tasks is 0: otherwise the service never has 0 tasks.

Queue depth (scaling mode `queue-depth`) is the reference design's policy: target tracking on
the queue's visible messages, nothing else.

Steps (scaling mode `steps`) are the reference design's step policy, with its steps configurable:
up to three step policies on the queue's visible messages, each fired by a plain one-minute alarm.
Step scaling adds to the current count, so it starts tasks from 0 and removes the last one by
itself (no metric math, no floor):

1. Scale out: the steps that add tasks (default: +1 from 1, +3 from 5, +5 from 10 visible).
2. Scale in: the steps that remove tasks (default: -1 at 0 visible); absent when none does.
3. High backlog: +`add_percent` % of the running tasks from `visible_messages` (default: 67 % from
   100), so capacity grows geometrically where fixed steps fall behind. When it and (1) fire
   together, Application Auto Scaling applies the larger result.
The steps' bounds relative to each alarm's threshold come from the config
(`StepScaling.scale_out`, `.scale_in`), which the simulator reads too.

Facts behind the numbers (SQS developer guide, CloudWatch metrics; Application Auto Scaling
user guide): SQS metrics arrive once a minute; target tracking scales out after about 3 minutes
and in after about 15; RunningTaskCount, which only target tracking reads, comes from Container
Insights, which the cluster stack turns on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from modules.cdk import Construct, aws
from modules.config import (
    BacklogPerTaskScaling,
    QueueDepthScaling,
    ScalingMode,
    StepAdjustmentBounds,
    StepPolicyBounds,
)
from modules.config import StepScaling as StepScalingSpec  # StepScaling is the provider's block
from modules.naming import resource_name

if TYPE_CHECKING:
    from collections.abc import Callable

# The provider's class names spell out the whole nesting; short names for the ones used here.
policy = aws.appautoscaling_policy
_TT = "AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration"
TargetTracking = getattr(policy, _TT)
CustomMetric = getattr(policy, f"{_TT}CustomizedMetricSpecification")
CustomMetricDimension = getattr(policy, f"{_TT}CustomizedMetricSpecificationDimensions")
Query = getattr(policy, f"{_TT}CustomizedMetricSpecificationMetrics")
QueryStat = getattr(policy, f"{_TT}CustomizedMetricSpecificationMetricsMetricStat")
QueryMetric = getattr(policy, f"{_TT}CustomizedMetricSpecificationMetricsMetricStatMetric")
QueryDimension = getattr(
    policy, f"{_TT}CustomizedMetricSpecificationMetricsMetricStatMetricDimensions"
)
StepScaling = policy.AppautoscalingPolicyStepScalingPolicyConfiguration
StepAdjustment = policy.AppautoscalingPolicyStepScalingPolicyConfigurationStepAdjustment
alarm = aws.cloudwatch_metric_alarm

SQS = "AWS/SQS"
CONTAINER_INSIGHTS = "ECS/ContainerInsights"
VISIBLE = "ApproximateNumberOfMessagesVisible"
IN_FLIGHT = "ApproximateNumberOfMessagesNotVisible"
RUNNING_TASKS = "RunningTaskCount"
MINUTE = 60

# The floor of the tracked backlog (see the module docstring). Small enough that
# ceil(max_tasks x floor / target) is 1 for any allowed max_tasks (<= 1000) and target (>= 1).
TRACKING_FLOOR = 0.001
# Metric math over the metric queries below (ids: visible, running). Target tracking accepts
# any metric math that yields one time series (Application Auto Scaling user guide, "target
# tracking using metric math"); IF replaces max(running, 1), which CloudWatch has no
# per-datapoint form of between a series and a number. FILL: a service with no task may
# publish no RunningTaskCount at all.
BACKLOG_PER_TASK = "IF(FILL(running, 0) > 1, FILL(visible, 0) / FILL(running, 0), FILL(visible, 0))"
TRACKED_BACKLOG = f"IF(backlog_per_task < {TRACKING_FLOOR}, {TRACKING_FLOOR}, backlog_per_task)"
# 1 in a minute with a visible message and none in flight (alarm: >= 1 for 1 minute): nobody
# receives. Maximum per minute: one message in flight at any moment of the minute says someone
# does.
WAITING_UNRECEIVED = "IF(FILL(visible, 0) > 0 AND FILL(in_flight, 0) == 0, 1, 0)"
# Messages visible or in flight (alarm: < 1, i.e. none, for idle_minutes minutes).
MESSAGES_IN_QUEUE = "FILL(visible, 0) + FILL(in_flight, 0)"

# Target tracking: add tasks a minute after the last scale-out; remove them more slowly, as a
# task that just started has not yet brought the backlog down.
SCALE_OUT_COOLDOWN_SECONDS = 60
SCALE_IN_COOLDOWN_SECONDS = 300
# Out of 0: the alarm keeps firing every minute until the new task receives (start plus metric
# delay: minutes). Within the cooldown the same +1 adds nothing more; after it, a task that still
# receives nothing (it cannot start, say) gets a second one.
SCALE_FROM_ZERO_COOLDOWN_SECONDS = 300
# Steps: each step policy waits a minute (one metric period) after it acted, so its next
# adjustment starts from the count it set rather than adding again to a count already raised.
STEP_COOLDOWN_SECONDS = 60
# Steps: the alarms act on one datapoint, the largest count of the minute (the reference design's
# reaction).
STEP_ALARM_MINUTES = 1


@dataclass(frozen=True)
class BacklogScalingProps:
    """What the scaling of one consumer service needs.

    name: prefix of policy and alarm names (the service's resource name).
    scaling: the service spec's scaling settings; their mode picks the policies.
    backlog_target: visible messages per task to track (mode backlog-per-task only).
    cluster_name: the ECS cluster's name.
    service_name: the ECS service's name (a reference, so the target waits for the service).
    queue_name: the queue the service consumes.
    """

    name: str
    scaling: BacklogPerTaskScaling | QueueDepthScaling | StepScalingSpec
    backlog_target: float | None
    cluster_name: str
    service_name: str
    queue_name: str


class BacklogScaling(Construct):
    """Scalable target and policies for an ECS service that consumes an SQS queue.

    Public fields: `target`, `target_tracking` (the mode's main policy: for `steps`, the scale-out
    step policy); with scale to zero also `scale_out_from_zero`, `messages_waiting_alarm`,
    `scale_in_to_zero`, `idle_alarm`; with `steps` also `step_scale_out_alarm`, `step_scale_in`,
    `step_scale_in_alarm`, `high_backlog`, `high_backlog_alarm` (None otherwise).
    """

    def __init__(self, scope: Construct, construct_id: str, props: BacklogScalingProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.target = aws.appautoscaling_target.AppautoscalingTarget(
            self,
            "target",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=f"service/{props.cluster_name}/{props.service_name}",
            min_capacity=props.scaling.min_tasks,
            max_capacity=props.scaling.max_tasks,
        )
        # References to the target (each policy waits for it), read once: a read is a jsii call.
        self._target_reference = {
            "service_namespace": self.target.service_namespace,
            "scalable_dimension": self.target.scalable_dimension,
            "resource_id": self.target.resource_id,
        }
        self.scale_out_from_zero: policy.AppautoscalingPolicy | None = None
        self.messages_waiting_alarm: alarm.CloudwatchMetricAlarm | None = None
        self.scale_in_to_zero: policy.AppautoscalingPolicy | None = None
        self.idle_alarm: alarm.CloudwatchMetricAlarm | None = None
        self.step_scale_out_alarm: alarm.CloudwatchMetricAlarm | None = None
        self.step_scale_in: policy.AppautoscalingPolicy | None = None
        self.step_scale_in_alarm: alarm.CloudwatchMetricAlarm | None = None
        self.high_backlog: policy.AppautoscalingPolicy | None = None
        self.high_backlog_alarm: alarm.CloudwatchMetricAlarm | None = None
        self.target_tracking = _BUILDERS[props.scaling.mode](self)

    # --- mode backlog-per-task ----------------------------------------------------------------

    def _backlog_per_task(self) -> policy.AppautoscalingPolicy:
        props = self.props
        scaling = props.scaling
        assert isinstance(scaling, BacklogPerTaskScaling)
        assert props.backlog_target is not None, "backlog-per-task scaling needs backlog_target"
        tracking = self._policy(
            "backlog_per_task",
            resource_name(props.name, "backlog-per-task"),
            policy_type="TargetTrackingScaling",
            target_tracking_scaling_policy_configuration=TargetTracking(
                target_value=props.backlog_target,
                scale_out_cooldown=SCALE_OUT_COOLDOWN_SECONDS,
                scale_in_cooldown=SCALE_IN_COOLDOWN_SECONDS,
                customized_metric_specification=CustomMetric(
                    metrics=[
                        self._tracking_query(
                            "visible", SQS, VISIBLE, {"QueueName": props.queue_name}
                        ),
                        self._tracking_query(
                            "running",
                            CONTAINER_INSIGHTS,
                            RUNNING_TASKS,
                            {"ClusterName": props.cluster_name, "ServiceName": props.service_name},
                        ),
                        Query(
                            id="backlog_per_task",
                            label="Visible messages per running task",
                            expression=BACKLOG_PER_TASK,
                            return_data=False,
                        ),
                        Query(
                            id="tracked",
                            label=f"Visible messages per running task, at least {TRACKING_FLOOR}",
                            expression=TRACKED_BACKLOG,
                            return_data=True,
                        ),
                    ]
                ),
            ),
        )
        if scaling.min_tasks == 0:
            self._scale_to_zero(scaling.idle_minutes)
        return tracking

    def _scale_to_zero(self, idle_minutes: int) -> None:
        props = self.props
        self.scale_out_from_zero = self._policy(
            "scale_out_from_zero",
            resource_name(props.name, "scale-out-from-zero"),
            policy_type="StepScaling",
            step_scaling_policy_configuration=StepScaling(
                adjustment_type="ChangeInCapacity",
                cooldown=SCALE_FROM_ZERO_COOLDOWN_SECONDS,
                metric_aggregation_type="Maximum",
                # Alarm value 1, threshold 1: the difference is 0, inside [0, +inf).
                step_adjustment=[
                    StepAdjustment(metric_interval_lower_bound="0", scaling_adjustment=1)
                ],
            ),
        )
        self.messages_waiting_alarm = self._alarm(
            "messages_waiting_alarm",
            resource_name(props.name, "messages-not-received"),
            description="Messages are visible and none is in flight: no task receives, start one "
            "(step policy, +1 task). SQS metrics only: works whatever Container Insights reports "
            "for a service with no task.",
            expression=WAITING_UNRECEIVED,
            label="1 when messages wait and none is in flight",
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            minutes=1,
            action=self.scale_out_from_zero.arn,
        )
        self.scale_in_to_zero = self._policy(
            "scale_in_to_zero",
            resource_name(props.name, "scale-in-to-zero"),
            policy_type="StepScaling",
            step_scaling_policy_configuration=StepScaling(
                adjustment_type="ExactCapacity",
                metric_aggregation_type="Maximum",
                # Alarm value 0, threshold 1: the difference is -1, inside (-inf, 0].
                step_adjustment=[
                    StepAdjustment(metric_interval_upper_bound="0", scaling_adjustment=0)
                ],
            ),
        )
        self.idle_alarm = self._alarm(
            "idle_alarm",
            resource_name(props.name, "idle"),
            description=f"No message visible or in flight for {idle_minutes} minutes: "
            "stop every task (step policy, exactly 0 tasks).",
            expression=MESSAGES_IN_QUEUE,
            label="Messages visible or in flight",
            comparison_operator="LessThanThreshold",
            threshold=1,
            minutes=idle_minutes,
            action=self.scale_in_to_zero.arn,
        )

    # --- mode queue-depth ---------------------------------------------------------------------

    def _queue_depth(self) -> policy.AppautoscalingPolicy:
        props = self.props
        scaling = props.scaling
        assert isinstance(scaling, QueueDepthScaling)
        return self._policy(
            "queue_depth",
            resource_name(props.name, "queue-depth"),
            policy_type="TargetTrackingScaling",
            target_tracking_scaling_policy_configuration=TargetTracking(
                target_value=scaling.target_visible_messages,
                customized_metric_specification=CustomMetric(
                    namespace=SQS,
                    metric_name=VISIBLE,
                    statistic="Average",
                    dimensions=[CustomMetricDimension(name="QueueName", value=props.queue_name)],
                ),
            ),
        )

    # --- mode steps ---------------------------------------------------------------------------

    def _steps(self) -> policy.AppautoscalingPolicy:
        props = self.props
        scaling = props.scaling
        assert isinstance(scaling, StepScalingSpec)
        scale_out = scaling.scale_out
        out_policy, self.step_scale_out_alarm = self._step_policy(
            "step_scale_out",
            "ChangeInCapacity",
            scale_out,
            comparison_operator="GreaterThanOrEqualToThreshold",
            description=f"{scale_out.threshold} or more messages visible: add tasks by the "
            "steps (scaling mode steps).",
        )
        scale_in = scaling.scale_in
        if scale_in is not None:
            self.step_scale_in, self.step_scale_in_alarm = self._step_policy(
                "step_scale_in",
                "ChangeInCapacity",
                scale_in,
                comparison_operator="LessThanOrEqualToThreshold",
                description=f"{scale_in.threshold} or fewer messages visible: remove tasks by "
                "the steps (scaling mode steps).",
            )
        high = scaling.high_backlog
        if high is not None:
            self.high_backlog, self.high_backlog_alarm = self._step_policy(
                "high_backlog",
                "PercentChangeInCapacity",
                StepPolicyBounds(
                    high.visible_messages, (StepAdjustmentBounds(0, None, high.add_percent),)
                ),
                comparison_operator="GreaterThanOrEqualToThreshold",
                description=f"{high.visible_messages} or more messages visible: add "
                f"{high.add_percent} % of the running tasks (scaling mode steps).",
            )
        return out_policy

    def _step_policy(
        self,
        construct_id: str,
        adjustment_type: str,
        bounds: StepPolicyBounds,
        *,
        comparison_operator: str,
        description: str,
    ) -> tuple[policy.AppautoscalingPolicy, alarm.CloudwatchMetricAlarm]:
        """A step policy on visible messages and the one-minute alarm that fires it."""
        props = self.props
        name = resource_name(props.name, construct_id.replace("_", "-"))
        step_policy = self._policy(
            construct_id,
            name,
            policy_type="StepScaling",
            step_scaling_policy_configuration=StepScaling(
                adjustment_type=adjustment_type,
                cooldown=STEP_COOLDOWN_SECONDS,
                metric_aggregation_type="Maximum",
                step_adjustment=[
                    StepAdjustment(
                        metric_interval_lower_bound=_bound(step.lower),
                        metric_interval_upper_bound=_bound(step.upper),
                        scaling_adjustment=step.change,
                    )
                    for step in bounds.adjustments
                ],
            ),
        )
        step_alarm = alarm.CloudwatchMetricAlarm(
            self,
            f"{construct_id}_alarm",
            alarm_name=name,
            alarm_description=description,
            namespace=SQS,
            metric_name=VISIBLE,
            dimensions={"QueueName": props.queue_name},
            statistic="Maximum",
            period=MINUTE,
            comparison_operator=comparison_operator,
            threshold=bounds.threshold,
            evaluation_periods=STEP_ALARM_MINUTES,
            datapoints_to_alarm=STEP_ALARM_MINUTES,
            # SQS stops publishing for a queue idle for hours: no data is no evidence either way.
            treat_missing_data="notBreaching",
            alarm_actions=[step_policy.arn],
        )
        return step_policy, step_alarm

    # --- pieces -------------------------------------------------------------------------------

    def _policy(
        self, construct_id: str, name: str, **config: object
    ) -> policy.AppautoscalingPolicy:
        return policy.AppautoscalingPolicy(
            self,
            construct_id,
            name=name,
            **self._target_reference,
            **config,  # type: ignore[arg-type]
        )

    @staticmethod
    def _tracking_query(
        query_id: str, namespace: str, metric: str, dimensions: dict[str, str]
    ) -> Query:
        return Query(
            id=query_id,
            return_data=False,
            metric_stat=QueryStat(
                stat="Average",
                metric=QueryMetric(
                    namespace=namespace,
                    metric_name=metric,
                    dimensions=[
                        QueryDimension(name=name, value=value) for name, value in dimensions.items()
                    ],
                ),
            ),
        )

    def _alarm(
        self,
        construct_id: str,
        name: str,
        *,
        description: str,
        expression: str,
        label: str,
        comparison_operator: str,
        threshold: float,
        minutes: int,
        action: str,
    ) -> alarm.CloudwatchMetricAlarm:
        """A metric-math alarm over the queue's visible and in-flight messages that invokes a
        scaling policy.

        Maximum per minute: counts stay whole numbers, so `< 1` means none.
        """
        props = self.props
        queries = [
            self._alarm_query("visible", SQS, VISIBLE, {"QueueName": props.queue_name}),
            self._alarm_query("in_flight", SQS, IN_FLIGHT, {"QueueName": props.queue_name}),
            alarm.CloudwatchMetricAlarmMetricQuery(
                id="result", expression=expression, label=label, return_data=True
            ),
        ]
        return alarm.CloudwatchMetricAlarm(
            self,
            construct_id,
            alarm_name=name,
            alarm_description=description,
            metric_query=queries,
            comparison_operator=comparison_operator,
            threshold=threshold,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            # No data at all is no evidence of work or of idleness: change nothing.
            treat_missing_data="notBreaching",
            alarm_actions=[action],
        )

    @staticmethod
    def _alarm_query(
        query_id: str, namespace: str, metric: str, dimensions: dict[str, str]
    ) -> alarm.CloudwatchMetricAlarmMetricQuery:
        return alarm.CloudwatchMetricAlarmMetricQuery(
            id=query_id,
            return_data=False,
            metric=alarm.CloudwatchMetricAlarmMetricQueryMetric(
                namespace=namespace,
                metric_name=metric,
                dimensions=dimensions,
                stat="Maximum",
                period=MINUTE,
            ),
        )


# Which policies each scaling mode gets (a lookup table, not an if/elif chain).
_BUILDERS: dict[ScalingMode, Callable[[BacklogScaling], policy.AppautoscalingPolicy]] = {
    ScalingMode.BACKLOG_PER_TASK: BacklogScaling._backlog_per_task,
    ScalingMode.QUEUE_DEPTH: BacklogScaling._queue_depth,
    ScalingMode.STEPS: BacklogScaling._steps,
}


def _bound(value: int | None) -> str | None:
    """A step bound as the provider takes it: a number as text, or absent for infinity."""
    return None if value is None else str(value)
