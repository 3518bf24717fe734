"""Both trigger kinds: a run per uploaded FASTQ file, and a run per uploaded sample sheet."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("triggers", bucket="s3://orchestrator-golden/triggers")
samples = wf.foreach("sample_id")
wf.on_upload("incoming/{sample_id}.fastq.gz")
wf.on_sample_sheet(prefix="sheets/")

count = wf.job("count", image=IMAGE, command=["count", "{inputs.reads}", "{outputs.n}"],
               inputs={"reads": "incoming/{sample_id}.fastq.gz"},
               outputs={"n": "counts/{sample_id}.txt"}, per=samples)
