"""The production stack around the tables: stream failures, mail events, alarms, throttling, logs, and IAM.

`formloop infra` merges these into infra/resources.json (chalice package --merge-template): the logical ids
below are the ones `chalice package` gives Formloop's functions, roles and API. Every IAM statement names its
resources (each table, index and stream, the one SES identity and configuration set, the queue, each
parameter); tests/unit/test_policy.py lists what each role may do, so nothing is added unnoticed.
"""
from __future__ import annotations

from typing import Any

from chalicelib.core.config import CAPTCHA_FORM_SECRET_PREFIX, CAPTCHA_SECRET_VARIABLES, SECRETS
from chalicelib.core.secrets import ADMIN_KEY_HASHES

PREFIX = "formloop-prod"
SECRETS_PATH = "/formloop/prod/"  # FORMLOOP_SECRETS_PATH of the prod stage in .chalice/config.json
CONFIGURATION_SET = "formloop"  # FORMLOOP_SES_CONFIGURATION_SET of the prod stage
MAIL_EVENTS_TOPIC = "formloop-mail-events"  # app.MAIL_EVENTS_TOPIC
API_NAME, API_STAGE = "formloop", "api"
LOG_RETENTION_DAYS = 90
STREAM_RETRIES = 5  # then the record's batch position goes to the queue, and an alarm says so
API_RATE, API_BURST = 50, 100  # requests per second across the API; raise with the account's quota

# Function logical id -> (role logical id, function name, what it needs beyond the tables).
FUNCTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "APIHandler": ("ApiHandlerRole", "api", ("secrets", "privacy")),
    "OnSubmissionStored": ("OnSubmissionStoredRole", "on-submission-stored", ("secrets", "stream", "email", "queue")),
    "RetryWaitingEmails": ("RetryWaitingEmailsRole", "retry-waiting-emails", ("secrets", "email")),
    "ExpireGifts": ("ExpireGiftsRole", "expire-gifts", ()),
    "OnMailEvent": ("OnMailEventRole", "on-mail-event", ()),
}
# Indexes only the functions that need "privacy" may read: the submissions by address, which only export and
# erasure by address (the admin API) query. (Writing an item needs no permission on its table's indexes.)
PRIVACY_INDEXES = {(f"{PREFIX}-submissions", "by-address"), (f"{PREFIX}-submissions", "by-reply-address")}
TABLE_ACTIONS = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
                 "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
                 "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"]


def _arn(service: str, resource: str) -> dict[str, str]:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"}


def parameter_names() -> list[str]:
    """Every secret a deployment may keep in SSM: the signing secrets, the admin key hashes, CAPTCHA secrets."""
    names = [secret.variable for secret in SECRETS.values()] + [ADMIN_KEY_HASHES]
    names += sorted(CAPTCHA_SECRET_VARIABLES.values())
    # A form's own CAPTCHA secret is named after the form: the one wildcard, confined to that prefix.
    return names + [CAPTCHA_FORM_SECRET_PREFIX + "*"]


