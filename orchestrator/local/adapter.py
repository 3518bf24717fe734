"""The embedded AWS of the local engine: moto in server mode, with its gaps filled.

Usage::

    with LocalAws(cores=2, log_dir=".orchestrator/logs", lambdas={arn: handler}) as aws:
        aws.endpoint_url                       # http://127.0.0.1:<free port>
        s3 = aws.client("s3")                  # boto3 client bound to the emulator
        arn = aws.register_lambda("check-outputs", handler)   # handler(event, context)
        aws.deliver_rule_to(queue_url, job_events_handler)    # SQS -> handler, as Lambda
        aws.emit_execution_status(execution_arn)              # "Execution Status Change"
        aws.batch.stderr_tail(job_id); aws.batch.wait(job_id) # Batch jobs as processes

While the block runs, this process's environment points boto3 at the emulator
(``AWS_ENDPOINT_URL``, test credentials, region), so in-process handlers and job processes
reach it like AWS. On exit running jobs are killed, executions stopped, and the emulator's
state, moto's configuration and the environment are restored.

What :func:`install` changes in moto (each piece has a test in tests/e2e/test_moto_gaps.py
that shows the gap on plain moto, so it can be removed when upstream fixes it):

1. ``batch:submitJob(.sync)``: the interpreter passes ASL's PascalCase to the API and reads
   ``JobId`` from the camelCase answer. Requests and responses are converted with botocore's
   shapes (:mod:`orchestrator.local.casing`).
2. Batch jobs never run. SubmitJob, DescribeJobs, ListJobs, TerminateJob and CancelJob are
   routed to :class:`~orchestrator.local.batch.LocalBatch`, which runs the command as a local
   process with vCPU limits, retry strategy, timeouts and logs, under one lock that also
   guards moto's job table (moto's own DescribeJobs iterates it unguarded).
3. ``lambda:invoke`` returns the request instead of running code: registered functions are
   called in-process (:class:`~orchestrator.local.lambdas.LambdaRegistry`).
4. EventBridge: AWS-sourced events are emitted by :mod:`orchestrator.local.events`.
5. Failures inside Map iterations and Parallel branches keep their error name, a
   Distributed Map honours its failure threshold, and its ResultWriter writes the result
   files and manifest AWS writes (moto writes an empty manifest) with its Parameters read
   from the Map's input: :mod:`orchestrator.local.mapfix`.
6. ``.sync`` polls DescribeJobs every 0.5 s, a floor under every Batch stage. The resolver
   instead waits on :meth:`LocalBatch.wait` (woken when the job finishes), in slices of
   :data:`SYNC_SLICE` seconds so a stopped execution is noticed, then asks DescribeJobs once.
7. DynamoDB: ``TransactWriteItems`` snapshots whole tables with ``deepcopy`` and restores the
   snapshot when a condition fails, so a concurrent write is lost or the copy raises
   "dictionary changed size during iteration". Every DynamoDB request is serialised
   (:data:`DYNAMODB_LOCK`). moto also parses each update's expression again, twice per
   transaction; each text is parsed once (:mod:`orchestrator.local.dynamofix`).
8. EventBridge delivers each event to each target through eight JSONPath expressions that it
   compiles anew every time (a parser generator run per expression): about 50 ms per event,
   so the thousands of state changes of an array job took minutes. The Step Functions
   interpreter does the same for every path it reads or writes (each ``.$`` field, each
   ResultPath, each Choice rule's Variable): about 1 ms a path, 15 ms for a "Which stage
   next?" of 20 rules. Compiled expressions are kept (:func:`cached_jsonpath`): the same
   text always compiles to the same expression.
9. SQS looks at every message of a queue on each send and receive (visibility and delay of
   each, through naive-datetime arithmetic, ~20 us a message), three times more for each
   message received (its retention check computes every queue attribute, message counts
   included), so a backlog of N events makes each call O(N) slow: an array job's thousands
   of state changes made a quadratic queue. The clock SQS reads is made cheap
   (:func:`fast_clock`, same values), the retention check reads the retention period
   alone (:func:`retention_check`), a queue's messages are counted in one pass reading
   the clock once (:func:`patch_sqs_counts`), and the attribute names SQS converts on every
   send (a regular expression each) are converted once.
10. moto keeps every model object it ever made (``BaseModel.__new__`` appends each to its
   class's ``instances_tracked``, for its dashboard): every item written or copied into a
   Query's answer, every key, message and job. The engine's memory grew as N² with the
   samples. Models are made without being kept (:mod:`orchestrator.local.modeltrack`).
11. The Step Functions interpreter parses a definition (ANTLR, in Python) when its state
   machine is created and again for every execution: about 0.7 s each for 20 stages. Each
   definition's parse tree is kept (:mod:`orchestrator.local.aslcache`).
12. ``GetExecutionHistory`` walks the botocore shape of every event to write it: half a
   second for a 20-stage run, which the engine reads as it ends. Plain events are written
   with ``json.dumps`` (:mod:`orchestrator.local.sfnfix`).
13. The interpreter makes a new boto3 client for every service task and every ``.sync``
   answer (two per Batch stage, ~3 ms each); one per region and service is kept
   (:func:`~orchestrator.local.sfnfix.cached_clients`). And an execution's end is signalled
   (:meth:`LocalAws.end_of`), so the engine needs not poll for it.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import boto3
import jsonpath_ng.ext
import jsonpath_ng.ext.parser
from moto import backends as moto_backends
from moto.batch.models import batch_backends
from moto.batch.responses import BatchResponse
from moto.core.common_models import BaseModel
from moto.core.config import DefaultConfig, default_user_config
from moto.core.utils import camelcase_to_underscores, unix_time, unix_time_millis
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.parsing import expressions as ddb_expressions
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from moto.sqs import models as sqs_models
from moto.sqs.models import Message, Queue, SQSBackend
from moto.stepfunctions.parser.asl.component.common.path import result_path as sfn_result_path
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    distributed_iteration_component,
    iteration_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
    distributed_item_processor_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer import (
    result_writer_decl,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (  # noqa: E501
    resource_eval_s3 as result_writer_s3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_batch,
)
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import json_path as sfn_json_path
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.responses import StepFunctionResponse
from werkzeug.serving import make_server

from orchestrator.local import (
    aslcache,
    casing,
    dynamofix,
    inprocess,
    mapfix,
    modeltrack,
    sfnfix,
)
from orchestrator.local.batch import LocalBatch
from orchestrator.local.batch_job import BATCH_FINAL
from orchestrator.local.events import BatchEvents, SqsHandler, SqsPoller, emit_execution_status
from orchestrator.local.lambdas import Handler, LambdaRegistry, OutputRouter

MOTO_CONFIG: Final[DefaultConfig] = {
    "stepfunctions": {"execute_state_machine": True},
    "batch": {"use_docker": False},
    "lambda": {"use_docker": False},
}
CREDENTIALS: Final = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
_UNSET_ENV: Final = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
WAKE_FALLBACK: Final = 1.0  # seconds between polls of a queue nothing has woken
# How long a woken queue gathers messages before its handler runs (the event source
# mapping's MaximumBatchingWindowInSeconds, 5 s in the template, kept short here so that
# progress stays live). A trivial job's status changes then reach job_events together, which
# writes the job's row once, while the state machine moves on to the next stage.
BATCHING_WINDOW: Final = 0.2
SYNC_SLICE: Final = 0.25  # longest a .sync task waits before checking its execution still runs
DYNAMODB_LOCK: Final = threading.Lock()  # one DynamoDB request at a time inside the emulator


@dataclass
class Installed:
    """The patches :func:`install` applied; :meth:`undo` puts moto back as it was."""

    originals: list[tuple[Any, str, Any]] = field(default_factory=list)

    def patch(self, owner: Any, name: str, value: Any) -> None:
        self.originals.append((owner, name, vars(owner).get(name, _INHERITED)))
        setattr(owner, name, value)

    def undo(self) -> None:
        global _ACTIVE
        while self.originals:
            owner, name, original = self.originals.pop()
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        _ACTIVE = None


_ACTIVE: Installed | None = None
_INHERITED: Final = object()  # marks an attribute the class did not define itself


def install(batch: LocalBatch, lambdas: LambdaRegistry,
            ended: Callable[[str], None]) -> Installed:
    """Patch moto (process-wide) so Batch and Lambda integrations behave as on AWS;
    ``ended(execution ARN)`` is called as each execution ends."""
    global _ACTIVE
    if _ACTIVE is not None:
        raise RuntimeError("the local AWS adapter is already installed in this process; "
                           "use one LocalAws at a time")
    done = Installed()
    try:
        _patch_batch_casing(done)
        _patch_batch_api(done, batch)
        _patch_batch_sync(done, batch)
        _patch_dynamodb(done)
        done.patch(DynamoDBBackend, "transact_write_items",
                   dynamofix.transact_write_items(DynamoDBBackend.transact_write_items))
        update_parser: Any = vars(ddb_expressions)["UpdateExpressionParser"]  # untyped module
        done.patch(update_parser, "make",
                   staticmethod(dynamofix.cached_update_parser(update_parser.make)))
        done.patch(DynamoResult, "execute_result",
                   dynamofix.fast_result(DynamoResult.execute_result))
        done.patch(moto_backends, "list_of_moto_modules",
                   dynamofix.cached_modules(moto_backends.list_of_moto_modules))
        done.patch(BaseModel, "__new__", staticmethod(modeltrack.untracked_new))
        modeltrack.forget_tracked()
        _patch_lambda_invoke(done, lambdas)
        _patch_map_failures(done)
        done.patch(jsonpath_ng.ext, "parse", cached_jsonpath(jsonpath_ng.ext.parser.parse))
        for module in (sfn_json_path, sfn_result_path):  # each imported its own ``parse``
            done.patch(module, "parse", cached_jsonpath(vars(module)["parse"]))
        done.patch(sqs_models, "unix_time", fast_clock(unix_time, 1.0))
        done.patch(sqs_models, "unix_time_millis", fast_clock(unix_time_millis, 1000.0))
        done.patch(SQSBackend, "is_message_valid_based_on_retention_period", retention_check)
        patch_sqs_counts(done)
        done.patch(AmazonStateLanguageParser, "parse",
                   staticmethod(aslcache.cached_parse(AmazonStateLanguageParser.parse)))
        done.patch(StepFunctionResponse, "get_execution_history",
                   sfnfix.fast_history(StepFunctionResponse.get_execution_history))
        done.patch(sqs_models, "camelcase_to_underscores",
                   functools.lru_cache(maxsize=256)(camelcase_to_underscores))
        for owner, name, value in sfnfix.client_factory_patches():
            done.patch(owner, name, value)
        done.patch(BaseExecutionWorkerCommunication, "terminated",
                   sfnfix.signalled(BaseExecutionWorkerCommunication.terminated, ended))
    except BaseException:
        done.undo()
        raise
    _ACTIVE = done
    return done


def fast_clock(original: Callable[..., float], scale: float) -> Callable[..., float]:
    """moto's ``unix_time``/``unix_time_millis``: the current time from ``time.time()``
    (what the original computes through datetimes); a given datetime still goes through the
    original."""

    def now(dt: Any = None) -> float:
        return time.time() * scale if dt is None else original(dt)

    return now


def retention_check(backend: SQSBackend, queue_name: str, message: Message) -> bool:
    """moto's ``is_message_valid_based_on_retention_period``, reading the one attribute it
    needs instead of computing all of them."""
    period = int(backend.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return period + (message.sent_timestamp or 0) / 1000 > time.time()


def patch_sqs_counts(done: Installed) -> None:
    """moto's Queue.messages and approximate counts with the clock read once per call (the
    same comparisons as Message.visible and Message.delayed)."""

    def messages(queue: Queue) -> list[Message]:
        now = time.time() * 1000.0
        return [m for m in queue._messages if now > m.visible_at and now >= m.delayed_until]

    def visible(queue: Queue) -> int:
        now = time.time() * 1000.0
        return sum(1 for m in queue._messages if now > m.visible_at and now >= m.delayed_until)

    def delayed(queue: Queue) -> int:
        now = time.time() * 1000.0
        return sum(1 for m in queue._messages if now < m.delayed_until)

    def not_visible(queue: Queue) -> int:
        now = time.time() * 1000.0
        return sum(1 for m in queue._messages if not now > m.visible_at)

    for name, fn in (("messages", messages), ("approximate_number_of_messages", visible),
                     ("approximate_number_of_messages_delayed", delayed),
                     ("approximate_number_of_messages_not_visible", not_visible)):
        done.patch(Queue, name, property(fn))


def cached_jsonpath(parse: Callable[..., Any]) -> Callable[..., Any]:
    """``jsonpath_ng.ext.parse`` that compiles each expression once (moto's EventBridge asks
    for the same eight on every delivery; a compiled expression is not changed by use)."""
    return functools.lru_cache(maxsize=256)(parse)


def _patch_batch_casing(done: Installed) -> None:
    service = state_task_service_batch.StateTaskServiceBatch

    def normalise_parameters(self: Any, parameters: dict[str, Any],
                             boto_service_name: str | None = None,
                             service_action_name: str | None = None) -> None:
        op = casing.operation("batch", service_action_name or self.resource.api_action)
        casing.to_api(parameters, op.input_shape)

    def normalise_response(self: Any, response: Any, boto_service_name: str | None = None,
                           service_action_name: str | None = None) -> None:
        op = casing.operation("batch", service_action_name or self.resource.api_action)
        casing.to_sfn(response, op.output_shape)

    done.patch(service, "_normalise_parameters", normalise_parameters)
    done.patch(service, "_normalise_response", normalise_response)


def _patch_batch_api(done: Installed, batch: LocalBatch) -> None:
    original_list = BatchResponse.listjobs

    def backend(response: BatchResponse) -> Any:
        return batch_backends[response.current_account][response.region]

    def submitjob(self: BatchResponse) -> str:
        params = {name: self._get_param(name) for name in (
            "jobName", "jobQueue", "jobDefinition", "containerOverrides", "retryStrategy",
            "timeout", "parameters", "tags", "dependsOn", "arrayProperties", "propagateTags")}
        job = batch.submit(backend(self), params)
        return json.dumps({"jobId": job.job_id, "jobName": job.job_name, "jobArn": job.arn})

    def describejobs(self: BatchResponse) -> str:
        return json.dumps({"jobs": batch.describe(self._get_param("jobs") or [])})

    def listjobs(self: BatchResponse) -> str:
        with batch.lock:
            return original_list(self)

    def terminatejob(self: BatchResponse) -> str:
        batch.terminate(self._get_param("jobId"), self._get_param("reason"))
        return ""

    def canceljob(self: BatchResponse) -> str:
        batch.terminate(self._get_param("jobId"), self._get_param("reason"), running_too=False)
        return ""

    for name, fn in (("submitjob", submitjob), ("describejobs", describejobs),
                     ("listjobs", listjobs), ("terminatejob", terminatejob),
                     ("canceljob", canceljob)):
        done.patch(BatchResponse, name, fn)


def _patch_batch_sync(done: Installed, batch: LocalBatch) -> None:
    service = state_task_service_batch.StateTaskServiceBatch
    original = service._build_sync_resolver

    def build_sync_resolver(self: Any, env: Any, resource_runtime_part: Any,
                            normalised_parameters: dict[str, Any],
                            state_credentials: Any) -> Any:
        job_id = str(env.stack[-1].get("JobId", ""))  # the SubmitJob answer the original pops
        describe = original(self, env, resource_runtime_part, normalised_parameters,
                            state_credentials)
        return describe and sync_resolver(batch, job_id, describe, env.is_running)

    done.patch(service, "_build_sync_resolver", build_sync_resolver)


def sync_resolver(batch: LocalBatch, job_id: str, describe: Callable[[], Any],
                  running: Callable[[], bool]) -> Callable[[], Any]:
    """moto's resolver (one DescribeJobs: the job's description when it has finished, else
    None), called once the job has finished instead of every 0.5 s. Returns None only when
    the execution stopped, which ends moto's polling loop."""

    def resolve() -> Any:
        while running():
            status = batch.wait(job_id, timeout=SYNC_SLICE)
            if status in BATCH_FINAL or status == "UNKNOWN":
                result = describe()
                if result:
                    return result
                if status == "UNKNOWN":  # not a job of ours: poll slowly
                    time.sleep(SYNC_SLICE)
        return None

    return resolve


