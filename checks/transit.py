"""Encryption in transit: TLS-01 .. TLS-03."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from scanner.check import CheckContext, check
from scanner.findings import EvidenceLevel, Finding
from scanner.model import Kind, RelationType, Resource

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
            if lb.prop("public_ips") or lb.prop("public_endpoint"):
                yield listener, lb


def public_services(ctx: CheckContext) -> Iterator[Resource]:
    """Managed services answering on a public endpoint (storage, databases, web apps, CDNs)."""
    for r in ctx.graph.of_kind(Kind.DATABASE, Kind.BUCKET, Kind.APP_SERVICE, Kind.CDN):
        if r.kind is Kind.CDN or r.prop("public_endpoint") or r.prop("public_ips"):
            yield r


def _level(r: Resource) -> EvidenceLevel:
    return EvidenceLevel.PROVIDER if r.prop("min_tls_reference") else EvidenceLevel.CONFIG


@check(
    id="TLS-01",
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
    title="Certificates on public endpoints are auto-renewed and not near expiry",
    severity="medium",
    kinds={Kind.CERTIFICATE, Kind.LISTENER, Kind.LOAD_BALANCER},
    rationale="Expired certificates break the service or teach users to click through "
              "warnings; manual renewal is how they expire.",
    remediation="Use provider-managed certificates (Hetzner managed certificate, ACM, Key Vault "
                "with auto-renewal) or renew before certificate_min_days.",
    references={"GDPR": ("Art. 32(1)(a)",), "ISO27001": ("A.8.24",), "C5": ("KRY-04",)},
    evidence={"hetzner": "certificates: type (managed/uploaded), not_valid_after"},
    parameters=("certificate_min_days",),
)
def certificates_renewed(ctx: CheckContext) -> Iterator[Finding]:
    in_use = {cert.id for listener, _ in external_listeners(ctx)
              for cert in ctx.graph.related(listener.id, RelationType.USES_CERTIFICATE)}
    horizon = timedelta(days=ctx.params.certificate_min_days)
    for cert in ctx.graph.of_kind(Kind.CERTIFICATE):
        if cert.id not in in_use:
            yield ctx.skip(cert, "not used by any public listener")
            continue
        not_after = cert.prop("not_after")
        evidence = {"managed_renewal": cert.prop("managed_renewal"), "not_after": not_after,
                    "as_of": ctx.as_of.isoformat()}
        if not_after is None:
            yield ctx.error(cert, "expiry not known", "unknown", evidence)
            continue
        expiry = datetime.fromisoformat(str(not_after).replace("Z", "+00:00"))
        left = expiry - ctx.as_of
        evidence["days_left"] = left.days
        if left <= timedelta(0):
            yield ctx.fail(cert, f"expired on {expiry.date()}", evidence)
        elif not cert.prop("managed_renewal"):
            yield ctx.fail(cert, "uploaded certificate: nobody renews it automatically",
                           evidence)
        elif left < horizon:
            yield ctx.fail(cert, f"managed, but expires in {left.days} days (renewal failing?)",
                           evidence)
        else:
            yield ctx.passed(cert, f"managed and valid for {left.days} more days", evidence)
