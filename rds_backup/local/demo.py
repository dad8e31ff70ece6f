"""The demo: one scheduled backup on in-process moto, printed for a person."""

from __future__ import annotations

import os
from typing import Any

from moto import mock_aws

from events import load_sample
from handlers import start_backup
from rds_backup import tags
from rds_backup.aws import Aws, get_aws
from rds_backup.local.context import LocalContext
from rds_backup.local.seed import WorldSpec, seed_world
from rds_backup.settings import load_settings

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def run_demo() -> dict[str, Any]:
    os.environ.update(FAKE_CREDENTIALS)
    with mock_aws():
        env = seed_world(Aws(), WorldSpec())
        os.environ.update(env)
        load_settings.cache_clear()
        get_aws.cache_clear()
        print("local AWS: moto (in-process), source us-east-1, target us-west-2")
        result = start_backup.handler(load_sample("scheduled"), LocalContext("start_backup"))
        print(f"start_backup → run {result['run']}, created {len(result['created'])} snapshots")
        settings = load_settings()
        found = get_aws().rds(settings.source_region).describe_db_snapshots(SnapshotType="manual")
        snapshots = []
        for snapshot in found["DBSnapshots"]:
            tag_map = tags.as_dict(snapshot.get("TagList"))
            print(f"  {snapshot['DBSnapshotIdentifier']}  [{snapshot['Status']}]")
            for key, value in sorted(tag_map.items()):
                print(f"      {key} = {value}")
            snapshots.append(
                {
                    "id": snapshot["DBSnapshotIdentifier"],
                    "status": snapshot["Status"],
                    "tags": tag_map,
                }
            )
        return {"run": result["run"], "snapshots": snapshots}
