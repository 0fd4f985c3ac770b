"""Load balancers (rules, inbound NAT) and application gateways (listeners, routing
rules, SSL policies, certificates, WAF)."""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from providers.azure.normalize.common import (
    _PROTO,
    APPGW_POLICIES,
    APPGW_TLS_DOC,
    _loc,
    _props,
    _ref,
    _tls,
    lid,
)
from providers.azure.normalize.context import Build
from providers.azure.normalize.nsg import nsg_layer, port_layer
from scanner.model import Kind, RelationType
from scanner.rules import RuleLayer, admitted


def nat_targets(b: Build) -> dict[str, tuple[list[str], list[tuple[str, int]]]]:
    """VM id -> (load balancer public IPs, NAT'ed (protocol, backend port))."""
    nic_vm = b.nic_owners()
    out: dict[str, tuple[list[str], list[tuple[str, int]]]] = {}
    for lb in b.items("Microsoft.Network/loadBalancers"):
        frontends = b.lb_frontends(lb)
        for rule in _props(lb).get("inboundNatRules") or []:
            rp = _props(rule)
            cfg = _ref(rp.get("backendIPConfiguration"))
            vm = nic_vm.get(cfg.split("/ipconfigurations/")[0]) if cfg else None
            ip = frontends.get(_ref(rp.get("frontendIPConfiguration")))
            if vm is None or not ip or rp.get("backendPort") is None:
                continue
            protocol = _PROTO.get(lid(rp.get("protocol")), "tcp")
            entry = out.setdefault(vm, ([], []))
            if ip not in entry[0]:
                entry[0].append(ip)
            for proto in (("tcp", "udp") if protocol == "*" else (protocol,)):
                entry[1].append((proto, int(rp["backendPort"])))
    return out


def load_balancers(b: Build) -> None:
    nic_vm = b.nic_owners()
    vms = b.by_id["Microsoft.Compute/virtualMachines"]
    nics = b.by_id["Microsoft.Network/networkInterfaces"]
    for lb in b.items("Microsoft.Network/loadBalancers"):
        lb_id = lid(lb.get("id"))
        p = _props(lb)
        frontends = b.lb_frontends(lb)
        rules = []
        for rule in p.get("loadBalancingRules") or []:
            rp = _props(rule)
            if _ref(rp.get("frontendIPConfiguration")) not in frontends:
                continue
            proto = _PROTO.get(lid(rp.get("protocol")), "tcp")
            if rp.get("frontendPort") in (None, 0):
                continue  # HA ports rule: internal load balancers only
            rules.append((rule, proto, int(rp["frontendPort"]),
                          int(rp.get("backendPort") or rp["frontendPort"])))
        ddos = False
        for fe in p.get("frontendIPConfigurations") or []:
            pip = b.public_ip(_ref(_props(fe).get("publicIPAddress")))[2] or {}
            mode = (_props(pip).get("ddosSettings") or {}).get("protectionMode")
            ddos = ddos or lid(mode) == "enabled"
        pools: dict[str, set[str]] = defaultdict(set)
        for nic in nics.values():
            for cfg in _props(nic).get("ipConfigurations") or []:
                for pool in _props(cfg).get("loadBalancerBackendAddressPools") or []:
                    vm = nic_vm.get(lid(nic.get("id")))
                    if vm:
                        pools[_ref(pool)].add(vm)
        for pool in p.get("backendAddressPools") or []:
            for cfg in _props(pool).get("backendIPConfigurations") or []:
                vm = nic_vm.get(_ref(cfg).split("/ipconfigurations/")[0])
                if vm:
                    pools[lid(pool.get("id"))].add(vm)
        lid_ = b.add(Kind.LOAD_BALANCER, lb, {
            "public_ips": sorted(set(frontends.values())),
            "public_hostnames": b.public_fqdns(p.get("frontendIPConfigurations") or []),
            "private_ips": [str(_props(fe)["privateIPAddress"])
                            for fe in p.get("frontendIPConfigurations") or []
                            if _props(fe).get("privateIPAddress")],
            "ingress": (port_layer("load balancer rules",
                                   [(pr, fp) for _, pr, fp, _ in rules
                                    for pr in (("tcp", "udp") if pr == "*" else (pr,))],
                                   lb_id),),
            "waf": False,
            "ddos_protection": ddos or None,
        }, rid=lb_id)
        targets: set[str] = set()
        for rule, proto, fport, bport in rules:
            listener = b.add(Kind.LISTENER, rule, {
                "protocol": "tcp" if proto in ("tcp", "*") else proto,
                "port": fport, "target_port": bport, "redirects_to_https": False,
            }, name=f"{lb.get('name')}:{fport}/{proto}", region=_loc(lb), labels={})
            b.relate(listener, lid_, RelationType.MEMBER_OF)
            pool_ids = [_ref(x) for x in (_props(rule).get("backendAddressPools") or [])]
            pool_ids.append(_ref(_props(rule).get("backendAddressPool")))
            for pool_id in filter(None, pool_ids):
                for vm_id in pools.get(pool_id, ()):
                    vm_obj = vms.get(vm_id)
                    if vm_obj is not None and _vm_admits(b, vm_obj, bport):
                        targets.add(vm_id)
        for vm_id in sorted(targets):
            b.relate(lid_, vm_id, RelationType.TARGETS, private=True)


