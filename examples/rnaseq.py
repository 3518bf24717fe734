"""A small RNA-seq-style pipeline: per-sample QC, trimming and gene counting, then one report.

Runs for real on the reads in examples/data/rnaseq (three samples, a few hundred reads):

    orchestrator run examples/rnaseq.py --local --out results

Every tool is awk, gzip and sort, all present in `python:3.12-slim`, so the same workflow runs
on AWS Batch with that image and the job runner installed (see README: "The job runner").
"""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("rnaseq", bucket="s3://orchestrator-demo/rnaseq",
              description="Per-sample QC, trimming and counting, then a merged report")
samples = wf.foreach("sample_id", columns=["condition"], max_concurrency=8)
wf.on_upload("raw/{sample_id}.fastq.gz")
wf.on_sample_sheet(prefix="sheets/")

qc = wf.job(
    "qc",
    image=IMAGE,
    command=[
        "gzip -dc {inputs.reads} | awk -v s={sample_id} "
        "'NR%4==2 {n++; len+=length($0); gc+=gsub(/[GC]/,\"\")} "
        "END {printf \"sample\\treads\\tmean_length\\tgc_percent\\n%s\\t%d\\t%.1f\\t%.1f\\n\", "
        "s, n, len/n, 100*gc/len}' > {outputs.stats}"
    ],
    shell=True,
    inputs={"reads": "raw/{sample_id}.fastq.gz"},
    outputs={"stats": "qc/{sample_id}.tsv"},
    cpus=1, memory="2 GiB", retries=2, timeout="10m",
    per=samples,
)

trim = wf.job(
    "trim",
    image=IMAGE,
    command=[
        "gzip -dc {inputs.reads} | awk 'NR%4==1 {h=$0} NR%4==2 {s=substr($0,1,40)} "
        "NR%4==0 {if (s !~ /N/) print h\"\\n\"s\"\\n+\\n\"substr($0,1,40)}' "
        "| gzip -n > {outputs.trimmed}"
    ],
    shell=True,
    inputs={"reads": "raw/{sample_id}.fastq.gz"},
    outputs={"trimmed": "trimmed/{sample_id}.fastq.gz"},
    cpus=1, memory="2 GiB", retries=2, timeout="10m",
    per=samples,
)

count = wf.job(
    "count",
    image=IMAGE,
    command=[
        "gzip -dc {inputs.reads} | awk -v s={sample_id} -v c={condition} "
        "'NR==FNR {bc[$2]=$1; next} FNR%4==2 {k=substr($0,9,10); if (k in bc) n[bc[k]]++} "
        "END {for (g in n) print s\"\\t\"c\"\\t\"g\"\\t\"n[g]}' {inputs.genes} - "
        "| sort > {outputs.counts}"
    ],
    shell=True,
    inputs={"reads": "trimmed/{sample_id}.fastq.gz", "genes": "reference/genes.tsv"},
    outputs={"counts": "counts/{sample_id}.tsv"},
    cpus=1, memory="2 GiB", retries=2, timeout="10m",
    after=[trim],
    per=samples,
)

report = wf.job(
    "report",
    image=IMAGE,
    command=[
        "(printf 'sample\\tcondition\\tgene\\tcount\\n'; cat {inputs.counts}) > {outputs.counts};"
        " (printf 'sample\\treads\\tmean_length\\tgc_percent\\n';"
        " for f in {inputs.qc}; do tail -n +2 \"$f\"; done) > {outputs.qc}"
    ],
    shell=True,
    inputs={"counts": "counts/{sample_id}.tsv", "qc": "qc/{sample_id}.tsv"},
    outputs={"counts": "report/counts.tsv", "qc": "report/qc.tsv"},
    cpus=1, memory="2 GiB", retries=1, timeout="10m",
    after=[qc, count],
)
