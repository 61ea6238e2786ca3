#!/usr/bin/env python3
"""Writes the rule pack's sample events: detections/samples/<rule>.positive.ndjson
(the smallest attack the rule's description names: the rule must fire) and
<rule>.negative.ndjson (the closest traffic that is not the attack: it must not).
Canonical events, or CloudTrail records where a rule reads CloudTrail fields.
Run it again after changing a sample; the files are committed."""

import json
import os
from datetime import datetime, timedelta, timezone

OUT = os.path.join(os.path.dirname(__file__), "..", "detections", "samples")
POOL = "us-east-1_Sample01"
DAY = datetime(2026, 11, 2, tzinfo=timezone.utc)


def at(h, m=0, s=0, day=0):
    t = DAY + timedelta(days=day, hours=h, minutes=m, seconds=s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Sample:
    def __init__(self, name):
        self.name, self.n = name, 0

    def ev(self, t, **cols):
        self.n += 1
        e = {"event_id": f"{self.name}-{self.n}", "event_time": t, "user_pool_id": POOL, "outcome": "success"}
        e.update(cols)
        return e

    def ct(self, t, name, arn="arn:aws:iam::123456789012:user/ops", **params):
        self.n += 1
        return {
            "eventVersion": "1.08", "eventTime": t[:19] + "Z", "eventSource": "cognito-idp.amazonaws.com",
            "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.20",
            "userAgent": "aws-cli/2.15.0", "eventID": f"{self.name}-{self.n}", "eventType": "AwsApiCall",
            "recipientAccountId": "123456789012",
            "userIdentity": {"type": "IAMUser", "arn": arn, "accountId": "123456789012"},
            "requestParameters": {"userPoolId": POOL, **params}, "responseElements": None,
        }


def write(name, positive, negative):
    for kind, events in (("positive", positive), ("negative", negative)):
        with open(os.path.join(OUT, f"{name}.{kind}.ndjson"), "w") as f:
            for e in events:
                f.write(json.dumps(e, sort_keys=True) + "\n")


def failures(s, ip, users, start_min, step_s, **extra):
    return [s.ev(at(10, start_min, i * step_s), event_type="sign_in", outcome="failure", username=u, ip_address=ip,
                 error_code="NotAuthorizedException", **extra) for i, u in enumerate(users)]


def main():
    os.makedirs(OUT, exist_ok=True)

    s = Sample("stuffing")
    users = [f"victim{i:02}" for i in range(20)]
    write("cognito_credential_stuffing",
          failures(s, "203.0.113.50", users, 0, 25),
          # 19 users in one window, the 20th in the next; 20 users from 20 addresses
          failures(s, "203.0.113.50", users[:19], 0, 25) + failures(s, "203.0.113.50", users[19:], 10, 5)
          + [s.ev(at(11, 0, i), event_type="sign_in", outcome="failure", username=u, ip_address=f"198.51.100.{i}")
             for i, u in enumerate(users)])

    s = Sample("fatigue")
    ch = lambda t, **k: s.ev(t, event_type="sign_in", username="dana", mfa_challenged=True, mfa_method="sms", **k)
    write("cognito_mfa_fatigue",
          [ch(at(9, 2 + 5 * i), mfa_passed=False, outcome="failure") for i in range(10)],
          [ch(at(9, 2 + 5 * i), mfa_passed=False, outcome="failure") for i in range(9)]
          + [ch(at(9, 50 + i), mfa_passed=True) for i in range(5)])

    s = Sample("travel")
    si = lambda t, u, c, ip: s.ev(t, event_type="sign_in", username=u, country=c, ip_address=ip)
    write("cognito_impossible_travel",
          [si(at(10, 5), "erin", "United States", "52.94.133.131"), si(at(10, 40), "erin", "Japan", "13.112.0.10")],
          [si(at(10, 5), "erin", "United States", "52.94.133.131"), si(at(20, 5), "erin", "Japan", "13.112.0.10"),
           si(at(10, 10), "fred", "Japan", "13.112.0.11"), si(at(10, 20), "gina", "United States", "52.94.133.132")])

    s = Sample("newdevice")
    nd = lambda t, u: s.ev(t, event_type="sign_in", username=u, new_device=True, device_name="Pixel 9", ip_address="192.0.2.7")
    hr = lambda t, u: s.ev(t, event_type="sign_in", username=u, risk_level="high", risk_decision="block", outcome="failure",
                           ip_address="203.0.113.99")
    write("cognito_new_device_then_high_risk",
          [nd(at(8, 5), "hank"), hr(at(8, 40), "hank")],
          # the wrong order; another user's high risk; high risk in the next hour
          [hr(at(7, 10), "ivy"), nd(at(7, 20), "ivy"), nd(at(8, 5), "jack"), hr(at(8, 10), "kate"),
           nd(at(9, 50), "lena"), hr(at(10, 5), "lena")])

    s = Sample("dupid")
    native = lambda t, u, e: s.ev(t, event_type="sign_in", username=u, email=e)
    fed = lambda t, u, e: s.ev(t, event_type="federated_sign_in", username=u, email=e, provider_name="Google", provider_type="Google")
    refresh = lambda t, u, e: s.ev(t, event_type="token_refresh", username=u, email=e)
    write("cognito_duplicate_identities",
          [native(at(10), "liam", "liam@example.com"), fed(at(12), "Google_1001", "liam@example.com")],
          # one federated identity seen through several kinds of events; two people, two emails
          [fed(at(10), "Google_1002", "mia@example.com"), refresh(at(11), "Google_1002", "mia@example.com"),
           native(at(12), "mia", "mia.other@example.com"), native(at(13), "noah", "noah@example.com")])

    s = Sample("spray")
    spray = lambda n: [s.ev(at(1 + 2 * i, 7), event_type="sign_in", outcome="failure", username=f"staff{i:02}",
                            ip_address="203.0.113.77", error_code="NotAuthorizedException") for i in range(n)]
    write("cognito_password_spraying", spray(10),
          spray(9) + [s.ev(at(23, 30), event_type="sign_in", outcome="failure", username="staff09", ip_address="203.0.113.77",
                           error_code="UserNotFoundException")])

    s = Sample("resetcode")
    wrong = lambda t: s.ev(t, event_type="password_reset", event_name="ConfirmForgotPassword", outcome="failure",
                           username="paul", error_code="CodeMismatchException", ip_address="203.0.113.12")
    write("cognito_password_reset_code_bruteforce",
          [wrong(at(14, 1, 10 * i)) for i in range(5)],
          [wrong(at(14, 1, 10 * i)) for i in range(4)]
          + [s.ev(at(14, 3), event_type="password_reset", event_name="ConfirmForgotPassword", username="paul")])

    s = Sample("sms")
    signups = lambda n, ip: [s.ev(at(3, i), event_type="sign_up", username=f"bot{ip[-2:]}{i:02}", ip_address=ip) for i in range(n)]
    write("cognito_sms_pumping", signups(30, "203.0.113.30"), signups(29, "203.0.113.31") + signups(20, "203.0.113.32"))

    s = Sample("ato")
    risky = lambda t, u: s.ev(t, event_type="sign_in", username=u, risk_level="high", risk_decision="account_takeover",
                              ip_address="203.0.113.66")
    change = lambda t, u: s.ev(t, event_type="password_change", username=u, ip_address="203.0.113.66")
    write("cognito_account_takeover_after_high_risk",
          [risky(at(10, 5), "quinn"), change(at(10, 20), "quinn")],
          [change(at(10, 20), "rosa"), risky(at(10, 30), "rosa"), risky(at(11, 5), "sam"), change(at(13, 5), "sam")])

    s = Sample("admingroup")
    write("cognito_admin_add_user_to_admin_group",
          [s.ct(at(9), "AdminAddUserToGroup", username="tom", groupName="PoolAdmins")],
          [s.ct(at(9), "AdminAddUserToGroup", username="tom", groupName="readers"),
           s.ct(at(9, 5), "AdminRemoveUserFromGroup", username="tom", groupName="PoolAdmins")])

    s = Sample("disable")
    disable = lambda i, arn: s.ct(at(16, 0, 30 * i), "AdminDisableUser", arn=arn, username=f"user{i:02}")
    write("cognito_admin_disable_user_burst",
          [disable(i, "arn:aws:iam::123456789012:user/ops") for i in range(10)],
          [disable(i, "arn:aws:iam::123456789012:user/ops") for i in range(9)]
          + [disable(9, "arn:aws:iam::123456789012:role/offboarding")])

    s = Sample("setpassword")
    write("cognito_admin_set_user_password",
          [s.ct(at(9), "AdminSetUserPassword", username="uma", password="HIDDEN_DUE_TO_SECURITY_REASONS", permanent=True)],
          [s.ct(at(9), "AdminResetUserPassword", username="uma"), s.ct(at(9, 1), "AdminGetUser", username="uma")])

    s = Sample("mfaconfig")
    write("cognito_mfa_config_weakened",
          [s.ct(at(9), "SetUserPoolMfaConfig", mfaConfiguration="OFF")],
          [s.ct(at(9), "SetUserPoolMfaConfig", mfaConfiguration="ON")])

    s = Sample("deletion")
    write("cognito_deletion_protection_disabled",
          [s.ct(at(9), "UpdateUserPool", deletionProtection="INACTIVE")],
          [s.ct(at(9), "UpdateUserPool", deletionProtection="ACTIVE"), s.ct(at(9, 1), "UpdateUserPool", mfaConfiguration="ON")])

    s = Sample("guest")
    cred = lambda flow: s.ev(at(5), event_type="identity_credentials", event_name="GetCredentialsForIdentity",
                             identity_pool_id="us-east-1:0000-1111", auth_flow=flow, user_pool_id=None, ip_address="192.0.2.44")
    write("cognito_unauthenticated_identity_credentials", [cred("unauthenticated")], [cred("authenticated")])

    s = Sample("refresh")
    refresh = lambda n, ip, step: [s.ev(at(6, 0, step * i), event_type="token_refresh", username="vera", ip_address=ip)
                                   for i in range(n)]
    write("cognito_token_refresh_storm", refresh(50, "192.0.2.55", 10),
          refresh(49, "192.0.2.55", 10) + refresh(10, "192.0.2.56", 10))

    s = Sample("newcountry")
    home = lambda d, u: s.ev(at(9, day=d), event_type="sign_in", username=u, country="United States", ip_address="52.94.1.1")
    away = lambda d, u: s.ev(at(10, day=d), event_type="sign_in", username=u, country="Brazil", ip_address="177.10.0.1")
    write("cognito_new_country_for_pool",
          # learning from day 0; Brazil first seen on day 20
          [home(0, "wade"), home(5, "xena"), home(20, "wade"), away(20, "yara")],
          # Brazil first seen on day 3 (still learning), again on day 20: not new
          [home(0, "wade"), away(3, "yara"), home(20, "wade"), away(20, "zed")])


if __name__ == "__main__":
    main()