def _patch_dynamodb(done: Installed) -> None:
    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with DYNAMODB_LOCK:
            return original(self)

    done.patch(DynamoHandler, "call_action", call_action)


def _patch_lambda_invoke(done: Installed, lambdas: LambdaRegistry) -> None:
    original = lambda_eval_utils._invoke_lambda_function

    def invoke(parameters: dict[str, Any], region: str, state_credentials: Any) -> Any:
        name = str(parameters.get("FunctionName", ""))
        if lambdas.handler(name) is None:
            return original(parameters, region, state_credentials)
        return lambdas.invoke(name, parameters.get("Payload"))

    done.patch(lambda_eval_utils, "_invoke_lambda_function", invoke)


def _patch_map_failures(done: Installed) -> None:
    for module in (iteration_worker, branches_decl):
        done.patch(module, "CustomErrorName", mapfix.error_name)
    component = distributed_iteration_component.DistributedIterationComponent
    done.patch(component, "_map_run", mapfix.enforce_tolerance(component._map_run))
    worker = distributed_item_processor_worker.DistributedItemProcessorWorker
    done.patch(worker, "_eval_input", mapfix.keep_child_input(worker._eval_input))
    done.patch(worker, "_eval_job", mapfix.record_child(worker._eval_job))
    done.patch(result_writer_s3.ResourceEvalS3, "_handle_put_object",
               staticmethod(mapfix.put_results))
    done.patch(result_writer_decl.ResultWriter, "_eval_body",
               mapfix.writer_parameters_from_input)


