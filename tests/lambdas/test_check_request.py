"""The check function's request model: the one validator of the events it receives.

One test per rule, each through the parser the handler uses, each asserting the one-line
message names the stage and field. The runtime behind it takes the typed value as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, get_args

import pytest
from stagekit import job, request

from orchestrator_lambdas.check_outputs import app as check_app
from orchestrator_runtime import actions, contracts
from orchestrator_runtime.resolve import BadCheckRequest

if TYPE_CHECKING:
    from conftest import FakeLambdaContext


def rejected(event: Any) -> str:
    with pytest.raises(BadCheckRequest) as caught:
        check_app.parse_request(event)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_request_must_be_an_object() -> None:
    assert rejected(["pre"]) == "a CheckRequest must be a JSON object, got list"


def test_the_action_must_be_a_contract_action() -> None:
    message = rejected(request("verify"))

    assert message.startswith("stage qc: CheckRequest.action:")
    assert all(f"'{a}'" in message for a in get_args(contracts.Action))


@pytest.mark.parametrize("action", ["pre", "post"])
@pytest.mark.parametrize("field", ["workflow", "stage", "execution", "job"])
def test_a_stage_check_needs_its_fields(action: str, field: str) -> None:
    event = request(action)
    del event[field]

    assert f"action '{action}' needs {field}" in rejected(event)


def test_a_summary_needs_the_map_results() -> None:
    event = {"action": "summarize", "workflow": "rnaseq", "block": "per_sample"}

    assert rejected(event) == ("CheckRequest: action 'summarize' needs results (a Map block), "
                               "stages and sheet (an array block) or written (a map block)")


def test_a_missing_job_field_is_named() -> None:
    spec: dict[str, Any] = dict(job())
    del spec["image"]

    assert rejected(request(spec=spec)) == "stage qc: CheckRequest.job.image: Field required"


@pytest.mark.parametrize(("field", "value"), [
    ("command", "count reads"), ("shell", "yes"), ("allow_empty", 1), ("environment", {"A": 1}),
])
def test_a_job_field_of_the_wrong_type_is_named(field: str, value: Any) -> None:
    message = rejected(request(spec=job(**{field: value})))

    assert message.startswith(f"stage qc: CheckRequest.job.{field}")


def test_the_command_is_not_empty() -> None:
    assert "CheckRequest.job.command: List should have at least 1 item" in rejected(
        request(spec=job(command=[])))


def test_a_shell_command_is_one_string() -> None:
    message = rejected(request(spec=job(shell=True, command=["count", "{inputs.reads}"])))

    assert message == ("stage qc: CheckRequest.job: command has 2 entries but shell is true; "
                       "a shell command is a single string")


def test_stdout_names_an_output() -> None:
    message = rejected(request(spec=job(stdout="log")))

    assert message == ("stage qc: CheckRequest.job: stdout names 'log', which is not an output "
                       "(outputs: stats)")


def test_a_valid_request_passes_with_every_action() -> None:
    for action in get_args(contracts.Action):
        event = request(action, error={"Error": "X", "Cause": "y"}, results=[],
                        sheet="s3://b/sheet.jsonl", plan={"count": 0})
        assert check_app.parse_request(event).action == action


def test_the_actions_have_one_owner() -> None:
    assert check_app.CheckRequestModel.model_fields["action"].annotation is contracts.Action
    assert set(check_app.REQUIRED) == set(get_args(contracts.Action))


def test_the_handler_passes_the_parsed_request_on(
    aws: None, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[contracts.CheckRequest] = []

    def handle(req: contracts.CheckRequest, **_: Any) -> contracts.ExplainResponse:
        seen.append(req)
        return contracts.ExplainResponse(error="X", cause="y")

    monkeypatch.setattr(actions, "handle", handle)
    event = request("explain", error={"Error": "X", "Cause": "y"}, unknown_key="dropped")

    check_app.handler(event, lambda_context)

    [typed] = seen
    assert "unknown_key" not in typed  # the model's value, not the raw event
    assert typed["job"] == job() and typed["action"] == "explain"
