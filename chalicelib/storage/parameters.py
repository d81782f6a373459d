"""SSM Parameter Store reads for chalicelib/core/secrets.py: the one place Formloop builds an SSM client."""
from __future__ import annotations

from typing import Any

from chalicelib.core.secrets import MissingParameterError, ParameterNotFoundError


class SsmParameters:
    """Reads one SecureString parameter, decrypted; the client is built on the first read, not at a cold start."""

    def __init__(self, region: str, client: Any = None) -> None:
        self.region = region
        self._client = client

    def __call__(self, name: str) -> str:
        """The parameter's value; MissingParameterError naming it when it is absent, empty or unreadable."""
        from botocore.exceptions import BotoCoreError, ClientError
        if self._client is None:
            import boto3
            self._client = boto3.client("ssm", region_name=self.region)
        try:
            answer = self._client.get_parameter(Name=name, WithDecryption=True)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ParameterNotFound":
                raise ParameterNotFoundError(f"SSM parameter {name} does not exist: create it as a SecureString "
                                            "(docs/deploy.md, 'Secrets')") from None
            raise MissingParameterError(f"SSM parameter {name} could not be read ({code}): {exc}") from exc
        except BotoCoreError as exc:
            raise MissingParameterError(f"SSM parameter {name} could not be read: {exc}") from exc
        value = str(answer.get("Parameter", {}).get("Value", "")).strip()
        if not value:
            raise MissingParameterError(f"SSM parameter {name} is empty")
        return value