def _vm_admits(b: Build, vm: Mapping[str, Any], port: int) -> bool:
    """Does a load balancer backend's NSG path admit internet traffic on `port`? (Azure
    load balancers keep the client's address: the backend's NSGs filter it.)"""
    nics = b.by_id["Microsoft.Network/networkInterfaces"]
    for n in (_props(vm).get("networkProfile") or {}).get("networkInterfaces") or []:
        nic = nics.get(_ref(n))
        if nic is None:
            continue
        layers, _, _ = b.nic_layers(nic, True)
        layers = tuple(layer for layer in layers if layer.present)
        for exposure in admitted(layers):
            if exposure.protocol == "tcp" and port in exposure.ports:
                return True
    return False


def app_gateways(b: Build) -> None:
    nic_vm = b.nic_owners()
    private_owner: dict[str, str] = {}
    for nic_id, vm in nic_vm.items():
        nic = b.get("Microsoft.Network/networkInterfaces", nic_id)
        for cfg in _props(nic or {}).get("ipConfigurations") or []:
            if _props(cfg).get("privateIPAddress"):
                private_owner[str(_props(cfg)["privateIPAddress"])] = vm
    policies = b.by_id["Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies"]
    for gw in b.items("Microsoft.Network/applicationGateways"):
        gw_id = lid(gw.get("id"))
        p = _props(gw)
        public = []
        for fe in p.get("frontendIPConfigurations") or []:
            addr, _, _ = b.public_ip(_ref(_props(fe).get("publicIPAddress")))
            if addr:
                public.append(addr)
        ports = {lid(fp.get("id")): int(_props(fp).get("port") or 0)
                 for fp in p.get("frontendPorts") or []}
        settings = {lid(s.get("id")): s for s in p.get("backendHttpSettingsCollection") or []}
        redirects = {lid(r.get("id")): r for r in p.get("redirectConfigurations") or []}
        listeners = {lid(h.get("id")): h for h in p.get("httpListeners") or []}
        profiles = {lid(s.get("id")): s for s in p.get("sslProfiles") or []}
        base_tls = _appgw_min_tls(p.get("sslPolicy"))
        subnet_nsg = None
        subnet_id = ""
        for cfg in p.get("gatewayIPConfigurations") or []:
            subnet_id = _ref(_props(cfg).get("subnet"))
            sub = b.subnets().get(subnet_id)
            nsg_id = _ref(_props(sub).get("networkSecurityGroup")) if sub else ""
            if nsg_id:
                subnet_nsg = b.get("Microsoft.Network/networkSecurityGroups", nsg_id) or {
                    "id": nsg_id}
        waf_cfg = p.get("webApplicationFirewallConfiguration") or {}
        policy_id = _ref(p.get("firewallPolicy"))
        policy = policies.get(policy_id) if policy_id else None
        waf = bool(policy_id) or bool(waf_cfg.get("enabled"))
        if policy is not None:
            state = lid((_props(policy).get("policySettings") or {}).get("state"))
            waf = state != "disabled"
        rate_limit: bool | None = None
        if policy is not None:
            rate_limit = any(lid(_props(r).get("ruleType") or r.get("ruleType"))
                             == "ratelimitrule"
                             for r in (_props(policy).get("customRules") or []))
        elif waf:
            rate_limit = False if not policy_id else None
        else:
            rate_limit = False
        layers: list[RuleLayer] = [port_layer(
            "application gateway listeners",
            [("tcp", ports.get(_ref(_props(h).get("frontendPort")), 0))
             for h in listeners.values()], gw_id)]
        if subnet_nsg is not None:
            layers.append(nsg_layer(subnet_nsg, "subnet NSG", ()))
        b.add(Kind.LOAD_BALANCER, gw, {
            "public_ips": public,
            "public_hostnames": b.public_fqdns(p.get("frontendIPConfigurations") or []),
            "private_ips": [str(_props(fe)["privateIPAddress"])
                            for fe in p.get("frontendIPConfigurations") or []
                            if _props(fe).get("privateIPAddress")],
            "ingress": tuple(layers),
            "waf": waf,
            "waf_rate_limit": rate_limit,
            "ddos_protection": b.ddos_of_subnet(subnet_id) if subnet_id else None,
        }, rid=gw_id)
        certs = appgw_certificates(b, gw)
        targets: set[str] = set()
        for rule in p.get("requestRoutingRules") or []:
            rp = _props(rule)
            listener = listeners.get(_ref(rp.get("httpListener")))
            if listener is None:
                continue
            hp = _props(listener)
            protocol = lid(hp.get("protocol")) or "http"
            port = ports.get(_ref(hp.get("frontendPort")))
            setting = settings.get(_ref(rp.get("backendHttpSettings")))
            redirect = redirects.get(_ref(rp.get("redirectConfiguration")))
            redirects_https = False
            if redirect is not None:
                target = listeners.get(_ref(_props(redirect).get("targetListener")))
                redirects_https = target is not None and lid(
                    _props(target).get("protocol")) == "https"
                url = str(_props(redirect).get("targetUrl") or "")
                redirects_https = redirects_https or url.lower().startswith("https://")
            props: dict[str, Any] = {
                "protocol": protocol,
                "port": port,
                "target_port": int(_props(setting).get("port") or 0) if setting else None,
                "redirects_to_https": redirects_https and protocol == "http",
            }
            if protocol == "https":
                profile = profiles.get(_ref(hp.get("sslProfile")))
                tls = (_appgw_min_tls(_props(profile).get("sslPolicy"))
                       if profile is not None else base_tls)
                props["min_tls"] = tls[0]
                if tls[1]:
                    props["min_tls_reference"] = tls[1]
            props["implicit"] = f"an http_listener block of application gateway " \
                                f"{gw.get('name')}"
            listener_id = b.add(Kind.LISTENER, listener, props,
                                   name=f"{gw.get('name')}/{listener.get('name')}",
                                   region=_loc(gw), labels={})
            b.relate(listener_id, gw_id, RelationType.MEMBER_OF)
            cert = _ref(hp.get("sslCertificate"))
            if cert in certs:
                b.relate(listener_id, cert, RelationType.USES_CERTIFICATE)
            pool = next((b for b in p.get("backendAddressPools") or []
                         if lid(b.get("id")) == _ref(rp.get("backendAddressPool"))), None)
            for cfg in _props(pool or {}).get("backendIPConfigurations") or []:
                owner = nic_vm.get(_ref(cfg).split("/ipconfigurations/")[0])
                if owner:
                    targets.add(owner)
            for addr in _props(pool or {}).get("backendAddresses") or []:
                owner = private_owner.get(str(addr.get("ipAddress")))
                if owner:
                    targets.add(owner)
        for vm in sorted(targets):
            b.relate(gw_id, vm, RelationType.TARGETS, private=True)


