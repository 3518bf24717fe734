"""Broken on purpose: dependency mistakes. Expected: broken_dag.txt."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("dag-errors", bucket="s3://orchestrator-demo/dag")
samples = wf.foreach("sample_id")

trim = wf.job(
    "trim", image=IMAGE, command=["trim", "{inputs.reads}", "{outputs.trimmed}"],
    inputs={"reads": "raw/{sample_id}.fq"}, outputs={"trimmed": "trimmed/{sample_id}.fq"},
    per=samples,
)
count = wf.job(
    "count", image=IMAGE, command=["count", "{inputs.reads}", "{outputs.counts}"],
    inputs={"reads": "trimmed/{sample_id}.fq"}, outputs={"counts": "counts/{sample_id}.tsv"},
    per=samples,
)
report = wf.job(
    "report", image=IMAGE, command=["cat", "{inputs.counts}"],
    inputs={"counts": "counts/{sample_id}.tsv"}, outputs={"all": "report/all.tsv"},
    stdout="all", after=["cuont", "summary"],
)
summary = wf.job(
    "summary", image=IMAGE, command=["head", "{inputs.all}"],
    inputs={"all": "report/all.tsv"}, outputs={"head": "report/head.tsv"},
    stdout="head", after=[report],
)
wf.job(
    "trim", image=IMAGE, command=["true"], outputs={"log": "logs/trim.txt"},
)