def _statements(tables: dict[str, dict[str, Any]], needs: tuple[str, ...], log_group: str) -> list[dict[str, Any]]:
    table_arns: list[Any] = []
    for table in sorted(tables.values(), key=lambda t: str(t["Properties"]["TableName"])):
        name = table["Properties"]["TableName"]
        table_arns.append(_arn("dynamodb", f"table/{name}"))
        for index in table["Properties"].get("GlobalSecondaryIndexes", []):
            if (name, index["IndexName"]) in PRIVACY_INDEXES and "privacy" not in needs:
                continue
            table_arns.append(_arn("dynamodb", f"table/{name}/index/{index['IndexName']}"))
    statements: list[dict[str, Any]] = [
        {"Sid": "Tables", "Effect": "Allow", "Action": TABLE_ACTIONS, "Resource": table_arns},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [_arn("logs", f"log-group:{log_group}:*")]},
    ]
    if "secrets" in needs:
        statements.append({"Sid": "Secrets", "Effect": "Allow", "Action": ["ssm:GetParameter"],
                           "Resource": [_arn("ssm", "parameter" + SECRETS_PATH + name) for name in parameter_names()]})
    if "stream" in needs:
        statements.append({"Sid": "SubmissionsStream", "Effect": "Allow",
                           "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                           "Resource": [{"Fn::GetAtt": ["SubmissionsTable", "StreamArn"]}]})
        # ListStreams has no resource type in IAM: AWS accepts only "*" for it (tests/unit/test_policy.py).
        statements.append({"Sid": "ListStreams", "Effect": "Allow", "Action": ["dynamodb:ListStreams"],
                           "Resource": ["*"]})
    if "email" in needs:
        statements.append({"Sid": "Email", "Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                           "Resource": [_arn("ses", "identity/${MailDomain}"),
                                        _arn("ses", f"configuration-set/{CONFIGURATION_SET}")]})
    if "queue" in needs:
        statements.append({"Sid": "StreamFailures", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                           "Resource": [{"Fn::GetAtt": ["StreamFailuresQueue", "Arn"]}]})
    return statements


def role_policies(tables: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each function role's statements, by role logical id."""
    return {role: _statements(tables, needs, f"/aws/lambda/{PREFIX}-{name}")
            for role, name, needs in FUNCTIONS.values()}


def _alarm(description: str, namespace: str, metric: str, dimensions: dict[str, Any],
           threshold: float = 1, statistic: str = "Sum") -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": description, "Namespace": namespace, "MetricName": metric,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()], "Statistic": statistic,
        "Period": 300, "EvaluationPeriods": 1, "Threshold": threshold,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}]}}


