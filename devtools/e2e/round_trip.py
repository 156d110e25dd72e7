"""The round trip: apply every stack, re-plan, run the workers, change one, destroy.

Each phase is a method, so `make e2e` runs them in a row and the tests run them one per test.
Locally, AWS is a patched `moto_server` on 127.0.0.1 (devtools/moto_patches.py), the provider
comes from the offline mirror, and `docker` is a stand-in that pushes to the local ECR
(devtools/fake_docker.py); `workers/build_and_push.sh` itself runs unchanged.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from devtools.e2e import applied_workers, leftovers, schedule, workspace
from devtools.e2e.progress import Progress
from devtools.e2e.terraform import StackTerraform
from devtools.fake_docker import ImageConfigError, image_config
from devtools.moto_server import PortInUse, running_moto_server
from devtools.terraform_offline import (
    DUMMY_CREDENTIALS,
    Toolchain,
    ToolchainMissing,
    local_aws_env,
    local_aws_terraform_env,
    terraform_env,
)
from modules.config import PLATFORM_STACKS, WORKERS_DIR, ConfigError, load_config
from modules.naming import resource_name
from pipeline.changed import changed_stacks
from pipeline.errors import PipelineError
from pipeline.graph import StackGraph, read_stacks

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

    from devtools.e2e.terraform import PlannedChange
    from devtools.fake_docker import ImageConfig
    from devtools.moto_server import MotoServer

REPO_ROOT = Path(__file__).resolve().parents[2]
# The example pair whose workers run from what was applied.
CONSUMER, PRODUCER = "consumer", "producer"
# What an edit to a consumer's handler may change when applied: its image and what runs it.
IMAGE_CHANGE_TYPES = frozenset({"terraform_data", "aws_ecs_task_definition", "aws_ecs_service"})
CHANGE_PLAN_FILE = "change.tfplan"


class RoundTripFailed(Exception):
    """A phase failed; the message names the stack or worker and what was wrong."""


@dataclass(frozen=True)
class Options:
    """How to run.

    real_account: apply to the AWS account of the caller's credentials instead of a local
        moto_server. Default: False.
    prefix: the project name resources get (required with real_account, and must differ from
        the configured one). Default: the configured project name.
    parallel: stacks applied or destroyed at once. Default: 3.
    port: the local AWS's port on 127.0.0.1. Default: a free one.
    """

    repo: Path = REPO_ROOT
    real_account: bool = False
    prefix: str | None = None
    parallel: int = schedule.PARALLEL_STACKS
    port: int | None = None


@dataclass
class ChangeReport:
    """What editing one worker's handler did."""

    service: str
    listed: list[str]
    applied: list[PlannedChange] = field(default_factory=list)
    others_empty: list[str] = field(default_factory=list)


