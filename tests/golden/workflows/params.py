"""Run-level parameters, with and without defaults, in commands, paths and environment."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("params", bucket="s3://orchestrator-golden/params")
wf.param("genome", default="GRCh38")
wf.param("threshold", default="0.05")
wf.param("run_label")

fetch = wf.job("fetch", image=IMAGE, command=["fetch", "{genome}", "{outputs.ref}"],
               outputs={"ref": "ref/{genome}.fa"})
call = wf.job("call", image=IMAGE,
              command=["call", "--ref", "{inputs.ref}", "--max-p", "{threshold}",
                       "-o", "{outputs.calls}"],
              inputs={"ref": "ref/{genome}.fa"}, outputs={"calls": "runs/{run_label}/calls.vcf"},
              env={"RUN_LABEL": "{run_label}"}, after=[fetch])
