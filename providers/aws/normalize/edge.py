"""Edge and certificates: CloudFront distributions, ACM and IAM server certificates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.aws.normalize.common import CF_TLS, DEFAULT_CERT_DOC, _arr, _obj, iso
from providers.aws.normalize.context import Build
from scanner.model import Kind, RelationType


def rate_based(statement: Any) -> bool:
    if isinstance(statement, Mapping):
        if "RateBasedStatement" in statement:
            return True
        return any(rate_based(v) for v in statement.values())
    if isinstance(statement, list):
        return any(rate_based(v) for v in statement)
    return False


def acl_rate_limited(acl: Mapping[str, Any]) -> bool:
    """A rate-based rule that acts on the requests over the limit. A rule whose action is
    Count only counts them (AWS WAF Developer Guide, rule action: "Count - AWS WAF counts
    the request but doesn't determine whether to allow it or block it"), and so does a rule
    group reference overridden to Count (OverrideAction Count)."""
    return any(rate_based(rule.get("Statement")) for rule in _arr(acl.get("Rules"), "Rules")
               if "Count" not in _obj(rule.get("Action"), "Action")
               and "Count" not in _obj(rule.get("OverrideAction"), "OverrideAction"))


def cdn(ctx: Build) -> None:
    acls = {str(_obj(env.get("request"), "request").get("Name")) + "/" + str(
        _obj(env.get("request"), "request").get("Id")): env
            for _, env in ctx.regional("wafv2.get_web_acl")}
    iam_certs = {str(c.get("ServerCertificateId")): str(c.get("Arn"))
                 for _, c in ctx.regional("iam.list_server_certificates")}
    for _, d in ctx.regional("cloudfront.list_distributions"):
        arn = str(d.get("ARN") or f"arn:{ctx.partition}:cloudfront::{ctx.account}:distribution/"
                  f"{d.get('Id')}")
        vc = _obj(d.get("ViewerCertificate"), "ViewerCertificate")
        props: dict[str, Any] = {"public_endpoint": bool(d.get("Enabled", True))}
        if vc.get("CloudFrontDefaultCertificate"):
            props["min_tls"] = "1.0"
            props["min_tls_reference"] = DEFAULT_CERT_DOC
        else:
            props["min_tls"] = CF_TLS.get(str(vc.get("MinimumProtocolVersion")))
        behaviours = [_obj(d.get("DefaultCacheBehavior"), "DefaultCacheBehavior"),
                      *(_arr(_obj(d.get("CacheBehaviors"), "CacheBehaviors").get("Items"),
                             "Items"))]
        props["https_only"] = all(b.get("ViewerProtocolPolicy") in (
            "https-only", "redirect-to-https") for b in behaviours)
        acl_id = str(d.get("WebACLId") or "")
        props["waf"] = bool(acl_id)
        if not acl_id:
            props["waf_rate_limit"] = False
        elif acl_id.startswith("arn:"):
            parts = acl_id.split("/")
            env = acls.get(f"{parts[-2]}/{parts[-1]}") if len(parts) >= 4 else None
            acl = _obj(_obj(env, "web ACL").get("response"), "response").get("WebACL")
            props["waf_rate_limit"] = acl_rate_limited(acl) if acl else None
        else:
            props["waf_rate_limit"] = None  # WAF Classic: not read
        ctx.add(Kind.CDN, arn, "cloudfront_distribution", d, props, None,
                str(d.get("DomainName") or d.get("Id")))
        if vc.get("ACMCertificateArn"):
            ctx.relate(arn, str(vc["ACMCertificateArn"]), RelationType.USES_CERTIFICATE)
        elif vc.get("IAMCertificateId"):  # an uploaded certificate, named by its id
            cert_arn = iam_certs.get(str(vc["IAMCertificateId"]))
            if cert_arn:
                ctx.relate(arn, cert_arn, RelationType.USES_CERTIFICATE)


def certificates(ctx: Build) -> None:
    described = {}
    for _, env in ctx.regional("acm.describe_certificate"):
        cert = _obj(env.get("response"), "response").get("Certificate")
        if cert:
            described[str(cert.get("CertificateArn"))] = cert
    for region, summary in ctx.regional("acm.list_certificates"):
        arn = str(summary["CertificateArn"])
        cert = {**summary, **described.get(arn, {})}
        ctype = cert.get("Type")
        # ACM renews what it issued (managed renewal: RenewalSummary "exists only when the
        # certificate type is AMAZON_ISSUED"). RenewalEligibility is about the
        # RenewCertificate command ("only exported private certificates can be renewed"
        # with it: ACM API Reference, CertificateDetail), not about managed renewal.
        managed = ctype == "AMAZON_ISSUED" or (
            ctype == "PRIVATE" and cert.get("RenewalEligibility") == "ELIGIBLE")
        sans = _arr(cert.get("SubjectAlternativeNames"), "SubjectAlternativeNames") or _arr(
            cert.get("SubjectAlternativeNameSummaries"), "SubjectAlternativeNameSummaries")
        domains = list(dict.fromkeys([d for d in [cert.get("DomainName"), *sans] if d]))
        ctx.add(Kind.CERTIFICATE, arn, "acm_certificate", cert, {
            "managed_renewal": bool(managed), "not_after": iso(cert.get("NotAfter")),
            "domains": domains}, region, str(cert.get("DomainName") or arn))
    for _, cert in ctx.regional("iam.list_server_certificates"):
        ctx.add(Kind.CERTIFICATE, str(cert["Arn"]), "iam_server_certificate", cert, {
            "managed_renewal": False, "not_after": iso(cert.get("Expiration")),
            "domains": []}, None, str(cert.get("ServerCertificateName")))
