#!/usr/bin/env python3
"""Create the test world in a running moto server and print it as ONE JSON object.

Usage: .venv-test/bin/python tests/support/moto_world.py ENDPOINT_URL

Run it with the test venv's python (boto3 comes with moto). It talks to moto with
dummy credentials testing/testing in us-east-1; run it BEFORE switching moto's auth
mode on (POST /moto-api/reset-auth), because those dummy keys are not IAM keys.

Output (stdout, one line):
  {"account_id": "123456789012",
   "alice":   {"user_name", "access_key_id", "secret_access_key", "arn"},
   "mallory": {...same...},
   "roles":   {"Administrators": "arn:aws:iam::123456789012:role/Administrators", ...},
   "external_id": "partner-ext-id",
   "mfa_serials": {"alice": "arn:aws:iam::123456789012:mfa/alice", ...}}

Roles and who may assume them (exact principal ARNs in the trust policies):
  Administrators  alice
  ReadOnly        alice
  AliceOnly       alice only (mallory gets AccessDenied in auth mode)
  Partner         alice, only with sts:ExternalId == "partner-ext-id"
  Chained         the role ARN arn:aws:iam::123456789012:role/Administrators
                  (AWS semantics: any session of Administrators). NOTE moto 5.2.5
                  in auth mode compares the caller's *assumed-role session* ARN
                  (arn:aws:sts::…:assumed-role/Administrators/SESSION) with the
                  principal literally, so the second hop of alice→Administrators→
                  Chained is only allowed when auth mode is OFF.
  ChainedAny      "*" (anyone with sts:AssumeRole permission) — lets a 2-hop chain
                  pass in auth mode, where hop 2 must be signed with hop 1's keys.
Every user and role has an inline identity policy allowing sts:AssumeRole and
sts:GetCallerIdentity on "*" (Administrators: "*" on "*"), so in auth mode an
AccessDenied on AssumeRole comes from the trust policy, not from the caller.
"""

import json
import sys

import boto3

ACCOUNT = "123456789012"
EXTERNAL_ID = "partner-ext-id"


def user_arn(name):
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def role_arn(name):
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def trust(principal, condition=None):
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def allow(actions):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
    )


STS_ONLY = allow(["sts:AssumeRole", "sts:GetCallerIdentity"])


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: moto_world.py ENDPOINT_URL")
    endpoint = sys.argv[1]
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    world = {
        "account_id": ACCOUNT,
        "external_id": EXTERNAL_ID,
        "roles": {},
        "mfa_serials": {},
    }

    for name in ("alice", "mallory"):
        iam.create_user(UserName=name)
        iam.put_user_policy(
            UserName=name, PolicyName="may-assume-roles", PolicyDocument=STS_ONLY
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        world[name] = {
            "user_name": name,
            "access_key_id": key["AccessKeyId"],
            "secret_access_key": key["SecretAccessKey"],
            "arn": user_arn(name),
        }
        world["mfa_serials"][name] = f"arn:aws:iam::{ACCOUNT}:mfa/{name}"

    alice = user_arn("alice")
    roles = {
        "Administrators": (trust(alice), allow("*")),
        "ReadOnly": (trust(alice), STS_ONLY),
        "AliceOnly": (trust(alice), STS_ONLY),
        "Partner": (
            trust(alice, {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}),
            STS_ONLY,
        ),
        "Chained": (trust(role_arn("Administrators")), STS_ONLY),
        "ChainedAny": (trust("*"), STS_ONLY),
    }
    for name, (trust_policy, identity_policy) in roles.items():
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy)[
            "Role"
        ]["Arn"]
        iam.put_role_policy(
            RoleName=name, PolicyName="role-permissions", PolicyDocument=identity_policy
        )
        world["roles"][name] = arn

    json.dump(world, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
