"""What the generated template gives a deployer: one resource set per workflow, wired right."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from templatekit import (
    ROOT,
    definitions,
    examples,
    generate,
    resources,
    statements,
    text,
    with_job,
)

from orchestrator import model
from orchestrator.template import TemplateError, build_template, substitution_keys
from orchestrator_runtime import contracts as c
from orchestrator_runtime import triggers


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return generate(examples())


def workflow(name: str) -> model.Workflow:
    return next(wf for wf in examples() if wf.name == name)


def test_one_standard_state_machine_per_workflow(doc: dict[str, Any]) -> None:
    machines = resources(doc, "AWS::Serverless::StateMachine")
    assert sorted(m["Properties"]["Tags"][c.TAG_WORKFLOW] for m in machines.values()) == [
        "diamond", "rnaseq"]
    for m in machines.values():
        p = m["Properties"]
        assert "Name" not in p  # a fixed name would keep a second stack from deploying
        assert p["Type"] == "STANDARD"  # .sync integrations need it
        assert p["DefinitionUri"] == f"state_machines/{p['Tags'][c.TAG_WORKFLOW]}.asl.json"
        assert p["Tracing"] == {"Enabled": True}
        assert p["Logging"]["IncludeExecutionData"] is True
        assert "Fn::GetAtt" in p["Role"]


def test_every_placeholder_of_a_definition_is_substituted(doc: dict[str, Any]) -> None:
    defs = definitions(examples())
    job_defs = resources(doc, "AWS::Batch::JobDefinition")
    for m in resources(doc, "AWS::Serverless::StateMachine").values():
        name = m["Properties"]["Tags"][c.TAG_WORKFLOW]
        subs = m["Properties"]["DefinitionSubstitutions"]
        assert sorted(subs) == substitution_keys(defs[name])
        for job in workflow(name).jobs:
            target = subs[c.substitution_key("JobDefinition", job.name)]["Ref"]
            assert job_defs[target]["Properties"]["JobDefinitionName"] == f"{name}-{job.name}"


def test_an_unknown_placeholder_is_refused_by_name() -> None:
    wf = workflow("diamond")
    definition = definitions((wf,))["diamond"]
    definition["States"]["Read input"]["Parameters"]["oops"] = "${MysteryArn}"
    with pytest.raises(TemplateError, match=r"diamond.*\$\{MysteryArn\}"):
        build_template([wf], {"diamond": definition})


def test_job_definition_carries_the_jobs_resources_retries_and_timeout(
        doc: dict[str, Any]) -> None:
    qc = doc["Resources"]["RnaseqQcJobDefinition"]["Properties"]
    container = qc["ContainerProperties"]
    assert container["Image"] == workflow("rnaseq").job("qc").image
    assert container["Command"] == ["orchestrator-runner"]
    assert container["ResourceRequirements"] == [{"Type": "VCPU", "Value": "1"},
                                                 {"Type": "MEMORY", "Value": "2048"}]
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert qc["Timeout"] == {"AttemptDurationSeconds": 600}
    assert qc["PropagateTags"] is True
    strategy = qc["RetryStrategy"]
    assert strategy["Attempts"] == 6  # retries=2: 3 for the command, 3 for the infrastructure
    assert {"Name": "ORCH_ATTEMPTS", "Value": "3"} in container["Environment"]
    assert strategy["EvaluateOnExit"][0] == {"OnStatusReason": "Host EC2*", "Action": "RETRY"}
    assert strategy["EvaluateOnExit"][-1] == {"OnReason": "*", "Action": "EXIT"}


def test_job_definition_retry_strategy_is_the_one_the_state_machine_submits(
        doc: dict[str, Any]) -> None:
    wf = with_job(workflow("diamond"), "words", retries=4, retry_exit_codes=("137", "14*"))
    tpl = json.loads(json.dumps(build_template([wf], definitions((wf,)))))
    rules = tpl["Resources"]["DiamondWordsJobDefinition"]["Properties"]["RetryStrategy"]
    submitted = definitions((wf,))["diamond"]
    runs = [s for s in _states(submitted) if "JobDefinition.$" in s.get("Parameters", {})]
    # the Batch tasks override nothing the job definition says: its strategy is the one
    assert runs and not any({"RetryStrategy", "Timeout", "ContainerOverrides"}
                            & set(r["Parameters"]) for r in runs)
    assert rules["Attempts"] == 8  # 5 for the command (the runner keeps count), 3 in reserve
    # the job's codes travel to the runner, which matches them; Batch retries only its code
    assert {"OnExitCode": "199", "Action": "RETRY"} in rules["EvaluateOnExit"]
    env = tpl["Resources"]["DiamondWordsJobDefinition"]["Properties"]["ContainerProperties"][
        "Environment"]
    assert {"Name": "ORCH_RETRY_EXIT_CODES", "Value": "137,14*"} in env


def test_job_definition_holds_the_stage_spec_the_state_machine_names(
        doc: dict[str, Any]) -> None:
    wf = workflow("rnaseq")
    props = doc["Resources"]["RnaseqQcJobDefinition"]["Properties"]
    spec = json.loads(props["Parameters"][c.SPEC_PARAMETER])
    assert spec["job"]["command"] == list(wf.job("qc").command)
    assert props["Tags"][c.TAG_SPEC] == c.spec_digest(spec)
    plans = [s for s in _states(definitions((wf,))["rnaseq"])
             if s.get("Parameters", {}).get("Payload", {}).get("job_definition")
             == "${JobDefinitionQc}"]
    assert plans and all(p["Parameters"]["Payload"]["spec"] == props["Tags"][c.TAG_SPEC]
                         for p in plans)
    env = doc["Resources"]["CheckOutputsFunction"]["Properties"]["Environment"]["Variables"]
    assert c.JOB_QUEUE_ENV in env  # where the submissions it prepares go


def test_attempts_never_exceed_what_batch_allows() -> None:
    wf = with_job(workflow("diamond"), "words", retries=9)
    tpl = json.loads(json.dumps(build_template([wf], definitions((wf,)))))
    rules = tpl["Resources"]["DiamondWordsJobDefinition"]["Properties"]["RetryStrategy"]
    assert rules["Attempts"] == 10  # the command's 10; no reserve left
    assert len(rules["EvaluateOnExit"]) <= 5  # Batch's maximum, whatever the job asks


def _states(doc: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(doc, dict):
        if "Type" in doc and isinstance(doc.get("Type"), str):
            found.append(doc)
        for v in doc.values():
            found += _states(v)
    elif isinstance(doc, list):
        for v in doc:
            found += _states(v)
    return found


@pytest.mark.parametrize("change", [{"command": ("echo", "changed")},
                                    {"image": "public.ecr.aws/docker/library/alpine:3"},
                                    {"memory": "3 GiB"}], ids=["command", "image", "memory"])
def test_changing_one_job_changes_only_its_job_definition(change: dict[str, Any]) -> None:
    before = generate(examples())
    changed = tuple(with_job(wf, "qc", **change) if wf.name == "rnaseq" else wf
                    for wf in examples())
    after = generate(changed)
    differ = sorted(k for k in before["Resources"]
                    if before["Resources"][k] != after["Resources"].get(k))
    assert differ == ["RnaseqQcJobDefinition"]
    assert set(before["Resources"]) == set(after["Resources"])


def test_state_machine_may_submit_only_its_own_job_definitions(doc: dict[str, Any]) -> None:
    role = doc["Resources"]["RnaseqStateMachineRole"]
    submit = next(s for s in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
                  if s["Action"] == ["batch:SubmitJob"])
    subs = [r["Fn::Sub"] for r in submit["Resource"] if "Fn::Sub" in r]
    defs = sorted(s.rsplit("job-definition/", 1)[1] for s in subs if "job-definition/" in s)
    jobs = [j.name for j in workflow("rnaseq").jobs]
    assert defs == sorted([f"rnaseq-{j}" for j in jobs] + [f"rnaseq-{j}:*" for j in jobs])
    queue = next(r for r in submit["Resource"] if "Fn::If" in r)
    assert queue == {"Fn::If": ["UseExistingQueue", {"Ref": "JobQueueArn"},
                                {"Ref": "JobQueue"}]}


def test_state_machine_role_has_what_batch_sync_needs(doc: dict[str, Any]) -> None:
    actions = {a for rid, s in statements(doc) if rid == "DiamondStateMachineRole"
               for a in s["Action"]}
    assert {"batch:SubmitJob", "batch:DescribeJobs", "batch:TerminateJob", "events:PutTargets",
            "events:PutRule", "events:DescribeRule", "lambda:InvokeFunction"} <= actions
    rule = next(s for rid, s in statements(doc) if rid == "DiamondStateMachineRole"
                and "events:PutRule" in s["Action"])
    assert rule["Resource"][0]["Fn::Sub"].endswith(":rule/StepFunctionsGetEventsForBatchJobsRule")


STAR_ALLOWED = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                "xray:GetSamplingTargets", "batch:DescribeJobs", "batch:DescribeJobDefinitions",
                "ecr:GetAuthorizationToken",
                "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries",
                "logs:PutResourcePolicy", "logs:UpdateLogDelivery"}


def test_no_wildcard_actions_and_star_resources_only_where_aws_requires(
        doc: dict[str, Any]) -> None:
    for rid, s in statements(doc):
        assert all("*" not in a for a in s["Action"]), (rid, s["Action"])
        if s["Resource"] == "*":
            assert set(s["Action"]) <= STAR_ALLOWED, (rid, s["Action"])


def test_every_star_resource_is_explained_by_a_comment_above_it() -> None:
    lines = text(examples()).splitlines()
    stars = [i for i, line in enumerate(lines) if line.strip() == 'Resource: "*"']
    assert stars
    for i in stars:
        start = next(j for j in range(i, 0, -1) if lines[j].lstrip().startswith("- Effect:"))
        assert lines[start - 1].lstrip().startswith("#"), lines[start - 3:i + 1]


def test_job_role_reads_and_writes_only_its_workflow_prefix_and_absolute_paths() -> None:
    wf = with_job(workflow("diamond"), "prepare", inputs={"text": "s3://refs/books/{top}.txt"})
    tpl = json.loads(json.dumps(build_template([wf], definitions((wf,)))))
    stmts = [s for rid, s in statements(tpl) if rid == "DiamondJobRole"]
    reads = next(s for s in stmts if s["Action"] == ["s3:GetObject"])["Resource"]
    writes = next(s for s in stmts if "s3:PutObject" in s["Action"])["Resource"]
    assert [r["Fn::Sub"] for r in reads] == [
        "arn:${AWS::Partition}:s3:::${DataBucketName}/diamond/*",
        "arn:${AWS::Partition}:s3:::refs/books/*"]
    assert [r["Fn::Sub"] for r in writes] == [
        "arn:${AWS::Partition}:s3:::${DataBucketName}/diamond/*"]


def test_check_function_writes_only_task_documents(doc: dict[str, Any]) -> None:
    puts = [s for rid, s in statements(doc) if rid == "CheckOutputsRole"
            and "s3:PutObject" in s["Action"]]
    assert [r["Fn::Sub"] for s in puts for r in s["Resource"]] == [
        f"arn:${{AWS::Partition}}:s3:::${{DataBucketName}}/{w}/_orchestrator/tasks/*"
        for w in ("diamond", "rnaseq")]


def test_job_events_reads_only_array_plans(doc: dict[str, Any]) -> None:
    s3 = [s for rid, s in statements(doc) if rid == "JobEventsRole"
          and any(a.startswith("s3:") for a in s["Action"])]
    [get] = [s for s in s3 if s["Action"] == ["s3:GetObject"]]
    assert [r["Fn::Sub"] for r in get["Resource"]] == [
        f"arn:${{AWS::Partition}}:s3:::${{DataBucketName}}/{w}/_orchestrator/tasks/*/"
        f"{c.ARRAY_PLAN}/*" for w in ("diamond", "rnaseq")]
    plan = c.plan_prefix("s3://b/rnaseq", "rnaseq-run-1", "align")
    assert plan.startswith("s3://b/rnaseq/_orchestrator/tasks/") and f"/{c.ARRAY_PLAN}/" in plan
    assert {a for s in s3 for a in s["Action"]} == {"s3:GetObject", "s3:ListBucket"}


def test_workflows_on_different_buckets_are_refused() -> None:
    a, b = examples()
    b = dataclasses.replace(b, bucket="s3://other-bucket/x")
    with pytest.raises(TemplateError, match=r"different buckets.*other-bucket"):
        build_template([a, b], definitions((a, b)))


def test_trigger_variable_is_what_the_trigger_function_accepts(doc: dict[str, Any]) -> None:
    env = doc["Resources"]["S3TriggerFunction"]["Properties"]["Environment"]["Variables"]
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:rnaseq"
    raw = env["TRIGGERS"]["Fn::Sub"].replace("${RnaseqStateMachine}", arn)
    assert "${" not in raw
    parsed = triggers.parse_triggers(raw)
    assert [(t["kind"], t["workflow"], t["state_machine_arn"]) for t in parsed] == [
        ("key", "rnaseq", arn), ("sheet", "rnaseq", arn)]
    assert parsed[0]["pattern"] == "raw/{sample_id}.fastq.gz"
    assert parsed[1]["bucket"] == "s3://orchestrator-demo/rnaseq"


def test_upload_rule_matches_only_the_trigger_prefixes(doc: dict[str, Any]) -> None:
    pattern = doc["Resources"]["UploadRule"]["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": "DataBucketName"}]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "rnaseq/raw/"},
                                                  {"prefix": "rnaseq/sheets/"}]


def test_no_trigger_no_upload_rule() -> None:
    wf = workflow("diamond")
    tpl = build_template([wf], definitions((wf,)))
    assert "UploadRule" not in tpl["Resources"]
    env = tpl["Resources"]["S3TriggerFunction"]["Properties"]["Environment"]["Variables"]
    assert json.loads(env["TRIGGERS"]["Fn::Sub"]) == []


def test_batch_events_reach_job_events_through_a_queue_with_a_dead_letter_queue(
        doc: dict[str, Any]) -> None:
    r = doc["Resources"]
    rule = r["BatchJobStateRule"]["Properties"]
    assert rule["EventPattern"]["detail-type"] == ["Batch Job State Change"]
    assert rule["EventPattern"]["detail"]["jobQueue"] == [
        {"Fn::If": ["UseExistingQueue", {"Ref": "JobQueueArn"}, {"Ref": "JobQueue"}]}]
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["JobEventsQueue", "Arn"]}
    redrive = r["JobEventsQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["JobEventsDeadLetterQueue", "Arn"]}
    source = r["JobEventsFunction"]["Properties"]["Events"]["BatchJobStates"]
    assert source["Type"] == "SQS"
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_execution_events_of_this_stacks_machines_reach_job_events(doc: dict[str, Any]) -> None:
    rule = doc["Resources"]["ExecutionStatusRule"]["Properties"]
    assert rule["EventPattern"]["source"] == ["aws.states"]
    assert rule["EventPattern"]["detail"]["stateMachineArn"] == [
        {"Ref": "DiamondStateMachine"}, {"Ref": "RnaseqStateMachine"}]
    permission = doc["Resources"]["JobEventsInvokePermission"]["Properties"]
    assert permission["SourceArn"] == {"Fn::GetAtt": ["ExecutionStatusRule", "Arn"]}


def test_table_matches_the_job_state_contract(doc: dict[str, Any]) -> None:
    p = doc["Resources"]["JobStateTable"]["Properties"]
    assert p["KeySchema"] == [{"AttributeName": c.TABLE_PK, "KeyType": "HASH"},
                              {"AttributeName": c.TABLE_SK, "KeyType": "RANGE"}]
    assert {a["AttributeType"] for a in p["AttributeDefinitions"]} == {"S"}
    assert p["TimeToLiveSpecification"] == {"AttributeName": c.TTL_ATTRIBUTE, "Enabled": True}
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_functions_point_at_handlers_that_exist(doc: dict[str, Any]) -> None:
    g = doc["Globals"]["Function"]
    module, _, attr = g["Handler"].partition(".")
    assert g["Runtime"] == "python3.11"
    functions = resources(doc, "AWS::Serverless::Function")
    assert len(functions) == 3
    for f in functions.values():
        source = (ROOT / f["Properties"]["CodeUri"] / f"{module}.py").read_text()
        assert re.search(rf"^def {attr}\(", source, re.MULTILINE)
    layer = doc["Resources"]["RuntimeLayer"]
    assert (ROOT / layer["Properties"]["ContentUri"] / "requirements.txt").is_file()
    assert layer["Metadata"]["BuildMethod"] == "makefile"  # see test_layer_build.py
    assert (ROOT / layer["Properties"]["ContentUri"] / "Makefile").is_file()


def test_gpu_jobs_make_fargate_a_refused_parameter() -> None:
    wf = with_job(workflow("diamond"), "words", gpus=1)
    rules = build_template([wf], definitions((wf,)))["Rules"]
    assert "diamond/words" in rules["GpuJobsNeedEc2"]["Assertions"][0]["AssertDescription"]
    assert "GpuJobsNeedEc2" not in build_template(
        [workflow("diamond")], definitions((workflow("diamond"),)))["Rules"]


@pytest.mark.parametrize("cpus,memory", [(1, 1024), (1, 9216), (0.25, 1536), (2, 3072),
                                         (8, 17408), (3, 4096)])
def test_sizes_fargate_refuses_make_fargate_a_refused_parameter(cpus: float,
                                                               memory: int) -> None:
    wf = with_job(workflow("diamond"), "words", cpus=cpus, memory=memory)
    rules = build_template([wf], definitions((wf,)))["Rules"]
    [assertion] = rules["JobSizesFitFargate"]["Assertions"]
    assert "diamond/words" in assertion["AssertDescription"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Contains": [
        ["FARGATE", "FARGATE_SPOT"], {"Ref": "ComputeType"}]}]}


def test_fractional_cpus_make_ec2_a_refused_parameter() -> None:
    wf = with_job(workflow("diamond"), "words", cpus=0.5, memory=2048)
    rules = build_template([wf], definitions((wf,)))["Rules"]
    assert "JobSizesFitFargate" not in rules
    [assertion] = rules["FractionalCpusNeedFargate"]["Assertions"]
    assert "diamond/words" in assertion["AssertDescription"]


def test_the_examples_fit_fargate() -> None:
    wfs = [workflow("diamond"), workflow("rnaseq")]
    rules = build_template(wfs, definitions(tuple(wfs)))["Rules"]
    assert "JobSizesFitFargate" not in rules and "FractionalCpusNeedFargate" not in rules


def test_job_roles_may_abort_their_multipart_uploads(doc: dict[str, Any]) -> None:
    job_roles = [rid for rid in resources(doc, "AWS::IAM::Role") if rid.endswith("JobRole")]
    assert len(job_roles) == 2
    for rid in job_roles:
        [put] = [s for r, s in statements(doc) if r == rid and "s3:PutObject" in s["Action"]]
        assert put["Action"] == ["s3:AbortMultipartUpload", "s3:PutObject"]


def test_list_bucket_is_scoped_to_the_prefixes_each_role_reads(doc: dict[str, Any]) -> None:
    lists = {rid: s for rid, s in statements(doc) if s["Action"] == ["s3:ListBucket"]}
    assert set(lists) == {"CheckOutputsRole", "DiamondJobRole", "JobEventsRole",
                          "RnaseqJobRole", "S3TriggerRole"}, sorted(lists)
    prefixes = {rid: s["Condition"]["StringLikeIfExists"]["s3:prefix"]
                for rid, s in lists.items()}
    assert prefixes == {"CheckOutputsRole": ["diamond/*", "rnaseq/*"],
                        "DiamondJobRole": ["diamond/*"], "RnaseqJobRole": ["rnaseq/*"],
                        "JobEventsRole": [f"{w}/_orchestrator/tasks/*/_array/*"
                                          for w in ("diamond", "rnaseq")],
                        "S3TriggerRole": ["rnaseq/sheets/*"]}


@pytest.mark.parametrize("value,ok", [
    ("", True),
    ("arn:aws:batch:us-east-1:123456789012:job-queue/my-queue", True),
    ("arn:aws-cn:batch:cn-north-1:123456789012:job-queue/q_1", True),
    ("arn:aws-us-gov:batch:us-gov-west-1:123456789012:job-queue/q", True),
    ("my-queue", False),
    ("arn:aws:batch:us-east-1:123456789012:compute-environment/ce", False),
    ("arn:aws:batch:us-east-1:12345:job-queue/q", False),
    (" arn:aws:batch:us-east-1:123456789012:job-queue/q", False),
])
def test_job_queue_parameter_accepts_only_queue_arns(doc: dict[str, Any], value: str,
                                                     ok: bool) -> None:
    pattern = doc["Parameters"]["JobQueueArn"]["AllowedPattern"]
    # CloudFormation matches the whole value against the pattern
    assert (re.fullmatch(pattern, value) is not None) is ok


def test_a_kms_key_parameter_grants_its_use_to_every_role_touching_data(
        doc: dict[str, Any]) -> None:
    param = doc["Parameters"]["DataKmsKeyArn"]
    assert param["Default"] == ""
    assert re.fullmatch(param["AllowedPattern"],
                        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    assert re.fullmatch(param["AllowedPattern"], "alias/my-key") is None
    assert doc["Conditions"]["UseDataKmsKey"] == {"Fn::Not": [{"Fn::Equals": [
        {"Ref": "DataKmsKeyArn"}, ""]}]}
    kms = {rid: s for rid, s in statements(doc, conditional=True)
           if any(a.startswith("kms:") for a in s["Action"])}
    assert {rid: kms[rid]["Action"] for rid in kms} == {
        "CheckOutputsRole": ["kms:Decrypt", "kms:GenerateDataKey"],
        "DiamondJobRole": ["kms:Decrypt", "kms:GenerateDataKey"],
        "RnaseqJobRole": ["kms:Decrypt", "kms:GenerateDataKey"],
        "JobEventsRole": ["kms:Decrypt"],
        "S3TriggerRole": ["kms:Decrypt"]}
    assert all(s["Resource"] == {"Ref": "DataKmsKeyArn"} for s in kms.values())


def test_gpu_jobs_get_gpu_instance_types_in_a_created_environment(doc: dict[str, Any]) -> None:
    def types(tpl: dict[str, Any]) -> Any:
        props = tpl["Resources"]["ComputeEnvironment"]["Properties"]["ComputeResources"]
        return props["InstanceTypes"]["Fn::If"][2]

    assert types(doc) == ["optimal"]  # the examples ask for no GPU
    wf = with_job(workflow("diamond"), "words", gpus=1)
    gpu = json.loads(json.dumps(build_template([wf], definitions((wf,)))))
    assert types(gpu)[0] == "optimal" and {"g4dn", "g5", "p3"} <= set(types(gpu))


def test_no_resource_name_is_fixed_across_stacks(doc: dict[str, Any]) -> None:
    """Two stacks of the same workflows in one account and region must both deploy: every
    name that must be unique there depends on the stack (or is left to CloudFormation)."""
    unique_names = {"AWS::Serverless::StateMachine": "Name", "AWS::Logs::LogGroup": "LogGroupName",
                    "AWS::Serverless::Function": "FunctionName", "AWS::IAM::Role": "RoleName",
                    "AWS::DynamoDB::Table": "TableName", "AWS::SQS::Queue": "QueueName",
                    "AWS::Events::Rule": "Name", "AWS::Batch::JobQueue": "JobQueueName",
                    "AWS::Batch::ComputeEnvironment": "ComputeEnvironmentName",
                    "AWS::Serverless::LayerVersion": "LayerName"}
    for rid, res in doc["Resources"].items():
        name = res.get("Properties", {}).get(unique_names.get(res["Type"], ""))
        assert name is None or "${AWS::StackName}" in json.dumps(name), (rid, name)
