"""Operator-facing errors: one line that says what is wrong and what to do, and the exit
status it ends with (rds_backup/ops/conventions.py, ``Exit``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from rds_backup.errors import StepFailed
from rds_backup.ops.conventions import Exit
from rds_backup.settings import ConfigError


class OperatorError(Exception):
    """Printed without a traceback; the command exits with ``exit_status``."""

    def __init__(self, message: str, exit_status: Exit = Exit.FAILED) -> None:
        super().__init__(message)
        self.exit_status = exit_status


class ConfigurationError(OperatorError):
    """Which stack, region, profile or credentials: the AWS CLI's 253."""

    def __init__(self, message: str) -> None:
        super().__init__(message, Exit.CONFIGURATION)


class UnknownValue(OperatorError):
    """A well-formed value the stack does not know (a ``--db``): the AWS CLI's 252."""

    def __init__(self, message: str) -> None:
        super().__init__(message, Exit.BAD_VALUE)


# Error codes AWS answers when the credentials, not the request, are wrong: the "Common
# Errors" of the AWS API references (ExpiredTokenException, IncompleteSignature,
# InvalidClientTokenId, MissingAuthenticationToken, RequestExpired, SignatureDoesNotMatch,
# UnrecognizedClientException), the Query APIs' ExpiredToken (RDS, STS) and S3's
# InvalidAccessKeyId / ExpiredToken.
CREDENTIAL_ERRORS = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "InvalidAccessKeyId",
    }
)
# botocore's errors when an SSO (IAM Identity Center) or token login has lapsed.
TOKEN_ERRORS = (TokenRetrievalError, SSOTokenLoadError, UnauthorizedSSOTokenError, SSOError)


def signed_out(error: BaseException) -> bool:
    """Whether ``error`` says the caller has no usable credentials (no profile, none found,
    expired or invalid, an SSO sign-in lapsed): every call would fail alike."""
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code", "") in CREDENTIAL_ERRORS
    return isinstance(
        error, (ProfileNotFound, NoCredentialsError, PartialCredentialsError, *TOKEN_ERRORS)
    )


@contextmanager
def explained(region: str | None, profile: str | None = None) -> Iterator[None]:
    """Translate the usual ways an operator command fails into a sentence and a status."""
    try:
        yield
    except ProfileNotFound as error:
        name = error.kwargs.get("profile") or profile
        raise ConfigurationError(
            f"no AWS profile named {name!r} in the AWS config or credentials files: create it "
            f"with: aws configure --profile {name} (or aws configure sso --profile {name}), "
            "or choose another with --profile or AWS_PROFILE"
        ) from error
    except TOKEN_ERRORS as error:
        raise ConfigurationError(
            f"no valid sign-in token{f' for profile {profile}' if profile else ''}: the SSO "
            f"session has expired or was never started ({type(error).__name__}); sign in "
            f"with: {_login(profile)}"
        ) from error
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise ConfigurationError(
            "no AWS credentials found: pass --profile (or set AWS_PROFILE, or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or use --endpoint-url for the "
            "local AWS"
        ) from error
    except NoRegionError as error:
        raise ConfigurationError(
            "no region: pass --region, set AWS_REGION, or give the profile a region"
        ) from error
    except ConfigError as error:
        raise ConfigurationError(str(error)) from error
    except EndpointConnectionError as error:
        raise OperatorError(
            f"cannot reach AWS in {region or 'that region'} ({error.kwargs.get('endpoint_url')}):"
            " check --region and --endpoint-url",
            Exit.UNREACHABLE,
        ) from error
    except StepFailed as error:
        raise OperatorError(str(error)) from error
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code in CREDENTIAL_ERRORS:
            raise ConfigurationError(_expired(code, profile)) from error
        raise OperatorError(f"{code}: {message}", Exit.SERVICE) from error


def _login(profile: str | None) -> str:
    return f"aws sso login --profile {profile}" if profile else "aws sso login"


def _expired(code: str, profile: str | None) -> str:
    login = _login(profile)
    return (
        f"the AWS credentials{f' of profile {profile}' if profile else ''} have expired or "
        f"are not valid ({code}): refresh them ({login}, or new access keys) and retry"
        + (
            "; if they are fresh, check this computer's clock (AWS refuses requests signed "
            "more than 15 minutes off)"
            if code == "RequestExpired"
            else ""
        )
    )
