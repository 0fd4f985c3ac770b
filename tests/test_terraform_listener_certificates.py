"""TLS-03 on a plan judges the certificates its public endpoints present, as live: an ALB
listener's default certificate (`certificate_arn`), its certificate list
(aws_lb_listener_certificate, SNI) and a CloudFront distribution's viewer certificate, each
an aws_acm_certificate or aws_iam_server_certificate of the plan. Before, the certificates
were NOT-ASSESSED ("type not covered") and the listener's link to them was not read."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fixtures.terraform.build_plans import plan, ref, res
from tests.helpers import PLAN_AWS as AWS
from tests.helpers import PLAN_STAMP as STAMP
from tests.helpers import findings_of, scan_json
from tests.helpers import write_plan as write


def pem(not_after: datetime) -> str:
    """A self-signed certificate body (public part only) expiring at `not_after`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.example.com")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(not_after - timedelta(days=400)).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def verdicts(path: Path, checks: str = "TLS-03") -> tuple[int, dict[tuple[str, str], str]]:
    code, doc = scan_json(str(path), "--checks", checks)
    return code, {(f["check"], str(f["resource"]).split("/", 1)[-1]): f["status"]
                  for f in findings_of(doc)}


STAMP_AT = datetime.fromisoformat(STAMP.replace("Z", "+00:00"))


def lb(name: str = "web", internal: bool = False) -> dict[str, Any]:
    return res(f"aws_lb.{name}", {"name": name, "internal": internal,
                                  "load_balancer_type": "application", "security_groups": []},
               unknown={"id": True, "arn": True})


def https(name: str, cert: str | None, lb_name: str = "web") -> dict[str, Any]:
    values: dict[str, Any] = {"port": 443, "protocol": "HTTPS",
                              "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                              "default_action": [{"type": "fixed-response", "order": 1}]}
    unknown: dict[str, Any] = {"id": True, "arn": True, "load_balancer_arn": True}
    expressions: dict[str, Any] = {"load_balancer_arn": ref(f"aws_lb.{lb_name}.arn")}
    if cert is not None:
        values["certificate_arn"] = None
        unknown["certificate_arn"] = True
        expressions["certificate_arn"] = ref(cert)
    return res(f"aws_lb_listener.{name}", values, unknown=unknown, expressions=expressions)


def imported(name: str, expires: datetime) -> dict[str, Any]:
    return res(f"aws_acm_certificate.{name}", {
        "certificate_body": pem(expires), "domain_name": "shop.example.com",
        "subject_alternative_names": []},
        unknown={"id": True, "arn": True, "not_after": True, "type": True},
        expressions={"certificate_body": ref("var.body")}, sensitive={"private_key": True})


def test_an_expired_imported_certificate_on_a_public_listener_fails(tmp_path: Path) -> None:
    """The default certificate and an SNI certificate of a public HTTPS listener are
    judged: an imported one expired fails, one ACM is asked to issue (expiry known only
    after apply) passes; one that only an internal load balancer presents is skipped."""
    rs = [
        lb(), https("https", "aws_acm_certificate.old.arn"),
        imported("old", STAMP_AT - timedelta(days=3)),
        imported("sni_old", STAMP_AT - timedelta(days=1)),
        res("aws_lb_listener_certificate.sni", {}, unknown={
            "id": True, "listener_arn": True, "certificate_arn": True}, expressions={
            "listener_arn": ref("aws_lb_listener.https.arn"),
            "certificate_arn": ref("aws_acm_certificate.sni_old.arn")}),
        res("aws_acm_certificate.issued", {"domain_name": "api.example.com",
                                           "validation_method": "DNS",
                                           "subject_alternative_names": []},
            unknown={"id": True, "arn": True, "not_after": True, "type": True}),
        res("aws_lb_listener_certificate.issued", {}, unknown={
            "id": True, "listener_arn": True, "certificate_arn": True}, expressions={
            "listener_arn": ref("aws_lb_listener.https.arn"),
            "certificate_arn": ref("aws_acm_certificate.issued.arn")}),
        lb("inside", internal=True), https("inside", "aws_acm_certificate.inner", "inside"),
        imported("inner", STAMP_AT - timedelta(days=3)),
    ]
    code, got = verdicts(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)))
    # before: every aws_acm_certificate NOT-ASSESSED (type not covered), no TLS-03 verdict
    assert got[("TLS-03", "aws_acm_certificate.old")] == "fail"
    assert got[("TLS-03", "aws_acm_certificate.sni_old")] == "fail"
    assert got[("TLS-03", "aws_acm_certificate.issued")] == "pass"
    assert got[("TLS-03", "aws_acm_certificate.inner")] == "skip"
    assert not [k for k in got if k[0] == "NOT-ASSESSED"]
    assert code == 1


