"""What check_drill asks the probe (rds_backup/drills/probe.py → rds_backup/steps/probe_drill.py):
a synchronous Lambda invocation, not an EventBridge event. No password: the ARN of the
secret RDS manages for the drill instance, read by the probe inside the drill network."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProbeCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    sql: str = Field(min_length=1, max_length=2000)
    dbname: str = Field(default="", max_length=63)


class ProbeRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: str = Field(min_length=1, max_length=64)
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(ge=1, le=65535)
    user: str = Field(default="", max_length=128)
    secret_arn: str = Field(pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$")
    dbname: str = Field(default="", max_length=63)
    checks: list[ProbeCheck] = Field(default_factory=list, max_length=50)
