"""The vault stack's settings (infra/vault/serverless.yml sets them): one validated model,
every problem at once, as rds_backup/settings.py does for the source stack."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rds_backup.arns import parse_kms_arn
from rds_backup.settings import (
    ACCOUNT,
    BUS_ARN,
    PREFIX,
    REGION,
    ConfigError,
    _describe,
    _matching,
)

Region = Annotated[str, _matching(REGION, "an AWS region name such as eu-west-1")]


class VaultSettings(BaseModel):
    """The vault's environment (README, "Configuration"; docs/VAULT.md)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=False)

    # Where the vault keeps its copies, and its customer managed key there (full ARN).
    vault_region: Region = Field(alias="VAULT_REGION")
    vault_kms_key_id: str = Field(alias="VAULT_KMS_KEY_ID")
    # The source account, the region its copies are shared from (its TARGET_REGION), and its
    # default bus in SOURCE_REGION ("Vault Copy Finished" goes there).
    source_account_id: Annotated[str, _matching(ACCOUNT, "a 12-digit AWS account id")] = Field(
        alias="SOURCE_ACCOUNT_ID"
    )
    shared_region: Region = Field(alias="SHARED_REGION")
    source_event_bus_arn: Annotated[str, _matching(BUS_ARN, "an event bus ARN")] = Field(
        alias="SOURCE_EVENT_BUS_ARN"
    )
    snapshot_prefix: Annotated[
        str, _matching(PREFIX, "a lower-case prefix of letters, digits and single hyphens")
    ] = Field(default="rds-backup", alias="SNAPSHOT_PREFIX")
    # The value of the vault's ownership tag (rds-backup:vault) on each of its copies.
    stack_name: Annotated[
        str, _matching(PREFIX, "a lower-case name of letters, digits and single hyphens")
    ] = Field(default="rds-backup-vault", alias="STACK_NAME")
    retention_days: int = Field(default=35, ge=1, le=3650, alias="VAULT_RETENTION_DAYS")
    keep_daily: int = Field(default=0, ge=0, le=3650, alias="VAULT_KEEP_DAILY")
    keep_weekly: int = Field(default=0, ge=0, le=520, alias="VAULT_KEEP_WEEKLY")
    keep_monthly: int = Field(default=0, ge=0, le=120, alias="VAULT_KEEP_MONTHLY")
    min_keep: int = Field(default=1, ge=1, le=1000, alias="MIN_KEEP")

    @model_validator(mode="after")
    def _key_and_bus_agree(self) -> VaultSettings:
        problems = []
        arn = parse_kms_arn(self.vault_kms_key_id)
        if arn is None:
            problems.append(
                f"VAULT_KMS_KEY_ID: {self.vault_kms_key_id!r} is not a KMS key ARN (give the "
                "vault key's full ARN)"
            )
        elif arn.region != self.vault_region and not arn.multi_region:
            problems.append(
                f"VAULT_KMS_KEY_ID: key ARN is in {arn.region}, expected VAULT_REGION "
                f"{self.vault_region}"
            )
        if self.source_event_bus_arn.split(":")[4] != self.source_account_id:
            problems.append(
                "SOURCE_EVENT_BUS_ARN: not in SOURCE_ACCOUNT_ID "
                f"{self.source_account_id} (the source account's default bus)"
            )
        if self.source_account_id == (arn.account if arn else None):
            problems.append(
                "SOURCE_ACCOUNT_ID: the vault key is in the source account; the vault must be "
                "deployed in another account, with its own key"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def account_id(self) -> str:
        """The vault account (its key's)."""
        arn = parse_kms_arn(self.vault_kms_key_id)
        return arn.account if arn else ""

    @property
    def one_region(self) -> bool:
        """The vault keeps its copies where they are shared from (one copy, no presigning)."""
        return self.vault_region == self.shared_region


def parse_vault_settings(environ: Mapping[str, str]) -> VaultSettings:
    try:
        return VaultSettings.model_validate(dict(environ))
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


@lru_cache(maxsize=1)
def load_vault_settings() -> VaultSettings:
    return parse_vault_settings(os.environ)