def appgw_certificates(b: Build, gw: Mapping[str, Any]) -> set[str]:
    out = set()
    for cert in _props(gw).get("sslCertificates") or []:
        cp = _props(cert)
        secret = str(cp.get("keyVaultSecretId") or "")
        parts = secret.rstrip("/").split("/")
        versionless = len(parts) >= 2 and parts[-2] == "secrets"
        cid = b.add(Kind.CERTIFICATE, cert, {
            "managed_renewal": versionless,
            "not_after": _cert_not_after(cp.get("publicCertData")),
            "domains": [],
            "implicit": f"an ssl_certificate block of application gateway {gw.get('name')}",
        }, region=_loc(gw), labels={})
        out.add(cid)
    return out


def _appgw_min_tls(policy: Any) -> tuple[str | None, str]:
    """(lowest TLS version, documentation) of an application gateway SSL policy."""
    if not isinstance(policy, Mapping):
        return None, ""
    ptype = lid(policy.get("policyType"))
    if ptype == "predefined" or (not ptype and policy.get("policyName")):
        name = lid(policy.get("policyName"))
        return APPGW_POLICIES.get(name), APPGW_TLS_DOC if name in APPGW_POLICIES else ""
    if ptype in ("custom", "customv2"):
        return _tls(policy.get("minProtocolVersion")), ""
    return None, ""


def _cert_not_after(data: Any) -> str | None:
    """Expiry of the certificate in an application gateway's publicCertData (base64 PKCS#7
    or DER), as ISO 8601 UTC; None when absent or unreadable."""
    if not isinstance(data, str) or not data:
        return None
    try:
        raw = base64.b64decode(data)
    except (binascii.Error, ValueError):
        return None
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import pkcs7

        try:
            certs = pkcs7.load_der_pkcs7_certificates(raw)
        except ValueError:
            certs = [x509.load_der_x509_certificate(raw)]
    except Exception:
        return None
    if not certs:
        return None
    leaf = min(certs, key=lambda c: c.not_valid_after_utc)
    return leaf.not_valid_after_utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
