"""One Batch array job of N trivial children on the local engine, against N bare processes.

Cases:

* ``bare``: the same command launched ``--size`` times directly, ``--cores`` at a time
  (subprocess.Popen with pipes and a session of its own, as the engine does): the floor;
* ``executor``: the embedded AWS (:class:`orchestrator.local.adapter.LocalAws`) with its
  state-change events switched off: SubmitJob of one array job of ``--size`` children
  running ``true`` until the parent has finished;
* ``events``: the same with "Batch Job State Change" events on, as in a run: until the
  parent has finished, and until every event has been put on the emulator's EventBridge;
* ``queue``: events on, and an EventBridge rule delivering them to an SQS queue that a
  consumer empties (the path job-state rows take in a run): until every event is consumed.

Reported: wall seconds, per child, the most threads alive beyond those before the submit,
and the ratio to ``bare``.

Run: python benchmarks/local_array.py [--size 1000] [--cores 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from orchestrator.local.adapter import LocalAws

COMMAND = ["true"]
POLICY = json.dumps({"Version": "2012-10-17", "Statement": []})


def bare(size: int, cores: int) -> dict[str, float]:
    """``size`` processes, ``cores`` at a time: the floor under any executor."""
    started = time.perf_counter()
    running: list[subprocess.Popen[bytes]] = []
    for _ in range(size):
        while len(running) >= cores:
            running.pop(0).wait()
        running.append(subprocess.Popen(COMMAND, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        start_new_session=True))
    for proc in running:
        proc.communicate()
    return {"wall": time.perf_counter() - started, "events": 0.0, "threads": 1.0,
            "workers": float(cores)}


def engine(size: int, cores: int, folder: Path, mode: str) -> dict[str, float]:
    with LocalAws(cores=cores, log_dir=folder / "logs", scratch_dir=folder / "scratch",
                  kill_grace=2) as aws:
        if mode == "executor":
            aws.batch._delivery.batch_listeners.clear()  # no EventBridge events
        consumed = threading.Semaphore(0)
        if mode == "queue":
            sqs, events = aws.client("sqs"), aws.client("events")
            url = sqs.create_queue(QueueName="bench")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            events.put_rule(Name="bench", EventPattern=json.dumps(
                {"source": ["aws.batch"], "detail-type": ["Batch Job State Change"]}))
            events.put_targets(Rule="bench", Targets=[
                {"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}])

            def consume(event: dict[str, Any], _context: Any) -> None:
                consumed.release(len(event["Records"]))

            aws.deliver_rule_to(url, consume)
        batch = aws.client("batch")
        role = aws.client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument=POLICY)
        ce = batch.create_compute_environment(
            computeEnvironmentName="bench", type="UNMANAGED", state="ENABLED",
            serviceRole=role["Role"]["Arn"])["computeEnvironmentArn"]
        queue = batch.create_job_queue(
            jobQueueName="bench", state="ENABLED", priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])["jobQueueArn"]
        definition = batch.register_job_definition(
            jobDefinitionName="bench", type="container", containerProperties={
                "image": "img", "command": COMMAND,
                "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                         {"type": "MEMORY", "value": "512"}]},
        )["jobDefinitionArn"]
        last = threading.Event()
        job: dict[str, Any] = {}
        changes = [0]

        def hear(description: dict[str, Any]) -> None:
            changes[0] += description["status"] != "SUBMITTED"
            if description["jobId"] == job.get("jobId") and description["status"] in (
                    "SUCCEEDED", "FAILED"):
                last.set()

        aws.batch.add_listener(hear)
        threads = [threading.active_count()]
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.wait(0.02):
                threads.append(threading.active_count())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        job.update(batch.submit_job(jobName="bench", jobQueue=queue, jobDefinition=definition,
                                    arrayProperties={"size": size}))
        status = aws.batch.wait(job["jobId"], timeout=3600)
        wall = time.perf_counter() - started
        last.wait(timeout=3600)
        if mode == "queue":
            for _ in range(changes[0]):
                consumed.acquire(timeout=3600)
        events = time.perf_counter() - started
        sampling.set()
        sampler.join()
        if status != "SUCCEEDED":
            raise SystemExit(f"the array job ended {status}")
        return {"wall": wall, "events": events, "threads": float(max(threads) - threads[0]),
                "workers": float(aws.batch.peak_threads)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    modes = ("executor", "events", "queue")
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in ("bare", *modes)}
    for _ in range(args.repeat):
        runs["bare"].append(bare(args.size, args.cores))
        for mode in modes:
            with tempfile.TemporaryDirectory(prefix="bench-array-") as tmp:
                runs[mode].append(engine(args.size, args.cores, Path(tmp), mode))

    def med(case: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[case])

    print(f"{args.size} children running {' '.join(COMMAND)!r}, cores={args.cores}, "
          f"median of {args.repeat}")
    head = f"{'case':<44} {'wall s':>8} {'ms/child':>9} {'threads+':>9} {'ratio':>7}"
    print(head)
    print("-" * len(head))
    floor = med("bare", "wall")
    for label, case, key in (("bare processes (Popen)", "bare", "wall"),
                             ("executor, no events: parent finished", "executor", "wall"),
                             ("with events: parent finished", "events", "wall"),
                             ("with events: every event put", "events", "events"),
                             ("events to SQS: every event consumed", "queue", "events")):
        wall = med(case, key)
        print(f"{label:<44} {wall:>8.2f} {1000 * wall / args.size:>9.2f} "
              f"{med(case, 'threads'):>9.0f} {wall / floor:>7.2f}")
    print(f"engine worker threads at most: {max(med(m, 'workers') for m in modes):.0f}")


if __name__ == "__main__":
    main()
