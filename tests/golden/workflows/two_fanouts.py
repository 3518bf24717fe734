"""Two fan-out blocks: per-sample QC, a once-only calibration over every sample's QC,
then a second per-sample block that uses the calibration, then one merged report."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("two-fanouts", bucket="s3://orchestrator-golden/two-fanouts")
samples = wf.foreach("sample_id", columns=["batch"], max_concurrency=4)

qc = wf.job("qc", image=IMAGE, command=["qc", "{inputs.reads}", "{outputs.stats}"],
            inputs={"reads": "raw/{sample_id}.fq"}, outputs={"stats": "qc/{sample_id}.tsv"},
            per=samples)
calibrate = wf.job("calibrate", image=IMAGE,
                   command=["calibrate", "{inputs.stats}", "-o", "{outputs.model}"],
                   inputs={"stats": "qc/{sample_id}.tsv"}, outputs={"model": "cal/model.json"},
                   after=[qc])
quantify = wf.job("quantify", image=IMAGE,
                  command=["quantify", "{inputs.reads}", "{inputs.model}", "{outputs.counts}"],
                  inputs={"reads": "raw/{sample_id}.fq", "model": "cal/model.json"},
                  outputs={"counts": "counts/{batch}/{sample_id}.tsv"},
                  after=[calibrate], per=samples)
report = wf.job("report", image=IMAGE, command=["report", "{inputs.counts}"],
                inputs={"counts": "counts/{batch}/{sample_id}.tsv"},
                outputs={"html": "report/index.html"}, stdout="html", after=[quantify])
