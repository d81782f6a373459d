"""Generate infra/resources.json (merged into `chalice package`) and .chalice/policy-prod.json.

The tables come from Formloop's PynamoDB models; the rest of the production stack (stream failures, mail
events, alarms, throttling, logs, IAM) from formloop_cli/stack.py. `formloop infra` (make infra) rewrites
both files; `formloop infra --check` fails when either is stale.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from chalicelib.core.config import PROJECT_ROOT as ROOT
from chalicelib.storage.base import hash_first

TARGET = ROOT / "infra" / "resources.json"
POLICY = ROOT / ".chalice" / "policy-prod.json"
PROD_PREFIX = "formloop-prod"  # FORMLOOP_TABLE_PREFIX of the prod stage in .chalice/config.json


def _logical_id(table_name: str) -> str:
    suffix = table_name[len(PROD_PREFIX) + 1:]
    return "".join(part.capitalize() for part in suffix.replace("_", "-").split("-")) + "Table"


def _index(index: dict[str, Any]) -> dict[str, Any]:
    projection = index.get("projection", {"ProjectionType": "ALL"})
    return {"IndexName": index["index_name"], "KeySchema": hash_first(index["key_schema"]), "Projection": projection}


def table_resource(model: Any) -> dict[str, Any]:
    """One AWS::DynamoDB::Table for a bound PynamoDB model."""
    from pynamodb.attributes import TTLAttribute

    schema = model._get_schema()
    properties: dict[str, Any] = {
        "TableName": model.Meta.table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": schema["attribute_definitions"],
        "KeySchema": hash_first(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "DeletionProtectionEnabled": True,  # a stack deletion or a mistaken replacement cannot drop the data
    }
    if schema["global_secondary_indexes"]:
        properties["GlobalSecondaryIndexes"] = [_index(i) for i in schema["global_secondary_indexes"]]
    if schema["local_secondary_indexes"]:
        properties["LocalSecondaryIndexes"] = [_index(i) for i in schema["local_secondary_indexes"]]
    stream = getattr(model.Meta, "stream_view_type", None)
    if stream:
        properties["StreamSpecification"] = {"StreamViewType": stream}
    ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    if ttl:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl[0], "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": properties}


def build_template() -> dict[str, Any]:
    """The merge template: every table (names as outputs) and the stack around them (formloop_cli/stack.py)."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "unused")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "unused")
    from chalicelib.core.config import Settings
    from chalicelib.wiring import build_services

    services = build_services(Settings.from_environ({"FORMLOOP_TABLE_PREFIX": PROD_PREFIX}))
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for store in services.stores:
        for model in store.models:  # type: ignore[attr-defined]
            logical = _logical_id(model.Meta.table_name)
            resources[logical] = table_resource(model)
            outputs[logical + "Name"] = {"Value": {"Ref": logical}}
    from formloop_cli.stack import stack
    extra = stack(resources)
    resources.update(extra["Resources"])
    outputs.update(extra["Outputs"])
    return {"AWSTemplateFormatVersion": "2010-09-09", "Parameters": extra["Parameters"],
            "Conditions": extra["Conditions"], "Resources": resources, "Outputs": outputs}


def main(argv: list[str]) -> int:
    """Write infra/resources.json, or with --check compare it with the models; the exit code."""
    parser = argparse.ArgumentParser(prog="formloop infra",
                                     description="Generate infra/resources.json from the models.")
    parser.add_argument("--check", action="store_true", help="fail if infra/resources.json is out of date")
    args = parser.parse_args(argv)
    template = build_template()
    from formloop_cli.stack import chalice_policy
    tables = {k: v for k, v in template["Resources"].items() if v.get("Type") == "AWS::DynamoDB::Table"}
    files = {TARGET: json.dumps(template, indent=2, sort_keys=True) + "\n",
             POLICY: json.dumps(chalice_policy(tables), indent=2) + "\n"}
    if args.check:
        stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run `formloop infra` (make infra)", file=sys.stderr)
        if stale:
            return 1
        print(f"{TARGET.relative_to(ROOT)} and {POLICY.relative_to(ROOT)} match the models")
        return 0
    for path, text in files.items():
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0
