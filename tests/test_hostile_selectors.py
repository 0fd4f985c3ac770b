"""CloudTrail event selectors an edited snapshot or a pull request's plan controls (helper
hostile8b): selector values thousands of names long are unknown (never a pass), read in
bounded time, and named in a message of bounded size."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fixtures.terraform.build_plans import plan, res
from providers.aws.normalize.trails import management_writes
from tests.helpers import PLAN_AWS, PLAN_STAMP, write_plan


def _trail_plan(tmp_path: Path, values: dict[str, Any]) -> Path:
    base = {"name": "audit", "s3_bucket_name": "logs", "is_multi_region_trail": True,
            "enable_log_file_validation": True, "enable_logging": True,
            "include_global_service_events": True, "event_selector": [],
            "advanced_event_selector": []}
    doc = plan([res("aws_cloudtrail.audit", {**base, **values},
                    unknown={"arn": True, "id": True})],
               provider_config=PLAN_AWS, timestamp=PLAN_STAMP)
    return write_plan(tmp_path, doc)


def test_selector_messages_stay_short_however_many_names_a_selector_holds() -> None:
    # before: 200,000 unknown event sources were all named: a 1.5 MB message in the
    # trail's evidence and every report
    names = [f"source-{i}.amazonaws.com" for i in range(200_000)]
    started = time.perf_counter()
    got = management_writes(None, [{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]},
        {"Field": "eventSource", "NotEquals": names}]}])
    assert time.perf_counter() - started < 2
    assert got.recorded is None and len(got.why) < 500, len(got.why)
    assert "199997 more" in got.why
    got = management_writes([{"ReadWriteType": ["All"] * 100_000}], None)
    assert got.recorded is None and len(got.why) < 500 and "a list" in got.why
    got = management_writes(None, [{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]},
        {"Field": "x" * 1_000_000, "Equals": ["y"]}]}])
    assert got.recorded is None and len(got.why) < 500
