"""`orchestrator doctor`: why a run's jobs wait or keep failing, and what to change.

Every rule is a small pure function ``Facts -> list[Finding]`` registered under an id; one
finding names one job (or one queue), the cause and the fix. ``diagnose`` runs them all and
folds findings that differ only in their job into one, so 500 samples stuck for one reason
read as one line. No I/O here: ``collect`` gathers the facts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.aws import capacity
from orchestrator.aws.facts import ComputeEnvironment, Facts, Job, Queue

# The reasons a job-state time-limit action can act on for jobs stuck in RUNNABLE on
# EC2/Fargate queues (JobStateTimeLimitAction in the Batch API reference).
TIME_LIMIT_REASONS = (
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
)
SUGGESTED_MAX_SECONDS = 3600  # allowed: 600 to 86,400
IMAGE_PULL_MARKERS = ("CannotPullContainerError", "CannotPullImageManifestError",
                      "ResourceInitializationError")
SPOT_MARKER = "Host EC2"
DEPENDENCY_MARKER = "dependent job"


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str  # the job (stage/sample or job name) or the queue the finding is about
    why: str
    fix: str
    job_id: str = ""


@dataclass(frozen=True)
class Diagnosis:
    """Findings folded per (rule, why, fix): ``subjects`` lists every job it applies to."""

    rule: str
    subjects: tuple[str, ...]
    job_ids: tuple[str, ...]
    why: str
    fix: str

    def as_json(self) -> dict[str, object]:
        return {"rule": self.rule, "subjects": list(self.subjects),
                "job_ids": [j for j in self.job_ids if j], "why": self.why, "fix": self.fix}


Rule = Callable[[Facts], list[Finding]]
RULES: dict[str, Rule] = {}


def rule(rule_id: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[rule_id] = fn
        return fn
    return register


def diagnose(facts: Facts, rules: dict[str, Rule] | None = None) -> list[Diagnosis]:
    folded: dict[tuple[str, str, str], list[Finding]] = {}
    for fn in (rules or RULES).values():
        for f in fn(facts):
            folded.setdefault((f.rule, f.why, f.fix), []).append(f)
    return [Diagnosis(rule, tuple(dict.fromkeys(f.subject for f in fs)),
                      tuple(dict.fromkeys(f.job_id for f in fs)), why, fix)
            for (rule, why, fix), fs in folded.items()]


# ---------------------------------------------------------------- helpers


def _runnable(facts: Facts) -> list[tuple[Job, Queue]]:
    """RUNNABLE jobs of the run with their queue (when Batch still describes both)."""
    out = []
    for job in facts.jobs:
        queue = facts.queue(job.queue) if job.queue else None
        if job.status == "RUNNABLE" and queue is not None:
            out.append((job, queue))
    return out


def _platform_envs(facts: Facts, job: Job, queue: Queue) -> tuple[ComputeEnvironment, ...]:
    """The queue's environments that can take this job's platform at all."""
    envs = facts.environments_of(queue)
    if job.platform == "FARGATE":
        return tuple(e for e in envs if e.fargate)
    return tuple(e for e in envs if not e.fargate)


def _size(job: Job) -> str:
    parts = [f"{job.vcpus:g} vCPU" if job.vcpus is not None else "",
             f"{job.memory_mib} MiB" if job.memory_mib is not None else "",
             f"{job.gpus} GPU" if job.gpus else ""]
    return " / ".join(p for p in parts if p)


def _finding(rule_id: str, job: Job, why: str, fix: str) -> Finding:
    return Finding(rule_id, job.title, why, fix, job.job_id)


# ---------------------------------------------------------------- rules


@rule("queue-disabled")
def queue_disabled(facts: Facts) -> list[Finding]:
    out = []
    for job in facts.jobs:
        queue = facts.queue(job.queue) if job.queue else None
        if queue is None or job.status not in {"SUBMITTED", "PENDING", "RUNNABLE"}:
            continue
        if queue.state == "DISABLED":
            out.append(_finding(
                "queue-disabled", job,
                f"job queue {queue.name} is DISABLED: jobs already in it can finish, but the "
                "run's next SubmitJob calls are refused",
                f"orchestrator batch queue enable {queue.name}"))
        elif queue.status == "INVALID":
            out.append(_finding(
                "queue-disabled", job,
                f"job queue {queue.name} is INVALID: {queue.status_reason or 'no reason given'}",
                "correct what the reason names (usually a compute environment of the queue), "
                "or recreate the queue: orchestrator batch queue create"))
    return out


def _env_state_rule(rule_id: str, bad: Callable[[ComputeEnvironment], bool],
                    why: Callable[[ComputeEnvironment], str],
                    fix: Callable[[ComputeEnvironment], str]) -> Rule:
    def check(facts: Facts) -> list[Finding]:
        out = []
        for job, queue in _runnable(facts):
            for env in facts.environments_of(queue):
                if bad(env):
                    out.append(_finding(rule_id, job, f"{why(env)} (queue {queue.name})",
                                        fix(env)))
        return out
    check.__name__ = rule_id.replace("-", "_")
    return rule(rule_id)(check)


_env_state_rule(
    "ce-disabled", lambda e: e.state == "DISABLED",
    lambda e: f"compute environment {e.name} is DISABLED: it starts no instances",
    lambda e: f"orchestrator batch ce enable {e.name}")
_env_state_rule(
    "ce-invalid", lambda e: e.status == "INVALID",
    lambda e: f"compute environment {e.name} is INVALID: {e.status_reason or 'no reason given'}",
    lambda e: "correct what the status reason names (service role, instance role, subnets, "
              f"security groups or launch template), or recreate it: orchestrator batch ce "
              f"delete {e.name}, then orchestrator batch ce create {e.name} ...")


@rule("platform-mismatch")
def platform_mismatch(facts: Facts) -> list[Finding]:
    out = []
    for job, queue in _runnable(facts):
        envs = facts.environments_of(queue)
        if not envs:
            continue
        if job.platform == "FARGATE" and not any(e.fargate for e in envs):
            out.append(_finding(
                "platform-mismatch", job,
                f"job definition {_short(job.definition)} is for FARGATE but queue {queue.name} "
                f"has only EC2/SPOT environments ({', '.join(e.name for e in envs)})",
                "submit to a queue with a FARGATE environment, or register the job definition "
                "with platformCapabilities EC2 (template parameter ComputeType=EC2 or SPOT)"))
        elif job.platform != "FARGATE" and all(e.fargate for e in envs):
            out.append(_finding(
                "platform-mismatch", job,
                f"job definition {_short(job.definition)} is for EC2 but queue {queue.name} has "
                f"only Fargate environments ({', '.join(e.name for e in envs)})",
                "submit to a queue with an EC2 or SPOT environment, or register the job "
                "definition with platformCapabilities FARGATE (template parameter "
                "ComputeType=FARGATE)"))
        elif job.platform != "FARGATE" and job.vcpus is not None and job.vcpus % 1:
            out.append(_finding(
                "platform-mismatch", job,
                f"the job asks for {job.vcpus:g} vCPU: EC2 jobs need whole vCPUs (fractions "
                "are Fargate-only)", "request 1 vCPU or more, in whole numbers"))
    return out


@rule("gpu-no-instances")
def gpu_no_instances(facts: Facts) -> list[Finding]:
    out = []
    for job, queue in _runnable(facts):
        envs = _platform_envs(facts, job, queue)
        if not job.gpus or not envs:
            continue
        reasons = []
        for env in envs:
            if env.fargate:
                reasons.append(f"{env.name} is Fargate, which has no GPUs")
                continue
            known, unknown = capacity.expand(env.instance_types)
            if unknown or any(t.gpus >= job.gpus for t in known):
                break  # this environment may place it (unknown types: see unknown-instance-type)
            most = max((t.gpus for t in known), default=0)
            reasons.append(f"{env.name} allows {', '.join(env.instance_types) or 'no types'} "
                           + (f"(at most {most} GPU per instance)" if most
                              else "(no GPU instance types)"))
        else:
            out.append(_finding(
                "gpu-no-instances", job,
                f"the job asks for {job.gpus} GPU but no environment of queue {queue.name} can "
                f"launch one: {'; '.join(reasons)}",
                "add GPU instance types (for example g5 or p3) to an EC2/SPOT environment of "
                "the queue, e.g. orchestrator batch ce create gpu --type EC2 --instance-types g5 "
                "..., then orchestrator batch queue create ... --ce gpu"))
    return out


def _fits_instance(job: Job, types: tuple[capacity.InstanceType, ...]) -> bool:
    vcpus, memory = job.vcpus or 0, job.memory_mib or 0
    return any(t.vcpus >= vcpus and t.memory_mib > memory for t in types)


@rule("too-large")
def too_large(facts: Facts) -> list[Finding]:
    out = []
    for job, queue in _runnable(facts):
        envs = _platform_envs(facts, job, queue)
        if not envs or (job.vcpus is None and job.memory_mib is None):
            continue
        reasons = []
        for env in envs:
            if env.max_vcpus is not None and (job.vcpus or 0) > env.max_vcpus:
                reasons.append(f"{env.name} has maxvCpus {env.max_vcpus}")
                continue
            if env.fargate or env.kind == "UNMANAGED":
                break  # Fargate sizes are the fargate-size rule's; unmanaged: unknowable
            known, unknown = capacity.expand(env.instance_types)
            if unknown or _fits_instance(job, known):
                break
            big_cpu = max(known, key=lambda t: (t.vcpus, t.memory_mib), default=None)
            big_mem = max(known, key=lambda t: (t.memory_mib, t.vcpus), default=None)
            largest = {t.name: t for t in (big_cpu, big_mem) if t is not None}
            reasons.append(f"{env.name}'s largest instances are " + ", ".join(
                f"{t.name} ({t.vcpus} vCPU, {t.memory_mib} MiB)" for t in largest.values()))
        else:
            out.append(_finding(
                "too-large", job,
                f"the job asks for {_size(job)}, more than any environment of queue "
                f"{queue.name} can give one job: {'; '.join(reasons)} (Batch also keeps some "
                "of each instance's memory for the ECS agent)",
                "lower the job's vcpus/memory, or allow larger instance types and raise "
                "maxvCpus on an environment of the queue"))
    return out


@rule("fargate-size")
def fargate_size(facts: Facts) -> list[Finding]:
    out = []
    for job, queue in _runnable(facts):
        if job.platform != "FARGATE" or job.vcpus is None or job.memory_mib is None:
            continue
        if not any(e.fargate for e in facts.environments_of(queue)):
            continue
        if not capacity.fargate_fits(job.vcpus, job.memory_mib):
            out.append(_finding(
                "fargate-size", job,
                f"{job.vcpus:g} vCPU with {job.memory_mib} MiB is not a Fargate size",
                f"pick a supported pair: {capacity.fargate_choices(job.vcpus)}"))
    return out


@rule("unknown-instance-type")
def unknown_instance_type(facts: Facts) -> list[Finding]:
    out = []
    for job, queue in _runnable(facts):
        for env in _platform_envs(facts, job, queue):
            if env.fargate or env.kind == "UNMANAGED":
                continue
            _, unknown = capacity.expand(env.instance_types)
            if unknown:
                out.append(_finding(
                    "unknown-instance-type", job,
                    f"instance type(s) {', '.join(unknown)} of {env.name} are not in "
                    "orchestrator's size table: could not check whether the job "
                    f"({_size(job) or 'size unknown'}) fits them",
                    "check their vCPU/memory/GPU yourself (aws ec2 describe-instance-types), "
                    "or add them to orchestrator/aws/capacity.py"))
    return out


def _unfinished(facts: Facts) -> list[Job]:
    """Jobs that have not succeeded: retries that ended well need no change."""
    return [j for j in facts.jobs if j.status != "SUCCEEDED"]


def _reasons(job: Job) -> list[str]:
    texts = [a.reasons for a in job.attempts]
    return [t for t in (*texts, job.status_reason) if t]


@rule("image-pull")
def image_pull(facts: Facts) -> list[Finding]:
    out = []
    for job in _unfinished(facts):
        hit = next((r for r in _reasons(job) if any(m in r for m in IMAGE_PULL_MARKERS)), None)
        if hit is not None:
            out.append(_finding(
                "image-pull", job, f"the container image could not be pulled: {_clip(hit)}",
                "check that the image name and tag exist; for a private ECR image the "
                "execution role (Fargate) or instance role (EC2) needs ecr:GetAuthorizationToken "
                "and ecr:BatchGetImage; a job in a private subnet needs a NAT gateway or ECR VPC "
                "endpoints (Fargate in a public subnet: AssignPublicIp ENABLED)"))
    return out


@rule("spot-reclaim")
def spot_reclaim(facts: Facts) -> list[Finding]:
    out = []
    for job in _unfinished(facts):
        hits = [a for a in job.attempts if a.status_reason.startswith(SPOT_MARKER)]
        if not hits and not job.status_reason.startswith(SPOT_MARKER):
            continue
        count = max(len(hits), 1)
        out.append(_finding(
            "spot-reclaim", job,
            f"{count} attempt(s) ended because EC2 reclaimed the Spot instance "
            f"({_clip(hits[0].status_reason if hits else job.status_reason)})",
            "retry on reclaims: a retry strategy with evaluateOnExit {onStatusReason: "
            "'Host EC2*', action: RETRY} and more attempts; or add an on-demand EC2 "
            "environment after the Spot one in the queue's order"))
    return out


@rule("failed-dependency")
def failed_dependency(facts: Facts) -> list[Finding]:
    out = []
    for job in facts.jobs:
        waiting = job.status in {"SUBMITTED", "PENDING"}
        failed_by_dep = (job.status == "FAILED"
                         and DEPENDENCY_MARKER in job.status_reason.lower())
        if not (waiting or failed_by_dep) or not job.depends_on:
            continue
        deps = [facts.job(d) for d in job.depends_on]
        failed = [d for d in deps if d is not None and d.status == "FAILED"]
        if failed:
            names = ", ".join(f"{d.title} ({d.job_id})" for d in failed)
            verb = "waits on" if waiting else "failed because of"
            out.append(_finding(
                "failed-dependency", job, f"the job {verb} failed dependency {names}",
                "fix the failed job first (orchestrator doctor explains it when it is in this "
                "run), then start the run again: finished stages are skipped"))
    return out


@rule("repeated-failure")
def repeated_failure(facts: Facts) -> list[Finding]:
    out = []
    for job in _unfinished(facts):
        failed = [a for a in job.attempts if a.exit_code not in (None, 0)
                  or (a.exit_code is None and a.reasons)]
        if len(failed) < 2 or any(
                any(m in a.reasons for m in IMAGE_PULL_MARKERS)
                or a.status_reason.startswith(SPOT_MARKER) for a in failed):
            continue
        codes = ", ".join(str(a.exit_code) for a in failed if a.exit_code is not None)
        oom = any("OutOfMemory" in a.reasons for a in failed)
        why = (f"{len(failed)} attempts failed" + (f" (exit codes {codes})" if codes else "")
               + (": the container ran out of memory" if oom else ""))
        fix = ("raise the job's memory (memory= in the workflow), then redeploy" if oom else
               "the command itself fails: read its log (orchestrator logs) and fix it; retrying "
               "will not help")
        out.append(_finding("repeated-failure", job, why, fix))
    return out


@rule("batch-status-reason")
def batch_status_reason(facts: Facts) -> list[Finding]:
    out = []
    for job, queue in _runnable(facts):
        reason = job.status_reason
        if reason.startswith("CAPACITY:"):
            out.append(_finding(
                "batch-status-reason", job, f"Batch says: {_clip(reason)}",
                f"EC2 has no capacity for the allowed instance types: allow more instance types "
                f"or subnets (Availability Zones), or add another environment to queue "
                f"{queue.name}"))
        elif reason.startswith("MISCONFIGURATION:"):
            out.append(_finding(
                "batch-status-reason", job, f"Batch says: {_clip(reason)}",
                "the job cannot be placed as configured: see the other findings for this job"))
    return out


@rule("time-limit")
def time_limit(facts: Facts) -> list[Finding]:
    waiting: dict[str, int] = {}
    for _, q in _runnable(facts):
        waiting[q.arn] = waiting.get(q.arn, 0) + 1
    out = []
    for arn, count in waiting.items():
        queue = facts.queue(arn)
        if queue is None:
            continue
        covered = {a.reason for a in queue.time_limit_actions if a.state == "RUNNABLE"}
        missing = [r for r in TIME_LIMIT_REASONS if r not in covered]
        if not missing:
            continue
        actions = [{"reason": r, "state": "RUNNABLE", "maxTimeSeconds": SUGGESTED_MAX_SECONDS,
                    "action": "CANCEL"} for r in TIME_LIMIT_REASONS]
        keep = [{"reason": a.reason, "state": a.state, "maxTimeSeconds": a.max_time_seconds,
                 "action": a.action} for a in queue.time_limit_actions
                if a.reason not in TIME_LIMIT_REASONS]
        out.append(Finding(
            "time-limit", f"queue {queue.name}",
            f"{count} job(s) of this run wait in RUNNABLE on queue {queue.name}, which has no "
            f"job state time-limit action for {', '.join(missing)}: a job that cannot be "
            "placed holds the head of the queue indefinitely",
            f"aws batch update-job-queue --job-queue {queue.name} "
            f"--job-state-time-limit-actions '{json.dumps(keep + actions, separators=(',', ':'))}' "
            f"(cancels such jobs after {SUGGESTED_MAX_SECONDS} s; allowed 600-86400)"))
    return out


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if arn else "(unknown)"


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
