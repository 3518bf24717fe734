"""The two-stage per-sample workflow (a, b, then a merge over samples) that the fan-out
strategies' end-to-end tests run: its stages, as a template for a ``foreach`` line."""

from __future__ import annotations

STAGES = """
a = wf.job("a", image="img", command=[{a!r}], shell=True,
           inputs={{"x": "in/{{sample_id}}.txt"}}, outputs={{"y": "a/{{sample_id}}.txt"}},
           per=samples, timeout="5m")
b = wf.job("b", image="img", command=["cp {{inputs.y}} {{outputs.z}}"], shell=True,
           inputs={{"y": "a/{{sample_id}}.txt"}}, outputs={{"z": "b/{{sample_id}}.txt"}},
           per=samples, after=[a], timeout="5m")
wf.job("merge", image="img", command=["cat", "{{inputs.z}}"], stdout="all",
       inputs={{"z": "b/{{sample_id}}.txt"}}, outputs={{"all": "merged.txt"}}, after=[b],
       timeout="5m")
"""
COPY = "cp {inputs.x} {outputs.y}"
FAILING = ("if grep -q bad {inputs.x}; then echo '{sample_id} is bad' >&2; exit 3; fi; "
           "cp {inputs.x} {outputs.y}")
