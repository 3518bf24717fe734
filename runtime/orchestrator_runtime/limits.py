"""AWS limits the orchestrator relies on, each written once.

Standard library only: the runtime (Lambdas, job runner) and the orchestrator both read it.
Figures are the documented service quotas (see docs/architecture.md and the AWS quota pages);
sizes are in bytes unless the name says characters.
"""

from __future__ import annotations

from typing import Final

# Step Functions ---------------------------------------------------------------------------
STATE_NAME_CHARS: Final = 80  # a state's name (Amazon States Language)
STATE_MACHINE_NAME_CHARS: Final = 80  # CreateStateMachine name
EXECUTION_NAME_CHARS: Final = 80  # StartExecution name
# CreateStateMachine's definition: the API counts 1,048,576 characters and the quota says
# 1 MB; counting UTF-8 bytes satisfies both.
DEFINITION_BYTES: Final = 1024 * 1024
PAYLOAD_BYTES: Final = 256 * 1024  # input/output of an execution, a state or a task
HISTORY_EVENTS: Final = 25_000  # events in one execution's history; one more fails it
INLINE_MAP_CONCURRENCY: Final = 40  # an inline Map runs at most about 40 iterations at once
DISTRIBUTED_MAP_CONCURRENCY: Final = 10_000  # child executions of a Distributed Map at once

# Sample sheets: Python's csv module refuses longer fields by default (field_size_limit); a
# longer cell in a sample sheet is an unclosed quote, never a sample's value.
SHEET_CELL_CHARS: Final = 131_072

# AWS Batch --------------------------------------------------------------------------------
BATCH_NAME_CHARS: Final = 128  # job and job-definition names
BATCH_ATTEMPTS_MAX: Final = 10  # RetryStrategy attempts: 1 to 10
BATCH_RETRY_RULES_MAX: Final = 5  # evaluateOnExit rules of a RetryStrategy
BATCH_MIN_TIMEOUT_SECONDS: Final = 60  # attemptDurationSeconds
BATCH_MAX_VCPUS: Final = 256  # vCPUs of one container
BATCH_MIN_MEMORY_MIB: Final = 4  # memory of one container
BATCH_MAX_GPUS: Final = 16  # GPUs of one container
BATCH_ARRAY_MIN: Final = 2  # children of an array job: ArrayProperties.Size 2 to 10,000
BATCH_ARRAY_MAX: Final = 10_000
DESCRIBE_JOBS_IDS: Final = 100  # job ids per DescribeJobs call
FARGATE_VCPU_FRACTIONS: Final = (0.25, 0.5)  # the only fractional vCPU values (Fargate)
# RegisterJobDefinition's request (Batch user guide, "AWS Batch service quotas"): a job
# definition holds the job's spec (contracts.SPEC_PARAMETER), so this bounds a job's command,
# paths and environment.
BATCH_JOB_DEFINITION_BYTES: Final = 24 * 1024
# "Container Overrides length must be at most 8192" (ECS RunTask, which Batch calls).
CONTAINER_OVERRIDES_CHARS: Final = 8192

# EC2 --------------------------------------------------------------------------------------
EC2_MAX_MEMORY_MIB: Final = 24 * 1024 * 1024  # 24 TiB, the largest instance memory

# Tags, logs, ARNs, DynamoDB ----------------------------------------------------------------
TAG_KEY_CHARS: Final = 128  # a tag key (Batch, and AWS tagging in general)
TAG_VALUE_CHARS: Final = 256  # a tag value
LOG_STREAM_NAME_CHARS: Final = 512  # a CloudWatch Logs stream name
ARN_CHARS: Final = 1024  # the longest ARN the events may carry
# The parts of an ARN, at their longest: "arn:" partition ":" service ":" region ":" account
# ":" resource. Partitions: aws, aws-cn, aws-us-gov, aws-iso-b...; regions such as
# ap-southeast-5 or us-isob-east-1 (14); account ids are 12 digits.
ARN_PARTITION_CHARS: Final = 10
ARN_REGION_CHARS: Final = 14
ACCOUNT_ID_CHARS: Final = 12
LAMBDA_FUNCTION_NAME_CHARS: Final = 64  # FunctionName (unqualified)
BATCH_REVISION_DIGITS: Final = 10  # a job definition's revision (an int32)
DYNAMODB_PARTITION_KEY_BYTES: Final = 2048
DYNAMODB_SORT_KEY_BYTES: Final = 1024
DYNAMODB_ITEM_BYTES: Final = 400 * 1024  # one item, attribute names and values together

# Fargate: the memory (MiB) each vCPU size accepts (ECS task-size table): 0.25 -> 0.5/1/2 GiB;
# 0.5 -> 1-4 GiB; 1 -> 2-8 GiB; 2 -> 4-16 GiB and 4 -> 8-30 GiB in 1 GiB steps;
# 8 -> 16-60 GiB in 4 GiB steps; 16 -> 32-120 GiB in 8 GiB steps.
FARGATE_MEMORY_MIB: Final[dict[float, tuple[int, ...]]] = {
    0.25: (512, 1024, 2048),
    0.5: tuple(range(1024, 4097, 1024)),
    1.0: tuple(range(2048, 8193, 1024)),
    2.0: tuple(range(4096, 16385, 1024)),
    4.0: tuple(range(8192, 30721, 1024)),
    8.0: tuple(range(16384, 61441, 4096)),
    16.0: tuple(range(32768, 122881, 8192)),
}
