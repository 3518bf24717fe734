"""Broken on purpose: resources AWS Batch would refuse. Expected: broken_resources.txt."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("resource-errors", bucket="s3://orchestrator-demo/resources")

wf.job("tiny", image=IMAGE, command=["true"], outputs={"o": "tiny.txt"},
       cpus=0.3, memory="2 MiB", timeout="30s")
wf.job("huge", image=IMAGE, command=["true"], outputs={"o": "huge.txt"},
       cpus=512, memory="lots", gpus=20, timeout="eventually")
wf.job("flaky", image=IMAGE, command=["true"], outputs={"o": "flaky.txt"},
       retries=12, retry_exit_codes=[1, 2, "13*", "oom"])
