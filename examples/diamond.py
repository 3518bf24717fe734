"""A diamond-shaped DAG without fan-out: split a text, analyse both halves, combine.

    orchestrator run examples/diamond.py --local --out results
"""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("diamond", bucket="s3://orchestrator-demo/diamond",
              description="prepare -> (words, letters) -> combine")
wf.param("top", default="5")

prepare = wf.job(
    "prepare",
    image=IMAGE,
    command=["tr -cs 'A-Za-z' '\\n' < {inputs.text} | tr 'A-Z' 'a-z' | grep . > {outputs.words}"],
    shell=True,
    inputs={"text": "input/text.txt"},
    outputs={"words": "work/words.txt"},
    timeout="5m",
)
words = wf.job(
    "words",
    image=IMAGE,
    command=["sort {inputs.words} | uniq -c | sort -k1,1nr -k2 | head -n {top} > {outputs.top}"],
    shell=True,
    inputs={"words": "work/words.txt"},
    outputs={"top": "work/top_words.txt"},
    timeout="5m",
    after=[prepare],
)
letters = wf.job(
    "letters",
    image=IMAGE,
    command=["fold -w1 {inputs.words} | sort | uniq -c | sort -k1,1nr -k2 > {outputs.letters}"],
    shell=True,
    inputs={"words": "work/words.txt"},
    outputs={"letters": "work/letters.txt"},
    timeout="5m",
    after=[prepare],
)
combine = wf.job(
    "combine",
    image=IMAGE,
    command=["cat", "{inputs.top}", "{inputs.letters}"],
    inputs={"top": "work/top_words.txt", "letters": "work/letters.txt"},
    outputs={"report": "report/summary.txt"},
    stdout="report",
    timeout="5m",
    after=[words, letters],
)
