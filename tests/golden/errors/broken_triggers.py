"""Broken on purpose: upload triggers the trigger Lambda would refuse or that overlap.
Expected: broken_triggers.txt."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("trigger-errors", bucket="s3://orchestrator-demo/triggers")
samples = wf.foreach("sample_id", columns=["lane"])
wf.on_upload("incoming/{lane}.fastq.gz")
wf.on_upload("incoming/{sample_id}.fastq.gz")
wf.on_upload("incoming/{sample_id}_{run}.fastq.gz")
wf.on_sample_sheet(prefix="sheets/")
wf.on_sample_sheet(prefix="sheets/", suffix="s.csv")
wf.on_upload("counts/{sample_id}.tsv")

count = wf.job(
    "count", image=IMAGE, command=["count", "{inputs.reads}", "{outputs.n}"],
    inputs={"reads": "incoming/{sample_id}.fastq.gz"}, outputs={"n": "counts/{sample_id}.tsv"},
    per=samples,
)

plain = Workflow("trigger-no-foreach", bucket="s3://orchestrator-demo/plain")
plain.on_sample_sheet(prefix="sheets/")
plain.job("once", image=IMAGE, command=["true"], outputs={"o": "o.txt"})
