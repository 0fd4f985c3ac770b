"""Identity, access and secrets: IAM-01 .. IAM-04, SEC-01."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.check import CheckContext, check
from scanner.findings import EvidenceLevel, Finding
from scanner.model import Kind, Resource

REFS_IAM = {"GDPR": ("Art. 32(1)(b)",), "ISO27001": ("A.5.15", "A.5.17", "A.8.2", "A.8.5"),
            "C5": ("IDM-01", "IDM-08", "IDM-09")}


def _names(r: Resource) -> set[str]:
    return {r.id, r.name}


@check(
    id="IAM-01",
    reads=("console_access", "mfa", "principal_type"),
    title="MFA on every privileged and console account",
    severity="high",
    kinds={Kind.IDENTITY},
    rationale="Passwords leak; a second factor stops most account takeovers.",
    remediation="Enrol an MFA device for the root account and every console user; enforce "
                "MFA by policy.",
    references={**REFS_IAM, "ISO27001": ("A.5.17", "A.8.5"), "C5": ("IDM-09",)},
    evidence={"aws": "account summary AccountMFAEnabled (root); IAM users with a login "
                     "profile and their MFA devices"},
)
def mfa_everywhere(ctx: CheckContext) -> Iterator[Finding]:
    for identity in ctx.graph.of_kind(Kind.IDENTITY):
        console = identity.prop("console_access")
        if not console and identity.prop("principal_type") != "root":
            continue
        mfa = identity.prop("mfa")
        evidence = {"principal_type": identity.prop("principal_type"), "console_access": console,
                    "mfa": mfa}
        if mfa is None:
            yield ctx.error(identity, "MFA state not known", "unknown", evidence)
        elif mfa:
            yield ctx.passed(identity, "MFA enabled", evidence)
        else:
            yield ctx.fail(identity, "signs in without MFA", evidence)


@check(
    id="IAM-02",
    reads=("admin_grant", "principal_type"),
    title="Least privilege: no wildcard admin grants beyond the break-glass principals",
    severity="high",
    kinds={Kind.IDENTITY},
    rationale="Every admin grant is a path to everything; only named break-glass principals "
              "should hold one.",
    remediation="Replace `*:*` policies and subscription-wide Owner/Contributor assignments by "
                "scoped roles; list the break-glass principals in the profile.",
    references={**REFS_IAM, "ISO27001": ("A.5.15", "A.5.18", "A.8.2"),
                "C5": ("IDM-01", "IDM-06")},
    evidence={"aws": "IAM policies attached to users, groups and roles granting Action * on "
                     "Resource * (or iam:*, or Allow NotAction not excepting iam:*); AWS "
                     "managed policies by their document, else by posture's table of AWS's "
                     "published ones (providers/aws/managed-policies.json)",
              "azure": "Owner, Contributor, User Access Administrator and Role Based "
                       "Access Control Administrator role assignments at subscription or "
                       "management-group scope"},
    parameters=("break_glass_principals",),
)
def no_wildcard_admins(ctx: CheckContext) -> Iterator[Finding]:
    allowed = set(ctx.params.break_glass_principals)
    for identity in ctx.graph.of_kind(Kind.IDENTITY):
        grant = identity.prop("admin_grant")
        evidence = {"admin_grant": grant, "principal_type": identity.prop("principal_type")}
        if identity.has_prop("admin_via"):  # the custom role and action that make it admin
            evidence["admin_via"] = identity.prop("admin_via")
        if identity.prop("principal_type") == "root":
            yield ctx.skip(identity, "the root account holds every privilege by nature; it is "
                                     "the break-glass account (IAM-01 checks its MFA)", evidence)
        elif grant is None:
            yield ctx.error(identity, "privileges not known", "unknown", evidence)
        elif grant and _names(identity) & allowed:
            yield ctx.passed(identity, "admin grant held by a break-glass principal", evidence)
        elif grant:
            via = evidence.get("admin_via")
            named = [str(v) for v in via[:3]] if isinstance(via, list) else []
            if isinstance(via, list) and len(via) > 3:
                named.append(f"and {len(via) - 3} more")
            yield ctx.fail(identity, "holds a wildcard admin grant" + (
                ": " + "; ".join(named) if named else ""), evidence)
        else:
            yield ctx.passed(identity, "no wildcard admin grant", evidence)


@check(
    id="IAM-03",
    reads=("ssh_key_only",),
    title="SSH by key only, password login disabled",
    severity="medium",
    kinds={Kind.COMPUTE},
    rationale="Password SSH is brute-forced around the clock on every public address.",
    remediation="Azure: disablePasswordAuthentication on Linux VMs; AWS: launch with a key "
                "pair (and no password in the image).",
    references={**REFS_IAM, "ISO27001": ("A.5.17", "A.8.5"),
                "C5": ("IDM-08", "IDM-09")},
    evidence={"aws": "instances launched with a key pair (KeyName)",
              "azure": "Linux VM osProfile.linuxConfiguration.disablePasswordAuthentication"},
)
def ssh_keys_only(ctx: CheckContext) -> Iterator[Finding]:
    for vm in ctx.graph.of_kind(Kind.COMPUTE):
        if not vm.has_prop("ssh_key_only"):
            continue
        value = vm.prop("ssh_key_only")
        if value is None:
            yield ctx.error(vm, "SSH authentication settings not known", "unknown")
        elif value:
            yield ctx.passed(vm, "SSH by key only", {"ssh_key_only": True})
        else:
            yield ctx.fail(vm, "SSH password login possible", {"ssh_key_only": False})


@check(
    id="IAM-04",
    reads=("credentials",),
    title="No dormant or unrotated credentials",
    severity="medium",
    kinds={Kind.IDENTITY},
    rationale="Old access keys are the ones that leaked long ago; unused ones nobody misses "
              "when they are abused.",
    remediation="Rotate access keys older than credential_max_age_days; delete keys unused "
                "for credential_max_unused_days.",
    references={**REFS_IAM, "ISO27001": ("A.5.16", "A.5.18"),
                "C5": ("IDM-03", "IDM-05")},
    evidence={"aws": "IAM access keys: creation date and last used date; the root user's "
                     "access keys (account summary AccountAccessKeysPresent: none may "
                     "exist)"},
    parameters=("credential_max_age_days", "credential_max_unused_days"),
)
def credentials_fresh(ctx: CheckContext) -> Iterator[Finding]:
    max_age, max_unused = ctx.params.credential_max_age_days, ctx.params.credential_max_unused_days
    for identity in ctx.graph.of_kind(Kind.IDENTITY):
        if identity.prop("principal_type") == "root" and identity.has_prop("credentials"):
            yield root_keys(ctx, identity)
            continue
        creds = identity.prop("credentials") or []
        if not creds:
            continue
        stale = []
        for cred in creds:
            age, unused = cred.get("age_days"), cred.get("last_used_days")
            if age is not None and age > max_age:
                stale.append({**cred, "why": f"older than {max_age} days"})
            elif (unused if unused is not None else age or 0) > max_unused:
                stale.append({**cred, "why": f"unused for more than {max_unused} days"})
        if stale:
            yield ctx.fail(identity, f"{len(stale)} stale credential(s)", {"stale": stale})
        else:
            yield ctx.passed(identity, "credentials rotated and in use", {"credentials": creds})


def root_keys(ctx: CheckContext, root: Resource) -> Finding:
    """The root user's access keys: none may exist, whatever their age (AWS IAM User Guide,
    root user best practices; CIS AWS Foundations 1.4): they cannot be scoped down."""
    keys = root.prop("credentials")
    if keys is None:
        return ctx.error(root, "whether the root user has access keys is not known", "unknown",
                         {"credentials": None})
    if keys:
        return ctx.fail(root, "the root user has access keys (they hold every privilege and "
                              "cannot be scoped down)", {"credentials": keys})
    return ctx.passed(root, "the root user has no access keys", {"credentials": []})


@check(
    id="SEC-01",
    reads=("plaintext_secrets",),
    title="No plaintext secrets in resource configuration",
    severity="high",
    kinds={Kind.COMPUTE, Kind.APP_SERVICE},
    rationale="User data and environment variables are readable by anyone with read access "
              "to the account, and end up in logs and snapshots.",
    remediation="Move the secrets to a secrets manager (AWS Secrets Manager, Key Vault "
                "references) and rotate the exposed ones.",
    references={"GDPR": ("Art. 32(1)(b)",), "ISO27001": ("A.5.17", "A.8.12"),
                "C5": ("IDM-08",)},
    evidence={"aws": "EC2 user data, Lambda environment, the container environment of every "
                     "ACTIVE ECS task definition revision (scanned at collection, values "
                     "never stored)",
              "azure": "VM custom data and user data, secret-looking tag names; App Service "
                       "app settings when the read returns them (GET config/web answers them "
                       "null)"},
)
def no_plaintext_secrets(ctx: CheckContext) -> Iterator[Finding]:
    for r in ctx.graph.of_kind(Kind.COMPUTE, Kind.APP_SERVICE):
        if not r.has_prop("plaintext_secrets"):
            continue
        if r.prop("plaintext_secrets") is None:
            yield ctx.skip(r, "the API read does not return its settings' values (App "
                              "Service app settings are listed only by a POST list action)",
                           {"plaintext_secrets": None}, EvidenceLevel.NONE)
            continue
        fields = list(r.prop("plaintext_secrets"))
        if fields:
            yield ctx.fail(r, f"secret-looking values in {', '.join(fields)}",
                           {"fields": fields})
        else:
            yield ctx.passed(r, "no secret-looking values in its configuration")