class RoundTrip(contextlib.AbstractContextManager["RoundTrip"]):
    """Prepares the scratch tree and the local AWS on enter; stops and removes them on exit."""

    def __init__(self, options: Options, out: TextIO | None = None) -> None:
        self.options = options
        self.out = out if out is not None else sys.stdout
        self._stack = contextlib.ExitStack()
        self.workdir = Path(tempfile.mkdtemp(prefix="round-trip-"))
        self.tree = self.workdir / "tree"
        self.logs = self.workdir / "logs"
        self.server: MotoServer | None = None
        self.destroyed = False
        # Set after a failure: the logs (and, on a real account, the state) are kept to read.
        self.keep_workdir = False

    # -- setup ---------------------------------------------------------------------------------

    def __enter__(self) -> RoundTrip:
        try:
            self._prepare()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()  # stops moto_server: a local platform ends with it
        if self.keep_workdir:
            print(f"logs kept in {self.logs}", file=self.out, flush=True)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _prepare(self) -> None:
        self.logs.mkdir(parents=True)
        toolchain = self._toolchain()
        workspace.copy_checkout(self.options.repo, self.tree)
        try:
            project = load_config(self.tree).project
        except ConfigError as error:
            raise RoundTripFailed("the configuration is not valid:\n" + str(error)) from None
        configured, self.region = project.project, project.region
        self.project = self._project_name(configured)
        if self.project != configured:
            workspace.set_project(self.tree, self.project)
        if not self.options.real_account:
            for setting in workspace.apply_settings(self.tree, workspace.LOCAL_SETTINGS):
                self._note(f"local setting: {setting.describe()}")
        workspace.commit_all(self.tree, "what the round trip applies")
        outdir = workspace.synthesize(self.tree)
        manifest, stacks = read_stacks(outdir)
        self.graph = StackGraph.from_synth(manifest, stacks, first=PLATFORM_STACKS)
        self.order = self.graph.apply_order()
        self.progress = Progress(self.order, self.out)
        if not self.options.real_account:
            try:
                server = running_moto_server(patched=True, port=self.options.port)
                self.server = self._stack.enter_context(server)
            except PortInUse as in_use:
                raise RoundTripFailed(str(in_use)) from None
            self._note(f"local AWS: moto_server at {self.server.endpoint_url}")
        self.env = self._terraform_env(toolchain)
        self.terraform = {
            stack: StackTerraform(
                stack,
                outdir / "stacks" / stack,
                self.env,
                self.logs,
                local_aws=not self.options.real_account,
            )
            for stack in self.order
        }

    def _toolchain(self) -> Toolchain | None:
        if shutil.which("terraform") is None:
            raise RoundTripFailed("terraform is not on PATH: install Terraform >= 1.10")
        if self.options.real_account:
            return None
        try:
            return Toolchain.locate()
        except ToolchainMissing as missing:
            raise RoundTripFailed(f"no offline AWS provider: {missing.reason}") from None

    def _project_name(self, configured: str) -> str:
        prefix = self.options.prefix
        if not self.options.real_account:
            return configured if prefix is None else prefix
        if prefix is None or prefix == configured:
            raise RoundTripFailed(
                f"a round trip on a real account needs a project prefix of its own "
                f"(--prefix NAME, not the configured '{configured}'), so that it can never "
                "touch the platform that account already runs"
            )
        return prefix

    def _terraform_env(self, toolchain: Toolchain | None) -> dict[str, str]:
        if toolchain is None or self.server is None:
            return terraform_env(None)
        cli_config = self.workdir / "terraform.tfrc"
        cli_config.write_text(toolchain.cli_config())
        env = local_aws_terraform_env(cli_config, self.server.endpoint_url, self.region)
        bin_dirs = [str(self.tree / "devtools" / "bin"), str(Path(sys.executable).parent)]
        env.update(
            # The build script's `docker` is the stand-in, its `aws` the venv's CLI.
            PATH=os.pathsep.join([*bin_dirs, env.get("PATH", "/usr/bin:/bin")]),
            FAKE_DOCKER_STATE=str(self.workdir / "docker"),
            FAKE_DOCKER_PYTHON=sys.executable,
        )
        if shutil.which("aws", path=env["PATH"]) is None:
            raise RoundTripFailed(
                "the aws CLI is not on PATH; `make` installs it into .venv (awscli, dev extra)"
            )
        return env

    # -- phases --------------------------------------------------------------------------------

    def apply_all(self) -> None:
        """Every stack in apply order, independent ones at once."""
        self._note("applying every stack in apply order")
        self._in_order(self.order, self.graph.upstream, "apply", self._apply)

    def replan_all(self) -> None:
        """A fresh plan of every stack must be empty: what was applied is what is configured."""
        self._note("planning every stack again")
        pending: dict[str, list[str]] = {}

        def replan(stack: str) -> None:
            pending[stack] = self.terraform[stack].pending_changes()
            cell = "empty" if not pending[stack] else f"{len(pending[stack])} CHANGES"
            self.progress.finished(stack, "re-plan", cell)

        no_order = {stack: frozenset[str]() for stack in self.order}
        self._in_order(self.order, no_order, "re-plan", replan)
        changed = {stack: changes for stack, changes in pending.items() if changes}
        if changed:
            raise RoundTripFailed(
                "a second plan is not empty:\n"
                + "\n".join(
                    f"  {stack}: {change}" for stack in changed for change in changed[stack]
                )
            )

    def run_workers(self) -> applied_workers.FlowReport:
        """The applied producer sends through the applied queue to the applied consumer."""
        if self.options.real_account:
            raise RoundTripFailed("the workers run from a local AWS only (see README)")
        self._note("starting the applied consumer and producer")
        cluster = self.terraform["cluster"].outputs()["cluster_name"]
        queue = self.terraform[CONSUMER].outputs()
        sqs = self.client("sqs")
        dlq_name = queue["dead_letter_queue_arn"].rsplit(":", 1)[-1]
        dlq_url = sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]
        consumer = None
        try:
            consumer = self._start_worker(cluster, CONSUMER)
            report = applied_workers.check_message_flow(
                consumer,
                lambda: self._start_worker(cluster, PRODUCER),
                sqs,
                queue["queue_url"],
                dlq_url,
            )
        except applied_workers.WorkersFailed as failure:
            raise RoundTripFailed(str(failure)) from None
        finally:
            if consumer is not None and consumer.exited() is None:
                consumer.process.kill()
                consumer.process.wait()
        self._note(f"workers: {report.describe()}")
        return report

    def change_one_worker(self, service: str = CONSUMER) -> ChangeReport:
        """Edit `service`'s handler; apply what `make changed` lists; plan every other stack."""
        handler = self.tree / WORKERS_DIR / service / "handler.py"
        with handler.open("a") as source:
            source.write("\n# A new line, so the image's content hash changes.\n")
        self._note(f"edited {handler.relative_to(self.tree)}; asking `make changed`")
        try:
            listed = changed_stacks(self.tree, "HEAD")
        except PipelineError as error:
            raise RoundTripFailed(f"make changed failed: {error}") from None
        report = ChangeReport(service, [item.describe() for item in listed])
        modified = [item.stack for item in listed if not item.provisional]
        if modified != [service]:
            raise RoundTripFailed(
                f"make changed listed {report.listed} after an edit of {service}'s handler; "
                f"expected {service} alone (and stacks that read it, provisionally)"
            )
        self._in_order(modified, self.graph.upstream, "change", self._apply_change(report))
        others = [stack for stack in self.order if stack != service]
        self._in_order(
            others, {s: frozenset[str]() for s in others}, "change", self._expect_no_change(report)
        )
        workspace.commit_all(self.tree, f"an edit of {service}'s handler, applied")
        return report

    def destroy_all(self) -> None:
        """Every stack in reverse apply order; then nothing of the project may be left."""
        self._note("destroying every stack in reverse apply order")
        self._in_order(self.order, schedule.reverse(self.graph.upstream), "destroy", self._destroy)
        self.destroyed = True
        left = leftovers.leftovers(self.client, self.project)
        if left:
            raise RoundTripFailed("left after destroy:\n  " + "\n  ".join(left))
        self._note("nothing of the project is left")

    # -- steps ---------------------------------------------------------------------------------

    def _apply(self, stack: str) -> None:
        terraform = self.terraform[stack]
        terraform.init()
        seconds = terraform.apply()
        self.progress.resources(stack, len(terraform.managed_resources()))
        self.progress.finished(stack, "apply", f"{seconds:.0f} s", seconds)

    def _apply_change(self, report: ChangeReport) -> Callable[[str], None]:
        def apply(stack: str) -> None:
            terraform = self.terraform[stack]
            terraform.init()  # the synth of `make changed` replaced the folder
            changes = terraform.plan_to_file(CHANGE_PLAN_FILE)
            unexpected = [c.address for c in changes if c.resource_type not in IMAGE_CHANGE_TYPES]
            if unexpected or not changes:
                raise RoundTripFailed(
                    f"{stack}: an edit of its handler plans changes to {unexpected or 'nothing'}; "
                    f"expected only {sorted(IMAGE_CHANGE_TYPES)}"
                )
            seconds = terraform.apply(CHANGE_PLAN_FILE)
            report.applied += changes
            self.progress.finished(stack, "change", f"{len(changes)} applied", seconds)

        return apply

    def _expect_no_change(self, report: ChangeReport) -> Callable[[str], None]:
        def plan(stack: str) -> None:
            terraform = self.terraform[stack]
            terraform.init()
            pending = terraform.pending_changes()
            if pending:
                raise RoundTripFailed(f"{stack}: plans changes after another's edit: {pending}")
            report.others_empty.append(stack)
            self.progress.finished(stack, "change", "empty")

        return plan

    def _destroy(self, stack: str) -> None:
        terraform = self.terraform[stack]
        if not (terraform.folder / ".terraform").is_dir():
            terraform.init()
        seconds = terraform.destroy()
        left = terraform.managed_resources()
        if left:
            raise RoundTripFailed(f"{stack}: still in state after destroy: {left}")
        self.progress.finished(stack, "destroy", f"{seconds:.0f} s", seconds)

    def _in_order(
        self,
        stacks: list[str],
        waits_for: Any,
        phase: str,
        step: Callable[[str], None],
    ) -> None:
        def tracked(stack: str) -> None:
            self.progress.started(stack, phase)
            try:
                step(stack)
            except BaseException:
                self.progress.finished(stack, phase, "FAILED")
                raise

        failures = schedule.run_in_order(stacks, waits_for, tracked, self.options.parallel)
        if failures:
            raise RoundTripFailed(
                "\n".join(f"{stack}: {phase} failed: {error}" for stack, error in failures)
            )

    # -- helpers -------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client for the account the round trip applies to."""
        if self.server is None:
            return boto3.client(service, region_name=self.region)
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.server.endpoint_url,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def _start_worker(self, cluster: str, service: str) -> applied_workers.WorkerProcess:
        ecr = self.client("ecr")

        def config_of(image: str) -> ImageConfig:
            repository, tag = image.split("/", 1)[1].rsplit(":", 1)
            try:
                return image_config(ecr, repository, tag)
            except ImageConfigError as error:
                raise applied_workers.WorkersFailed(f"{service}: {error}") from None

        worker = applied_workers.read_applied_worker(
            self.client("ecs"), cluster, resource_name(self.project, service), service, config_of
        )
        assert self.server is not None
        local_env = local_aws_env(self.server.endpoint_url, self.region)
        return applied_workers.start(worker, self.tree, self.logs, local_env)

    def _note(self, text: str) -> None:
        if hasattr(self, "progress"):
            self.progress.note(text)
        else:
            print(text, file=self.out, flush=True)
