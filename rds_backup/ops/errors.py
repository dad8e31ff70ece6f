"""Operator-facing errors: one line that says what is wrong and what to do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from rds_backup.errors import StepFailed


class OperatorError(Exception):
    """Printed without a traceback; exit status 1."""


@contextmanager
def explained(region: str | None) -> Iterator[None]:
    """Translate the usual ways an operator command fails into a sentence."""
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise OperatorError(
            "no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY), or use --endpoint-url for the local AWS"
        ) from error
    except NoRegionError as error:
        raise OperatorError("no region: pass --region or set AWS_REGION") from error
    except EndpointConnectionError as error:
        raise OperatorError(
            f"cannot reach AWS in {region or 'that region'} ({error.kwargs.get('endpoint_url')}):"
            " check --region and --endpoint-url"
        ) from error
    except StepFailed as error:
        raise OperatorError(str(error)) from error
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        raise OperatorError(f"{code}: {message}") from error