class _Server(ThreadedMotoServer):
    """moto's threaded server, polling for shutdown every 20 ms instead of every 500 ms."""

    def _server_entry(self) -> None:
        app = self.app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self._ip_address, self._port, app, True,
                                   request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=0.02)


QUIET_LOGGERS: Final = {
    "werkzeug": logging.WARNING,  # one line per request of moto's HTTP server
    "urllib3.connectionpool": logging.ERROR,  # "pool is full": many Map iterations at once
}


def _quiet_loggers() -> dict[str, int]:
    """Silence emulator chatter; returns the old levels."""
    saved = {}
    for name, level in QUIET_LOGGERS.items():
        logger = logging.getLogger(name)
        saved[name] = logger.level
        logger.setLevel(level)
    return saved


class LocalAws:
    """moto's server on 127.0.0.1 with the adapter installed; see the module docstring."""

    def __init__(self, *, cores: float | None = None,
                 log_dir: str | os.PathLike[str] = ".orchestrator/logs",
                 region: str = "us-east-1", kill_grace: float = 10.0,
                 lambdas: Mapping[str, Handler] | None = None,
                 extra_env: Mapping[str, str] | None = None,
                 scratch_dir: Path | None = None) -> None:
        self.region = region
        self._handlers = dict(lambdas or {})
        self._extra_env = dict(extra_env or {})  # for in-process handlers, e.g. TABLE_NAME
        self._cores = cores
        self._log_dir = Path(log_dir)
        self._kill_grace = kill_grace
        self._scratch_dir = scratch_dir  # jobs' working folders (default: the system temp)
        self._server: _Server | None = None
        self._inprocess: inprocess.Dispatch | None = None
        self._patches: Installed | None = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_config: dict[str, Any] = {}
        self._pollers: list[SqsPoller] = []
        self._ends: dict[str, threading.Event] = {}  # execution ARN -> set once it ended
        self._ends_lock = threading.Lock()
        self._quiet: dict[str, int] | None = None
        self._router: OutputRouter | None = None
        self.endpoint_url = ""
        self.batch: LocalBatch
        self.lambdas: LambdaRegistry

    def __enter__(self) -> LocalAws:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def environment(self) -> dict[str, str]:
        """What a process needs to reach the emulator as if it were AWS."""
        return {"AWS_ENDPOINT_URL": self.endpoint_url, "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region, **CREDENTIALS}

    def start(self) -> None:
        if _ACTIVE is not None:
            raise RuntimeError("a LocalAws is already running in this process; moto's state "
                               "is process-wide, so use one at a time")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self._quiet = _quiet_loggers()
        self._server = _Server(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self._inprocess = inprocess.install(  # the interpreter says localhost:$MOTO_PORT
            self.endpoint_url, self._server.app, aliases=[f"http://localhost:{port}"])
        # The interpreter's own clients go to localhost:$MOTO_PORT.
        self._set_env({**self._extra_env, **self.environment, "MOTO_PORT": str(port)})
        self._saved_config = copy.deepcopy(dict(default_user_config))
        self._moto_api("reset")
        self._moto_api("config", MOTO_CONFIG)
        # Jobs find the console scripts (orchestrator-runner) of this interpreter's environment.
        path = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
        self.batch = LocalBatch(log_dir=self._log_dir, cores=self._cores,
                                env={**self.environment, "PATH": path},
                                kill_grace=self._kill_grace, scratch_dir=self._scratch_dir)
        self._router = OutputRouter(self._log_dir / "lambda")
        self._router.install()
        self.lambdas = LambdaRegistry(self.region, self._router)
        for name, handler in self._handlers.items():
            self.lambdas.register(name, handler)
        self._patches = install(self.batch, self.lambdas, lambda arn: self.end_of(arn).set())
        self.batch.add_batch_listener(BatchEvents(self.client("events")))
        self.batch.add_batch_listener(lambda _: self._wake_pollers())

    def stop(self) -> None:
        for poller in self._pollers:
            poller.stop()
        self._pollers.clear()
        if self._patches is not None:
            self._stop_executions()
            self.batch.shutdown()
            self._patches.undo()
            self._patches = None
        if self._server is not None:
            self._moto_api("reset")
            self._moto_api("config", {k: self._saved_config.get(k, {}) for k in MOTO_CONFIG})
            self._server.stop()
            self._server = None
        if self._inprocess is not None:
            inprocess.uninstall(self._inprocess)
            self._inprocess = None
        self._restore_env()
        if self._router is not None:
            self._router.uninstall()
            self._router = None
        if self._quiet is not None:
            for name, level in self._quiet.items():
                logging.getLogger(name).setLevel(level)
            self._quiet = None

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` bound to the emulator."""
        return boto3.client(  # type: ignore[call-overload]
            service, endpoint_url=self.endpoint_url, region_name=self.region,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def register_lambda(self, name_or_arn: str, handler: Handler) -> str:
        """Make ``handler(event, context)`` the code of a function; returns its ARN."""
        return self.lambdas.register(name_or_arn, handler)

    def set_function_env(self, values: Mapping[str, str]) -> None:
        """Environment variables of the in-process functions, as a template's function
        Environment sets them (restored when the emulator stops)."""
        self._set_env(dict(values))

    def deliver_rule_to(self, queue_url: str, handler: SqsHandler,
                        **options: Any) -> SqsPoller:
        """Feed messages of ``queue_url`` (an EventBridge rule's target) to ``handler``. The
        engine's own events (Batch jobs, executions) wake the poller as they are put; it
        also polls every ``idle_seconds`` (default: 1) for anything else."""
        options.setdefault("router", self._router)
        options.setdefault("idle_seconds", WAKE_FALLBACK)
        options.setdefault("batching_window", BATCHING_WINDOW)
        poller = SqsPoller(self.client("sqs"), queue_url, handler, region=self.region,
                           **options).start()
        self._pollers.append(poller)
        return poller

    def emit_execution_status(self, execution_arn: str) -> None:
        emit_execution_status(self.client("events"), self.client("stepfunctions"),
                              execution_arn)
        self._wake_pollers()

    def flush_events(self) -> None:
        """The queues' handlers take what is queued at once, and from now on without a
        batching window: the caller waits for the table to hold every event."""
        for poller in list(self._pollers):
            poller.flush()

    def end_of(self, execution_arn: str) -> threading.Event:
        """Set once the execution has ended (its status is final by then)."""
        with self._ends_lock:
            return self._ends.setdefault(execution_arn, threading.Event())

    def activity(self) -> int:
        """Grows each time a function (invoked, or fed by a queue) returns: a table those
        functions write can only have changed when it has grown."""
        return self.lambdas.calls + sum(p.handled for p in self._pollers)

    def _wake_pollers(self) -> None:
        for poller in list(self._pollers):
            poller.wake()

    def log_path(self, log_stream_name: str) -> Path:
        """The file holding a Batch job attempt's output (its ``logStreamName``)."""
        return self._log_dir / log_stream_name

    def _stop_executions(self) -> None:
        sfn = self.client("stepfunctions")
        for machine in sfn.list_state_machines()["stateMachines"]:
            for ex in sfn.list_executions(stateMachineArn=machine["stateMachineArn"],
                                          statusFilter="RUNNING")["executions"]:
                sfn.stop_execution(executionArn=ex["executionArn"], error="LocalEngineStopped")

    def _moto_api(self, action: str, body: Any = None) -> None:
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/{action}", method="POST",
            data=json.dumps(body).encode() if body is not None else b"")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def _set_env(self, values: dict[str, str]) -> None:
        for key in (*values, *_UNSET_ENV):
            self._saved_env.setdefault(key, os.environ.get(key))
        for key in _UNSET_ENV:
            os.environ.pop(key, None)
        os.environ.update(values)

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

