"""Broken on purpose: arguments of the wrong shape, commands, folders, braces.
Expected: broken_arguments.txt."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

other = Workflow("other-workflow", bucket="s3://orchestrator-demo/other")
other_samples = other.foreach("sample_id")
elsewhere = other.job("elsewhere", image=IMAGE, command=["true"], outputs={"o": "o.txt"})

wf = Workflow("argument-errors", bucket="s3://orchestrator-demo/args")
samples = wf.foreach("sample_id")
alias = wf  # the same workflow under a second name: not a duplicate

trim = wf.job(
    "trim", image=IMAGE, command="trim --in {inputs.reads} --out {outputs.trimmed}",
    inputs="raw/{sample_id}.fq", outputs={"trimmed": "trimmed/{sample_id}/"}, per=samples,  # type: ignore[arg-type]
)
count = wf.job(
    "count", image=IMAGE, command=["count", "{inputs.reads}"],
    inputs={"reads": 42}, outputs={"counts": "counts/{sample_id}.tsv"}, after="trim",  # type: ignore[dict-item]
    per=other_samples, retry_exit_codes="137",
)
report = wf.job(
    "report", image=IMAGE, command=["sh", "-c", "echo ${HOME}"],
    outputs={"dir": "report", "table": "report/all.tsv"}, after=[elsewhere],
)
escaped = wf.job(
    "escaped", image=IMAGE, command=["awk '{{print $1}}' {inputs.t} > {outputs.o}"],
    shell=True, inputs={"t": "report/all.tsv"}, outputs={"o": "report/first.txt"},
    after=[report],
)
wf.on_upload("incoming/{sample}.fq.gz")
