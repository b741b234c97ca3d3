"""Seeds a private fault-test database through the project's own services.

Run in a subprocess against that database (its DATABASE_URL), never in the test
process, whose Django talks to the suite's database:

    python -m tests.faults.seed '{"orgs": [...], "keys": [...]}'

Prints one JSON line: {"orgs": {slug: id}, "keys": {name: {"id", "key"}}}. The
full keys go to the test that asked for them through the pipe, nowhere else.
"""

from __future__ import annotations

import json
import sys

import django


def main(spec: dict) -> dict:
    django.setup()
    from accounts.services import organization_create
    from apikeys.services import apikey_create
    from billing.models import EntryKind
    from billing.services import credits_grant

    orgs = {}
    for item in spec.get("orgs", []):
        org = organization_create(
            name=item["slug"],
            slug=item["slug"],
            plan=item.get("plan", "enterprise"),
            custom_rate_limit=item.get("custom_rate_limit", 1_000_000),
        )
        if item.get("credits_micros"):
            credits_grant(
                organization=org,
                amount_micros=item["credits_micros"],
                kind=EntryKind.TOPUP,
                reference=f"seed:{item['slug']}",
            )
        orgs[item["slug"]] = org
    keys = {}
    for item in spec.get("keys", []):
        row, full = apikey_create(
            organization=orgs[item["org"]],
            name=item["name"],
            permissions=item.get("permissions", ()),
            environment=item.get("environment", "live"),
            rate_limit=item.get("rate_limit"),
        )
        keys[item["name"]] = {"id": str(row.id), "key": full}
    return {"orgs": {slug: str(org.id) for slug, org in orgs.items()}, "keys": keys}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
