"""Broken on purpose: placeholders, paths, commands. Expected: broken_placeholders.txt."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("placeholder-errors", bucket="s3://orchestrator-demo/placeholders")
samples = wf.foreach("sample_id", columns=["condition"])
wf.param("genome", default="GRCh38")

align = wf.job(
    "align", image=IMAGE,
    command=["align", "--ref", "{genom}", "{inputs.reeds}", "-o", "{outputs.bam}"],
    inputs={"reads": "raw/{sample_id}.fq"}, outputs={"bam": "bam/{condition}.bam"},
    per=samples,
)
wf.job(
    "stats", image=IMAGE, command=["stats {inputs.bam}", "{sample_id}"], shell=True,
    inputs={"bam": "bam/{condition}.bam"}, outputs={"table": "../stats.tsv"},
    stdout="log", after=[align],
)
wf.job(
    "index", image=IMAGE, command=["index", "{inputs.bam}"],
    inputs={"bam": "bam/{sample_id}.bam"},
    outputs={"bai": "s3://orchestrator-demo/placeholders/bam/{condition}.bam"},
    per=samples, after=[align],
)
wf.job("notify", image=IMAGE, command=["echo", "done"], after=[align])
