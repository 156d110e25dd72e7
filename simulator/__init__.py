"""A discrete-event simulator of one queue consumer's scaling on ECS Fargate.

It runs the scaling policy a `workers/<name>/service.yaml` declares (the same typed
config the stacks are built from) against a workload, with CloudWatch's one-minute,
delayed metrics, the target tracking and step scaling alarms, Application Auto Scaling's
capacity arithmetic and cooldowns, Fargate start and stop, and scale-in protection, and
reports latency percentiles, backlog, task-hours and cost. See simulator/README.md.

Modules, one concern each: workload (arrivals), queue (SQS), tasks (Fargate tasks and
handler times), metrics (CloudWatch datapoints), alarms, autoscaling (Application Auto
Scaling), policies (config -> policies), engine (the event loop), cost, report, plot,
planner, runner (glue), cli, timings (every timing constant).
"""

from simulator.engine import RunResult, Scenario, simulate
from simulator.policies import MODES, ScalingPlan, mode_of
from simulator.report import Summary, summarize
from simulator.timings import Timings
from simulator.workload import WorkloadError, parse_workload

__all__ = [
    "MODES",
    "RunResult",
    "ScalingPlan",
    "Scenario",
    "Summary",
    "Timings",
    "WorkloadError",
    "mode_of",
    "parse_workload",
    "simulate",
    "summarize",
]
