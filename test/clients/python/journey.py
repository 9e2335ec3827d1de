"""
A payroll vendor's connector journey with the Python client generated from openapi/openapi.yaml by
openapi-python-client, unmodified (test/generated-clients.test.ts generates it and runs this):
token (client credentials) → the registrant list → the employee master synced under an
Idempotency-Key (twice: one effect) → numbers pulled as JSON and as Shift_JIS CSV (decoded strictly
as CP932) → a webhook delivery's signature checked (and a tampered one refused).

Input (stdin, JSON): baseUrl, clientId, clientSecret, syncCode, expected {code: number}, webhook
{secret, signature, body}. Output (stdout, JSON): what was seen — never a number itself, only whether
each matched.
"""

import csv
import hashlib
import hmac
import io
import json
import sys
import uuid

from mynaflow_client import AuthenticatedClient, Client
from mynaflow_client.api.payroll import issue_connector_token, pull_numbers, sync_registrants
from mynaflow_client.api.registrants import list_registrants
from mynaflow_client.models import (
    NumberPullRequest,
    NumberPullResult,
    Purpose,
    RegistrantSyncItem,
    RegistrantSyncRequest,
    RegistrantSyncResult,
    TokenRequest,
)


def verify_signature(secret: str, header: str, body: str) -> bool:
    """mynaflow-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the webhook's secret>."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.{body}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def main() -> None:
    given = json.load(sys.stdin)
    out: dict = {}

    # 1. The token: RFC 6749 client credentials, form-encoded by the generated code itself.
    anonymous = Client(base_url=given["baseUrl"])
    token = issue_connector_token.sync(client=anonymous, body=TokenRequest(grant_type="client_credentials", client_id=given["clientId"], client_secret=given["clientSecret"]))
    assert hasattr(token, "access_token"), token
    out["tokenType"] = token.token_type.value
    client = AuthenticatedClient(base_url=given["baseUrl"], token=token.access_token)

    # 2. The list, parsed into typed models.
    page = list_registrants.sync(client=client, limit=100)
    out["listedCodes"] = sorted(item.employee_code for item in page.items if item.employee_code)

    # 3. The employee master, twice under one key: one person, the same answer.
    key = str(uuid.uuid4())
    body = RegistrantSyncRequest(items=[RegistrantSyncItem(employee_code=given["syncCode"], family_name="連携", given_name="同期")])
    first = sync_registrants.sync(client=client, body=body, idempotency_key=key)
    again = sync_registrants.sync(client=client, body=body, idempotency_key=key)
    assert isinstance(first, RegistrantSyncResult) and isinstance(again, RegistrantSyncResult), (first, again)
    out["sync"] = {"created": first.created, "againCreated": again.created, "sameAnswer": first.to_dict() == again.to_dict()}

    # 4. Numbers as JSON: every expected code served, each number as expected.
    expected = given["expected"]
    pulled = pull_numbers.sync(client=client, body=NumberPullRequest(purpose=Purpose.WITHHOLDING_SLIP, employee_codes=sorted(expected)))
    assert isinstance(pulled, NumberPullResult), pulled
    served = {p.employee_code: p.my_number for p in pulled.served}
    out["json"] = {"served": len(served), "matches": served == expected}

    # 5. The same as Shift_JIS CSV (Accept: text/csv), decoded strictly as CP932. The generator types
    #    JSON answers only: the CSV is read through the generated client's own httpx client (its base
    #    URL and token), with the generated model as the body.
    body = NumberPullRequest(purpose=Purpose.WITHHOLDING_SLIP, employee_codes=sorted(expected))
    raw = client.get_httpx_client().post("/v1/numbers/pull", json=body.to_dict(), headers={"Accept": "text/csv"})
    raw.raise_for_status()
    text = raw.content.decode("cp932", errors="strict")
    rows = list(csv.DictReader(io.StringIO(text)))
    from_csv = {r["社員コード"]: r["マイナンバー"] for r in rows if r["本人・扶養"] == "本人"}
    out["csv"] = {"contentType": raw.headers.get("content-type"), "rows": len(rows), "matches": from_csv == expected, "crlf": "\r\n" in text}

    # 6. The webhook delivery's signature, and a tampered body refused.
    hook = given["webhook"]
    out["webhook"] = {"valid": verify_signature(hook["secret"], hook["signature"], hook["body"]), "tamperedRefused": not verify_signature(hook["secret"], hook["signature"], hook["body"] + " ")}

    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