def test_a_managed_certificate_valid_long_enough_passes_and_an_iam_one_fails(
        tmp_path: Path) -> None:
    """An existing ACM-issued certificate (refreshed `type` and `not_after`) passes; an
    IAM server certificate a CloudFront distribution presents is never renewed: fails."""
    arn = "arn:aws:acm:eu-central-1:111122223333:certificate/1f2e3d4c"
    rs = [
        lb(), https("https", None),
        res("aws_acm_certificate.site", {
            "arn": arn, "id": arn, "domain_name": "shop.example.com",
            "validation_method": "DNS", "type": "AMAZON_ISSUED",
            "not_after": (STAMP_AT + timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "subject_alternative_names": ["www.example.com"]}, actions=("no-op",)),
        res("aws_iam_server_certificate.legacy", {
            "name": "legacy", "certificate_body": pem(STAMP_AT + timedelta(days=300))},
            unknown={"id": True, "arn": True, "expiration": True}),
        res("aws_cloudfront_distribution.cdn", {
            "enabled": True, "viewer_certificate": [{
                "cloudfront_default_certificate": False, "iam_certificate_id": None,
                "minimum_protocol_version": "TLSv1.2_2021"}],
            "default_cache_behavior": [{"viewer_protocol_policy": "https-only"}],
            "ordered_cache_behavior": []},
            unknown={"id": True, "viewer_certificate": [{"iam_certificate_id": True}]},
            expressions={"viewer_certificate": [{"iam_certificate_id": ref(
                "aws_iam_server_certificate.legacy.id")}]}),
    ]
    rs[1]["values"]["certificate_arn"] = arn  # a known ARN: the planned certificate
    code, got = verdicts(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)))
    assert got[("TLS-03", "aws_acm_certificate.site")] == "pass"
    assert got[("TLS-03", "aws_iam_server_certificate.legacy")] == "fail"
    assert code == 1


def test_a_certificate_presented_unseen_is_error_not_unused(tmp_path: Path) -> None:
    """A public listener presents a certificate known only after apply that the plan does
    not hold (a module output, a data source): a planned expired certificate no public
    endpoint is known to present may be that one. Not "not used" (skip): error."""
    rs = [
        lb(), https("https", "var.certificate_arn"),
        imported("old", STAMP_AT - timedelta(days=3)),
    ]
    code, got = verdicts(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)))
    assert got[("TLS-03", "aws_acm_certificate.old")] == "error"
    assert code == 3


def test_a_classic_load_balancers_https_listener_presents_its_certificate(
        tmp_path: Path) -> None:
    """aws_elb `listener.ssl_certificate_id`: the certificate a Classic Load Balancer's
    HTTPS listener presents is judged (an expired imported one fails); before, it was
    "not used by any public listener"."""
    rs = [
        imported("classic", STAMP_AT - timedelta(days=10)),
        res("aws_elb.legacy", {
            "name": "legacy", "internal": False, "availability_zones": ["eu-central-1a"],
            "listener": [{"lb_port": 443, "lb_protocol": "https", "instance_port": 8080,
                          "instance_protocol": "http", "ssl_certificate_id": None}]},
            unknown={"id": True, "arn": True, "listener": [{"ssl_certificate_id": True}]},
            expressions={"listener": [{"ssl_certificate_id": ref(
                "aws_acm_certificate.classic.arn")}]}),
    ]
    code, got = verdicts(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)))
    assert got[("TLS-03", "aws_acm_certificate.classic")] == "fail"
    assert code == 1


def test_only_a_managed_certificate_the_plan_requests_passes_without_a_known_expiry(
        tmp_path: Path) -> None:
    """A certificate the plan asks ACM to issue is issued at apply and renewed by ACM: pass
    (it was "expiry not known", error: every plan adding an ACM certificate to a public
    listener exited 3). An imported certificate whose body is known only after apply, and
    a managed one the plan does not create whose expiry is not known, stay error."""
    def presented(name: str) -> dict[str, Any]:
        return res(f"aws_lb_listener_certificate.{name}", {}, unknown={
            "id": True, "listener_arn": True, "certificate_arn": True}, expressions={
            "listener_arn": ref("aws_lb_listener.https.arn"),
            "certificate_arn": ref(f"aws_acm_certificate.{name}.arn")})

    unknown = {"id": True, "arn": True, "not_after": True, "type": True}
    rs = [
        lb(), https("https", "aws_acm_certificate.requested.arn"),
        res("aws_acm_certificate.requested", {"domain_name": "api.example.com",
                                              "validation_method": "DNS",
                                              "subject_alternative_names": []},
            unknown=unknown),
        res("aws_acm_certificate.uploaded", {"domain_name": "shop.example.com",
                                             "subject_alternative_names": []},
            unknown={**unknown, "certificate_body": True},
            expressions={"certificate_body": ref("var.body")}), presented("uploaded"),
        res("aws_acm_certificate.kept", {"domain_name": "old.example.com",
                                         "validation_method": "DNS",
                                         "subject_alternative_names": []},
            unknown=unknown, actions=("update",)), presented("kept"),
    ]
    _, got = verdicts(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)))
    assert got[("TLS-03", "aws_acm_certificate.requested")] == "pass"
    assert got[("TLS-03", "aws_acm_certificate.uploaded")] == "error"
    assert got[("TLS-03", "aws_acm_certificate.kept")] == "error"