def stack(tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Parameters, conditions, resources and outputs to merge beside the tables."""
    resources: dict[str, Any] = {}
    for function, (_role, name, _needs) in FUNCTIONS.items():
        full_name = f"{PREFIX}-{name}"
        # Named, so that its log group (with retention) and its role's log permission need no reference cycle.
        resources[function] = {"Properties": {"FunctionName": full_name, "Environment": {"Variables": {
            "FORMLOOP_MAIL_FROM": {"Fn::Sub": "${MailSenderName} <${MailLocalPart}@${MailDomain}>"}}}}}
        resources[function + "LogGroup"] = {
            "Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": f"/aws/lambda/{full_name}", "RetentionInDays": LOG_RETENTION_DAYS}}
        resources[function + "ThrottlesAlarm"] = _alarm(
            f"{full_name} was throttled: raise its concurrency (docs/deploy.md, quotas)", "AWS/Lambda",
            "Throttles", {"FunctionName": full_name})
    for role, statements in role_policies(tables).items():
        resources[role] = {"Properties": {"Policies": [
            {"PolicyName": role + "Policy", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]}}
    # The stream consumer: only failed records are retried, halving the batch; past the limit, to the queue.
    resources["OnSubmissionStored"]["Properties"]["Events"] = {"OnSubmissionStoredDynamodbEventSource": {
        "Properties": {"Stream": {"Fn::GetAtt": ["SubmissionsTable", "StreamArn"]},
                       "FunctionResponseTypes": ["ReportBatchItemFailures"], "BisectBatchOnFunctionError": True,
                       "MaximumRetryAttempts": STREAM_RETRIES, "MaximumRecordAgeInSeconds": 86400,
                       "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": {
                           "Fn::GetAtt": ["StreamFailuresQueue", "Arn"]}}}}}}
    resources["StreamFailuresQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": f"{PREFIX}-stream-failures", "MessageRetentionPeriod": 14 * 24 * 3600,
        "SqsManagedSseEnabled": True}}
    resources["StreamFailuresAlarm"] = _alarm(
        "Stream records gave up after every retry: see the queue and the function's log (docs/deploy.md)",
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": f"{PREFIX}-stream-failures"},
        statistic="Maximum")
    resources["ApiServerErrorsAlarm"] = _alarm(
        "The API answered 5xx: see the APIHandler log (docs/deploy.md)", "AWS/ApiGateway", "5XXError",
        {"ApiName": API_NAME, "Stage": API_STAGE})
    resources["RestAPI"] = {"Properties": {"MethodSettings": [
        {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": API_RATE,
         "ThrottlingBurstLimit": API_BURST}]}}
    # Bounces and complaints: the configuration set publishes them to a topic the mail-event handler reads.
    resources["EmailConfigurationSet"] = {"Type": "AWS::SES::ConfigurationSet", "Properties": {
        "Name": CONFIGURATION_SET, "SendingOptions": {"SendingEnabled": True},
        "ReputationOptions": {"ReputationMetricsEnabled": True}}}
    resources["MailEventsTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": MAIL_EVENTS_TOPIC}}
    resources["MailEventsTopicPolicy"] = {"Type": "AWS::SNS::TopicPolicy", "Properties": {
        "Topics": [{"Ref": "MailEventsTopic"}], "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Sid": "SesPublishes", "Effect": "Allow", "Principal": {"Service": "ses.amazonaws.com"},
            "Action": "sns:Publish", "Resource": {"Ref": "MailEventsTopic"},
            "Condition": {"StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}}}]}}}
    resources["MailEventsDestination"] = {"Type": "AWS::SES::ConfigurationSetEventDestination", "Properties": {
        "ConfigurationSetName": {"Ref": "EmailConfigurationSet"}, "EventDestination": {
            "Name": "bounces-and-complaints", "Enabled": True, "MatchingEventTypes": ["bounce", "complaint"],
            "SnsDestination": {"TopicARN": {"Ref": "MailEventsTopic"}}}}}
    resources["OnMailEvent"]["Properties"]["Events"] = {"OnMailEventSnsSubscription": {
        "Properties": {"Topic": {"Ref": "MailEventsTopic"}}}}
    resources["AlarmTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{PREFIX}-alarms"}}
    resources["AlarmEmailSubscription"] = {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail",
                                           "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email",
                                                          "Endpoint": {"Ref": "AlarmEmail"}}}
    parameters = {
        "MailDomain": {"Type": "String", "AllowedPattern": r"^[a-z0-9.-]+\.[a-z]{2,}$",
                       "Description": "The SES-verified domain Formloop sends from (DKIM, SPF and DMARC set up)"},
        "MailLocalPart": {"Type": "String", "Default": "forms", "Description": "The sender's address before @"},
        "MailSenderName": {"Type": "String", "Default": "Formloop", "Description": "The sender's display name"},
        "AlarmEmail": {"Type": "String", "Default": "", "Description": "Who hears of alarms (blank: nobody yet)"},
    }
    conditions = {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}}
    outputs = {"StreamFailuresQueueUrl": {"Value": {"Ref": "StreamFailuresQueue"}},
               "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
               "MailEventsTopicArn": {"Value": {"Ref": "MailEventsTopic"}}}
    return {"Parameters": parameters, "Conditions": conditions, "Resources": resources, "Outputs": outputs}


def _literal(value: Any) -> Any:
    """A template value as a plain policy string for `chalice deploy` (any region and account)."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        return (value["Fn::Sub"].replace("${AWS::Partition}", "aws").replace("${AWS::Region}", "*")
                .replace("${AWS::AccountId}", "*").replace("${MailDomain}", "*"))
    if value == {"Fn::GetAtt": ["SubmissionsTable", "StreamArn"]}:
        return f"arn:aws:dynamodb:*:*:table/{PREFIX}-submissions/stream/*"
    if value == {"Fn::GetAtt": ["StreamFailuresQueue", "Arn"]}:
        return f"arn:aws:sqs:*:*:{PREFIX}-stream-failures"
    return value


def chalice_policy(tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """.chalice/policy-prod.json: every role's statements together, with literal ARNs (`make package` replaces
    each role's policy with its own from the template; this file serves `chalice deploy`)."""
    merged: dict[str, dict[str, Any]] = {}
    for statements in role_policies(tables).values():
        for statement in statements:
            sid = statement["Sid"]
            entry = merged.setdefault(sid, {**statement, "Resource": []})
            if sid == "Logs":  # `chalice deploy` names the functions itself and leaves log groups to Lambda
                entry["Action"] = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
                entry["Resource"] = [f"arn:aws:logs:*:*:log-group:/aws/lambda/{PREFIX}*:*"]
                continue
            for resource in statement["Resource"]:
                literal = _literal(resource)
                if literal not in entry["Resource"]:
                    entry["Resource"].append(literal)
    return {"Version": "2012-10-17", "Statement": list(merged.values())}
