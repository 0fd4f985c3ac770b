"""Encryption in transit: TLS-01 .. TLS-04."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from checks.network import ADDRESS_PROPS, exposure_unknown
from scanner.check import CheckContext, check
from scanner.findings import EvidenceLevel, Finding, Status
from scanner.instants import instant
from scanner.model import Kind, RelationType, Resource
from scanner.probe import VERSIONS, Endpoint, endpoints, tls_version_name, version_key

REFS_TLS = {
    "GDPR": ("Art. 32(1)(a)",),
    "ISO27001": ("A.8.24", "A.5.14"),
    "C5": ("KRY-02",),
}


def _tls_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def external_listeners(ctx: CheckContext) -> Iterator[tuple[Resource, Resource]]:
    """(listener, load balancer) for every listener of a load balancer with a public IP."""
    for listener in ctx.graph.of_kind(Kind.LISTENER):
        for lb in ctx.graph.related(listener.id, RelationType.MEMBER_OF):
            if lb.prop("public_ips") or lb.prop("public_endpoint") \
                    or exposure_unknown(lb, ADDRESS_PROPS):
                yield listener, lb


def public_services(ctx: CheckContext) -> Iterator[Resource]:
    """Managed services answering on a public endpoint (storage, databases, web apps, CDNs)."""
    for r in ctx.graph.of_kind(Kind.DATABASE, Kind.BUCKET, Kind.APP_SERVICE, Kind.CDN):
        if r.kind is Kind.CDN or r.prop("public_endpoint") or r.prop("public_ips") \
                or exposure_unknown(r, ADDRESS_PROPS):
            yield r


def _level(r: Resource) -> EvidenceLevel:
    return EvidenceLevel.PROVIDER if r.prop("min_tls_reference") else EvidenceLevel.CONFIG


@check(
    id="TLS-01",
    reads=("public_ips", "public_endpoint", "protocol", "port", "min_tls", "min_tls_reference"),
    title="External endpoints accept TLS 1.2 or higher only",
    severity="high",
    kinds={Kind.LOAD_BALANCER, Kind.LISTENER, Kind.DATABASE, Kind.BUCKET, Kind.APP_SERVICE,
           Kind.CDN},
    rationale="TLS 1.0 and 1.1 are deprecated (RFC 8996) and allow downgrade attacks.",
    remediation="Use a TLS policy whose lowest protocol is the profile's min_tls.",
    references=REFS_TLS,
    evidence={"hetzner": "https services of public load balancers; Hetzner documents TLS 1.2 "
                         "and 1.3 as the only versions its load balancers accept"},
    parameters=("min_tls",),
)
def tls_minimum(ctx: CheckContext) -> Iterator[Finding]:
    wanted = ctx.params.min_tls
    for listener, lb in external_listeners(ctx):
        protocol = listener.prop("protocol")
        evidence = {"load_balancer": lb.id, "protocol": protocol, "port": listener.prop("port")}
        if protocol in ("http",):
            continue  # plaintext: TLS-02's business
        if protocol == "tcp":
            yield ctx.skip(listener, "TCP pass-through: TLS is terminated by the targets and the "
                                     "API cannot show the protocol range (probe it: TLS-04)",
                           evidence, level=EvidenceLevel.NONE)
            continue
        min_tls = listener.prop("min_tls")
        evidence["min_tls"] = min_tls
        if listener.prop("min_tls_reference"):
            evidence["reference"] = listener.prop("min_tls_reference")
        if min_tls is None:
            yield ctx.error(listener, "the lowest TLS version accepted is not known", "unknown",
                            evidence)
        elif _tls_tuple(min_tls) >= _tls_tuple(wanted):
            yield ctx.passed(listener, f"accepts TLS {min_tls} or higher", evidence,
                             _level(listener))
        else:
            yield ctx.fail(listener, f"accepts TLS {min_tls}, below {wanted}", evidence,
                           _level(listener))
    for r in public_services(ctx):
        if not r.has_prop("min_tls"):
            continue
        min_tls = r.prop("min_tls")
        evidence = {"min_tls": min_tls}
        if min_tls is None:
            yield ctx.error(r, "the lowest TLS version accepted is not known", "unknown",
                            evidence)
        elif _tls_tuple(min_tls) >= _tls_tuple(wanted):
            yield ctx.passed(r, f"accepts TLS {min_tls} or higher", evidence, _level(r))
        else:
            yield ctx.fail(r, f"accepts TLS {min_tls}, below {wanted}", evidence, _level(r))


@check(
    id="TLS-02",
    reads=("public_ips", "public_endpoint", "protocol",
           "port", "redirects_to_https", "https_only"),
    title="No plaintext external listener: HTTP redirects to HTTPS",
    severity="high",
    kinds={Kind.LOAD_BALANCER, Kind.LISTENER, Kind.BUCKET, Kind.APP_SERVICE, Kind.CDN},
    rationale="Plain HTTP exposes credentials and session cookies on the wire.",
    remediation="Replace the http service by an https service with redirect_http (Hetzner) or "
                "a port-80 listener whose default action redirects to HTTPS.",
    references=REFS_TLS,
    evidence={"hetzner": "services of public load balancers: protocol and redirect_http"},
)
def no_plaintext(ctx: CheckContext) -> Iterator[Finding]:
    for listener, lb in external_listeners(ctx):
        protocol = listener.prop("protocol")
        evidence = {"load_balancer": lb.id, "protocol": protocol, "port": listener.prop("port")}
        if protocol == "http" and listener.prop("redirects_to_https"):
            yield ctx.passed(listener, "plain HTTP only redirects to HTTPS", evidence)
        elif protocol == "http":
            yield ctx.fail(listener, f"serves plain HTTP on port {listener.prop('port')}",
                           evidence)
        elif protocol == "tcp":
            yield ctx.skip(listener, "TCP pass-through: whether the traffic is encrypted is not "
                                     "visible in the API", evidence, level=EvidenceLevel.NONE)
        else:
            yield ctx.passed(listener, f"{protocol.upper()} listener", evidence)
    for r in public_services(ctx):
        if not r.has_prop("https_only"):
            continue
        https_only = r.prop("https_only")
        if https_only is None:
            yield ctx.error(r, "whether plain HTTP is refused is not known", "unknown")
        elif https_only:
            yield ctx.passed(r, "HTTPS only", {"https_only": True})
        else:
            yield ctx.fail(r, "accepts plain HTTP", {"https_only": False})


@check(
    id="TLS-03",
    reads=("public_ips", "public_endpoint", "protocol",
           "port", "managed_renewal", "renewal_status", "not_after", "issued_at_apply",
           "domains"),
    title="Certificates on public endpoints are auto-renewed and not near expiry",
    severity="medium",
    kinds={Kind.CERTIFICATE, Kind.LISTENER, Kind.LOAD_BALANCER, Kind.CDN},
    rationale="Expired certificates break the service or teach users to click through "
              "warnings; manual renewal is how they expire.",
    remediation="Use provider-managed certificates (Hetzner managed certificate, ACM, Key Vault "
                "with auto-renewal) or renew before certificate_min_days.",
    references={"GDPR": ("Art. 32(1)(a)",), "ISO27001": ("A.8.24",), "C5": ("KRY-04",)},
    evidence={"hetzner": "certificates: type (managed/uploaded), status.renewal, "
                         "not_valid_after"},
    parameters=("certificate_min_days",),
)
def certificates_renewed(ctx: CheckContext) -> Iterator[Finding]:
    in_use = {cert.id for listener, _ in external_listeners(ctx)
              for cert in ctx.graph.related(listener.id, RelationType.USES_CERTIFICATE)}
    # a CDN presents its certificate to every viewer (CloudFront ViewerCertificate
    # ACMCertificateArn/IAMCertificateId): that certificate is on a public endpoint too
    in_use |= {cert.id for cdn in ctx.graph.of_kind(Kind.CDN) if cdn.prop("public_endpoint")
               for cert in ctx.graph.related(cdn.id, RelationType.USES_CERTIFICATE)}
    horizon = timedelta(days=ctx.params.certificate_min_days)
    for cert in ctx.graph.of_kind(Kind.CERTIFICATE):
        if cert.id not in in_use:
            yield ctx.skip(cert, "not used by any public listener")
            continue
        not_after = cert.prop("not_after")
        evidence = {"managed_renewal": cert.prop("managed_renewal"), "not_after": not_after,
                    "as_of": ctx.as_of.isoformat()}
        if not_after is None and cert.prop("managed_renewal") and cert.prop("issued_at_apply"):
            # a plan requests it: the provider issues it at apply, valid for months (ACM:
            # CA/Browser Forum maximum; Hetzner: Let's Encrypt's 90 days), and renews it
            evidence["issued_at_apply"] = True
            yield ctx.passed(cert, "managed certificate the plan requests: issued at apply "
                                   "and renewed by the provider", evidence)
            continue
        if not_after is None:
            yield ctx.error(cert, "expiry not known", "unknown", evidence)
            continue
        expiry = instant(not_after)  # a date alone: the start of that day, UTC
        if expiry is None:
            yield ctx.error(cert, f"unreadable expiry {not_after!r}", "unknown", evidence)
            continue
        left = expiry - ctx.as_of
        evidence["days_left"] = left.days
        if left <= timedelta(0):
            yield ctx.fail(cert, f"expired on {expiry.date()}", evidence)
        elif not cert.prop("managed_renewal"):
            yield ctx.fail(cert, "uploaded certificate: nobody renews it automatically",
                           evidence)
        elif cert.prop("renewal_status") == "failed":
            evidence["renewal_status"] = "failed"
            yield ctx.fail(cert, "managed, but its automatic renewal failed", evidence)
        elif left < horizon:
            yield ctx.fail(cert, f"managed, but expires in {left.days} days (renewal failing?)",
                           evidence)
        else:
            yield ctx.passed(cert, f"managed and valid for {left.days} more days", evidence)


# A probe's own error reasons (scanner/probe.py) -> the reason of the `error` finding.
_PROBE_REASONS = {"refused": "unreachable", "timeout": "unreachable", "unresolved": "unreachable",
                  "unreachable": "unreachable", "no_address": "unknown", "no_tls": "unknown",
                  "bug": "bug"}
NOT_PROBED = "not probed: run with --probe-tls"


def _label(version: str) -> str:
    """"TLSv1.0" -> "TLS 1.0", "SSLv3" -> "SSL 3.0"."""
    major, minor = version_key(version)
    return f"SSL {minor}.0" if major == 0 else f"TLS {major}.{minor}"


@check(
    id="TLS-04",
    reads=("public_ips", "public_endpoint", "public_hostnames", "protocol", "port", "tls_probe"),
    title="Public endpoints refuse TLS 1.0 and 1.1 when connected to",
    severity="high",
    kinds={Kind.LOAD_BALANCER, Kind.LISTENER, Kind.APP_SERVICE},
    rationale="The configuration says what should happen; a handshake shows what does (a TCP "
              "pass-through whose targets terminate TLS, a policy changed outside the API, a "
              "proxy in front). TLS 1.0 and 1.1 are deprecated (RFC 8996). Evidence level "
              "`probe`; without --probe-tls (or in a snapshot recorded without it) each "
              "endpoint is reported `not probed` (skip, level none), never passed.",
    remediation="Disable every protocol version below the profile's min_tls where TLS is "
                "terminated (the load balancer's TLS policy, or the targets' TLS settings for "
                "TCP pass-through), then scan again with --probe-tls.",
    references=REFS_TLS,
    evidence={
        "aws": "with --probe-tls: TLS handshakes with every https, tls and tcp listener of "
               "internet-facing ELBv2 load balancers, at the load balancer's DNS name",
        "azure": "with --probe-tls: TLS handshakes with every https and tcp listener of load "
                 "balancers and application gateways with a public IP (at its DNS name, else "
                 "its address), and with App Services' host names on port 443",
        "hetzner": "with --probe-tls: TLS handshakes with every https and tcp service of load "
                   "balancers with a public IP, at its public IPv4 address",
    },
    parameters=("min_tls",),
)
def tls_refused_when_probed(ctx: CheckContext) -> Iterator[Finding]:
    for ep in endpoints(ctx.graph):
        r = ctx.graph.get(ep.resource)
        evidence: dict[str, Any] = {"host": ep.host, "port": ep.port, "protocol": ep.protocol}
        if not r.has_prop("tls_probe"):
            yield ctx.skip(r, NOT_PROBED, evidence, level=EvidenceLevel.NONE)
            continue
        result = r.prop("tls_probe")
        if not isinstance(result, Mapping):
            yield ctx.finding(r, Status.ERROR, "the estate was probed, but no probe result is "
                              "recorded for this endpoint", evidence, EvidenceLevel.PROBE,
                              "unknown")
            continue
        yield _judge_probe(ctx, r, ep, result, evidence)


def _judge_probe(ctx: CheckContext, r: Resource, ep: Endpoint, result: Mapping[str, Any],
                 evidence: dict[str, Any]) -> Finding:
    """pass only when every version below min_tls was refused and one at or above it was
    accepted; any accepted version below it fails; anything else is an error."""
    wanted = ctx.params.min_tls
    floor = version_key(tls_version_name(wanted))
    evidence.update({"address": result.get("address"), "probed_at": result.get("probed_at")})
    level = EvidenceLevel.PROBE
    if result.get("status") != "completed":
        error = result.get("error")
        error = error if isinstance(error, Mapping) else {}
        why = str(error.get("reason") or "unknown")
        evidence["probe_error"] = {"reason": why, "message": error.get("message")}
        if why == "no_tls" and ep.protocol == "tcp":
            return ctx.skip(r, "TCP pass-through completed no TLS handshake of any version: "
                               "not a TLS service (TLS after STARTTLS is not probed)",
                            evidence, level)
        return ctx.finding(r, Status.ERROR, f"the TLS probe failed ({why}): "
                                            f"{error.get('message')}", evidence, level,
                           _PROBE_REASONS.get(why, "unknown"))
    protocols = result.get("protocols")
    protocols = protocols if isinstance(protocols, Mapping) else {}
    accepted = sorted((v for v, state in protocols.items()
                       if state == "accepted" and v in VERSIONS), key=version_key)
    below = [v for v in accepted if version_key(v) < floor]
    evidence.update({"accepted": accepted, "negotiated": result.get("negotiated")})
    if below:
        ciphers = result.get("ciphers")
        ciphers = ciphers if isinstance(ciphers, Mapping) else {}
        evidence["ciphers_below_min"] = {v: list(ciphers.get(v) or [])[:3] for v in below}
        return ctx.fail(r, f"accepted {', '.join(_label(v) for v in below)} (below TLS "
                           f"{wanted})", evidence, level)
    unsure = [v for v in VERSIONS if version_key(v) < floor and protocols.get(v) != "refused"]
    if unsure:
        evidence["not_refused"] = {v: protocols.get(v, "missing") for v in unsure}
        return ctx.finding(r, Status.ERROR, "could not tell whether "
                           f"{', '.join(_label(v) for v in unsure)} is refused (the probe of "
                           "that version did not complete)", evidence, level, "unknown")
    if not accepted:
        return ctx.finding(r, Status.ERROR, f"refused every version below TLS {wanted}, but "
                           "no version at or above it was seen accepted", evidence, level,
                           "unknown")
    return ctx.passed(r, f"refused every version below TLS {wanted}; accepted "
                         f"{', '.join(_label(v) for v in accepted)}", evidence, level)
