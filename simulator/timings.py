"""Every timing constant of the model, named, sourced and overridable.

One frozen dataclass: `Timings()` is what AWS documents (or, where AWS documents no number,
a stated assumption); `replace(Timings(), task_start_seconds=90)` or the CLI's
`--timing task_start_seconds=90` tries another value. Nothing else in the simulator holds a
timing number.

Sources (short names used below):
- [SQS-CW] Amazon SQS Developer Guide, "Monitoring Amazon SQS queues using CloudWatch":
  metrics "are automatically collected and pushed to CloudWatch at one-minute intervals";
  a queue is active "for up to six hours if it contains any messages or if any action
  accesses it"; "a delay of up to 15 minutes occurs in CloudWatch metrics when a queue is
  activated from an inactive state".
- [CW-ALARM] Amazon CloudWatch User Guide, "Using Amazon CloudWatch alarms": "For Auto
  Scaling actions, the alarm continues to invoke the action for every period that the alarm
  remains in the new state."
- [AAS-TT] Application Auto Scaling User Guide, "Target tracking scaling policies": scales
  out "proportionally to the metric as fast as it can, but scales in more gradually";
  removes capacity "only when utilization passes a threshold that is far enough below the
  target value (usually more than 10% lower)"; cooldown semantics.
- [AAS-TT-ALARMS] The alarms Application Auto Scaling creates for an ECS service's target
  tracking policy, as AWS Copilot's `copilot svc status` documentation shows them:
  AlarmHigh "CPUUtilization > 70.00 for 3 datapoints within 3 minutes", AlarmLow
  "CPUUtilization < 63.00 for 15 datapoints within 15 minutes" (63 = 0.9 x 70).
- [AAS-API] Application Auto Scaling API Reference, TargetTrackingScalingPolicyConfiguration:
  ScaleInCooldown/ScaleOutCooldown default 300 s for ECS services.
- [ECS-LIFECYCLE] Amazon ECS Developer Guide, "Amazon ECS task lifecycle": PROVISIONING
  (ENI attached), PENDING, ACTIVATING (image pull, containers created), RUNNING.
- [FARGATE-PRICING] aws.amazon.com/fargate/pricing: billed "from the time you start to
  download your container image until the Amazon ECS Task ... terminates, rounded up to the
  nearest second", with a one-minute minimum.
- [QUEUE] modules/constructs/work_queue.py: the queue's 20 s receive wait (long polling).
- [CONSTRUCT] modules/constructs/backlog_scaling.py, what the stack deploys
  (tests/simulator/test_policies.py fails when the two disagree).
- [OUTBOX] workers/runtime/outbox.py: deletes wait `linger` = 0.1 s to fill a batch of 10.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

__all__ = ["Timings", "TimingsError", "override_timings"]


class TimingsError(ValueError):
    """An override names no timing, or gives a value that is not a positive number."""


@dataclass(frozen=True)
class Timings:
    """Timing constants, in seconds unless the name says otherwise. Defaults: see each field."""

    # --- CloudWatch metrics -------------------------------------------------------------
    metric_period_seconds: int = 60
    """Resolution of AWS/SQS and ECS/ContainerInsights datapoints. [SQS-CW]: one minute."""

    metric_publication_delay_seconds: float = 60.0
    """How long after its period ends a datapoint becomes readable by alarms.
    Assumption: AWS documents no number for an active queue; one period is what the reference
    design observed (the alarm acts on the previous minute). Override to test a slower
    CloudWatch."""

    queue_inactive_after_seconds: float = 6 * 3600
    """An empty queue nobody calls for this long goes inactive and stops emitting
    metrics. [SQS-CW]: six hours."""

    queue_reactivation_metric_delay_seconds: float = 15 * 60
    """After an inactive queue becomes active again, no SQS datapoint is readable for this
    long. [SQS-CW]: "up to 15 minutes" (we take the worst case)."""

    # --- CloudWatch alarms and Application Auto Scaling -----------------------------------
    alarm_evaluation_interval_seconds: int = 60
    """Alarms are evaluated once a period; an alarm in ALARM re-invokes its scaling
    policy at every evaluation. [CW-ALARM]."""

    target_tracking_scale_out_datapoints: int = 3
    """AlarmHigh: metric > target for 3 of 3 one-minute datapoints. [AAS-TT-ALARMS]."""

    target_tracking_scale_in_datapoints: int = 15
    """AlarmLow: metric < scale-in ratio x target for 15 of 15 datapoints. [AAS-TT-ALARMS]."""

    target_tracking_scale_in_ratio: float = 0.9
    """AlarmLow's threshold as a fraction of the target: "usually more than 10% lower"
    [AAS-TT]; 63 for a target of 70 [AAS-TT-ALARMS]."""

    target_tracking_scale_in_max_ratio: float = 0.1
    """Most of the capacity one target tracking scale-in removes (at least one task).
    Assumption: [AAS-TT] says target tracking "scales in more gradually" and gives no number;
    10 % is the cautious reading (the slowest to save money). 1 removes everything the
    arithmetic allows at once."""

    default_scale_out_cooldown_seconds: float = 300.0
    """[AAS-API]: ScaleOutCooldown of a target tracking policy that sets none (the reference
    design's queue-depth policy)."""

    default_scale_in_cooldown_seconds: float = 300.0
    """[AAS-API]: ScaleInCooldown of a target tracking policy that sets none."""

    backlog_scale_out_cooldown_seconds: float = 60.0
    """[CONSTRUCT] SCALE_OUT_COOLDOWN_SECONDS of the backlog-per-task target tracking."""

    backlog_scale_in_cooldown_seconds: float = 300.0
    """[CONSTRUCT] SCALE_IN_COOLDOWN_SECONDS of the backlog-per-task target tracking."""

    scale_from_zero_cooldown_seconds: float = 300.0
    """[CONSTRUCT] SCALE_FROM_ZERO_COOLDOWN_SECONDS of the 0 -> 1 step policy (+1 task)."""

    scale_to_zero_cooldown_seconds: float = 0.0
    """[CONSTRUCT] sets no cooldown on the idle -> 0 policy; it only ever sets 0 anyway."""

    step_cooldown_seconds: float = 60.0
    """[CONSTRUCT] STEP_COOLDOWN_SECONDS of each step policy of scaling mode `steps`."""

    # --- ECS on Fargate -----------------------------------------------------------------
    task_start_seconds: float = 60.0
    """From a desired-count increase to a RUNNING task that polls: ENI, image pull, container
    start [ECS-LIFECYCLE]. Assumption: AWS publishes no number; 30-90 s is commonly seen
    for a small image from ECR through VPC endpoints. Billing starts at launch (slightly
    early: [FARGATE-PRICING] starts it at the image pull)."""

    fargate_minimum_billed_seconds: float = 60.0
    """[FARGATE-PRICING]: per second, one-minute minimum per task."""

    # --- SQS and the worker runtime --------------------------------------------------------
    long_poll_wait_seconds: float = 20.0
    """An idle poller's ReceiveMessage returns empty after this long. [QUEUE]."""

    delete_linger_seconds: float = 0.1
    """Deletes finished this close together share one DeleteMessageBatch. [OUTBOX]."""

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            ratio = field.name.endswith("_ratio")
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or value < 0
                or (ratio and value > 1)
            ):
                allowed = "a number between 0 and 1" if ratio else "a number >= 0"
                raise TimingsError(f"timing {field.name} must be {allowed}; got {value!r}")
        for name in (
            "metric_period_seconds",
            "alarm_evaluation_interval_seconds",
            "target_tracking_scale_out_datapoints",
            "target_tracking_scale_in_datapoints",
        ):
            if getattr(self, name) < 1 or getattr(self, name) != int(getattr(self, name)):
                raise TimingsError(f"timing {name} must be a whole number >= 1")


def override_timings(base: Timings, assignments: list[str]) -> Timings:
    """`base` with `NAME=VALUE` assignments applied (the CLI's repeatable --timing)."""
    known = {field.name: field.type for field in fields(Timings)}
    changes: dict[str, float] = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        name = name.strip()
        if not sep or name not in known:
            raise TimingsError(
                f"--timing {assignment!r}: expected NAME=VALUE with NAME one of "
                f"{', '.join(sorted(known))}"
            )
        try:
            value = float(text)
        except ValueError:
            raise TimingsError(f"--timing {name}: {text!r} is not a number") from None
        changes[name] = int(value) if known[name] == "int" and value.is_integer() else value
    return replace(base, **changes)
