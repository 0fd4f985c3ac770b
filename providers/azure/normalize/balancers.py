"""Load balancers (rules, inbound NAT) and application gateways (listeners, routing
rules, SSL policies, certificates, WAF)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from providers.azure.normalize.common import (
    _PROTO,
    APPGW_POLICIES,
    APPGW_TLS_DOC,
    _arr,
    _flag,
    _loc,
    _obj,
    _props,
    _ref,
    _tls,
    lid,
)
from providers.azure.normalize.context import Build
from providers.azure.normalize.nsg import nsg_layer, port_layer
from providers.azure.normalize.paths import lb_standard
from scanner.model import Kind, RelationType, Unread
from scanner.rules import RuleLayer, admitted

NatPaths = dict[tuple[str, bool], tuple[list[str], list[tuple[str, int]]]]


def _lb_sku_standard(b: Build, lb: Mapping[str, Any], frontend_id: str) -> bool:
    """Closed by default? The load balancer's SKU and its frontend public IP's (paths)."""
    fe = next((f for f in _arr(_props(lb).get("frontendIPConfigurations"),
                               "frontendIPConfigurations")
               if lid(f.get("id")) == frontend_id), None)
    pip_id = _ref(_props(fe or {}).get("publicIPAddress"), "publicIPAddress")
    _, standard, raw = b.public_ip(pip_id) if pip_id else (None, True, None)
    return lb_standard(lb, standard if raw is not None else None)


def nat_targets(b: Build) -> dict[str, NatPaths]:
    """IP configuration id -> {(its NIC id, closed by default): (load balancer public IPs,
    NAT'ed (protocol, backend port))}. Every inbound NAT rule of every load balancer: one
    naming a backend IP configuration, one a NIC's configuration names
    (`loadBalancerInboundNatRules`), and one over a backend pool (NAT rule v2: every member)."""
    out: dict[str, NatPaths] = {}
    referenced = b.cfg_nat_rules()
    for lb in b.items("Microsoft.Network/loadBalancers"):
        lb_id = lid(lb.get("id"))
        frontends = b.lb_frontends(lb)
        for rule in _arr(_props(lb).get("inboundNatRules"), "inboundNatRules"):
            rp = _props(rule)
            fe_id = _ref(rp.get("frontendIPConfiguration"), "frontendIPConfiguration")
            ip = frontends.get(fe_id)
            if not ip or rp.get("backendPort") is None:
                continue
            cfgs = {_ref(rp.get("backendIPConfiguration"),
                         "backendIPConfiguration")} | referenced.get(lid(rule.get("id")),
                                                                             set())
            pool = _ref(rp.get("backendAddressPool"), "backendAddressPool")
            if pool:
                cfgs |= b.pool_members(lb, pool)
            standard = _lb_sku_standard(b, lb, fe_id)
            protocol = _PROTO.get(lid(rp.get("protocol")), "tcp")
            for cfg in sorted(filter(None, cfgs)):
                if cfg not in b.cfgs():
                    b.mark(lb_id, ("ingress",), Unread(
                        f"inbound NAT rule {lid(rule.get('id'))} forwards to {cfg}, which is "
                        "not in the network interfaces read", "dangling", closes=False))
                    continue
                ips, ports = out.setdefault(cfg, {}).setdefault((lb_id, standard), ([], []))
                if ip not in ips:
                    ips.append(ip)
                for proto in (("tcp", "udp") if protocol == "*" else (protocol,)):
                    ports.append((proto, int(rp["backendPort"])))
    return out


def load_balancers(b: Build) -> None:
    nic_vm = b.nic_owners()
    for lb in b.items("Microsoft.Network/loadBalancers"):
        lb_id = lid(lb.get("id"))
        p = _props(lb)
        frontends = b.lb_frontends(lb)
        rules = []
        for rule in _arr(p.get("loadBalancingRules"), "loadBalancingRules"):
            rp = _props(rule)
            if _ref(rp.get("frontendIPConfiguration"), "frontendIPConfiguration") not in frontends:
                continue
            proto = _PROTO.get(lid(rp.get("protocol")), "tcp")
            if rp.get("frontendPort") in (None, 0):
                continue  # HA ports rule: internal load balancers only
            rules.append((rule, proto, int(rp["frontendPort"]),
                          int(rp.get("backendPort") or rp["frontendPort"])))
        ddos = False
        for fe in _arr(p.get("frontendIPConfigurations"), "frontendIPConfigurations"):
            pip_id = _ref(_props(fe).get("publicIPAddress"), "publicIPAddress")
            pip = b.public_ip(pip_id)[2] if pip_id else {}
            if pip is None:
                b.mark(lb_id, ("public_ips", "public_hostnames"), Unread(
                    f"public IP {pip_id} of frontend {lid(fe.get('id'))} is not in the public "
                    "IPs read", "dangling", closes=False))
            mode = _obj(_props(pip or {}).get("ddosSettings"), "ddosSettings").get("protectionMode")
            ddos = ddos or lid(mode) == "enabled"
        lid_ = b.add(Kind.LOAD_BALANCER, lb, {
            "public_ips": sorted(set(frontends.values())),
            "public_hostnames": b.public_fqdns(_arr(p.get("frontendIPConfigurations"),
                                                    "frontendIPConfigurations")),
            "private_ips": [str(_props(fe)["privateIPAddress"])
                            for fe in _arr(p.get("frontendIPConfigurations"),
                                           "frontendIPConfigurations")
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
            props: dict[str, Any] = {
                "protocol": "tcp" if proto in ("tcp", "*") else proto,
                "port": fport, "target_port": bport, "redirects_to_https": False,
            }
            if proto == "*":  # TransportProtocol `All`: TCP and UDP both forwarded
                props["transport"] = ["tcp", "udp"]
            listener = b.add(Kind.LISTENER, rule, props,
                             name=f"{lb.get('name')}:{fport}/{proto}", region=_loc(lb), labels={})
            b.relate(listener, lid_, RelationType.MEMBER_OF)
            standard = _lb_sku_standard(b, lb, _ref(_props(rule).get("frontendIPConfiguration"),
                                                    "frontendIPConfiguration"))
            pool_ids = [_ref(x) for x in _arr(_props(rule).get("backendAddressPools"),
                                              "backendAddressPools")]
            pool_ids.append(_ref(_props(rule).get("backendAddressPool"), "backendAddressPool"))
            for pool_id in filter(None, pool_ids):
                for cfg_id in sorted(b.pool_members(lb, pool_id)):
                    found = b.cfgs().get(cfg_id)
                    if found is None:
                        b.mark(lb_id, ("ingress",), Unread(
                            f"backend pool {pool_id} names {cfg_id.removeprefix('ip:')}, "
                            "which no network interface read holds", "dangling",
                            closes=False))
                        continue
                    vm_id = nic_vm.get(lid(found[0].get("id")))
                    if vm_id and _cfg_admits(b, vm_id, *found, standard, proto, bport):
                        targets.add(vm_id)
        for vm_id in sorted(targets):
            b.relate(lid_, vm_id, RelationType.TARGETS, private=True)


def _cfg_admits(b: Build, vm_id: str, nic: Mapping[str, Any], cfg: Mapping[str, Any],
                standard: bool, proto: str, port: int) -> bool:
    """Does the NSG path of a load balancer backend's IP configuration admit internet
    traffic on `port`? Azure load balancers keep the client's address, so the backend's
    NSGs filter it; with no NSG at all the load balancer's SKU decides (lb_standard)."""
    layers, _, unknown = b.cfg_layers(nic, cfg, standard)
    if unknown:
        b.mark(vm_id, unknown, unknown["ingress"])
    protocols = ("tcp", "udp") if proto == "*" else (proto,)
    return any(e.protocol in protocols and port in e.ports for e in admitted(layers))


def app_gateways(b: Build) -> None:
    nic_vm = b.nic_owners()
    private_owner: dict[str, str] = {}
    for nic_id, vm in nic_vm.items():
        nic = b.get("Microsoft.Network/networkInterfaces", nic_id)
        for cfg in _arr(_props(nic or {}).get("ipConfigurations"), "ipConfigurations"):
            if _props(cfg).get("privateIPAddress"):
                private_owner[str(_props(cfg)["privateIPAddress"])] = vm
    policies = b.by_id["Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies"]
    for gw in b.items("Microsoft.Network/applicationGateways"):
        gw_id = lid(gw.get("id"))
        p = _props(gw)
        public = []
        for fe in _arr(p.get("frontendIPConfigurations"), "frontendIPConfigurations"):
            pip_id = _ref(_props(fe).get("publicIPAddress"), "publicIPAddress")
            addr, _, raw = b.public_ip(pip_id)
            if addr:
                public.append(addr)
            if pip_id and raw is None:
                b.mark(gw_id, ("public_ips", "public_hostnames"), Unread(
                    f"public IP {pip_id} of frontend {lid(fe.get('id'))} is not in the public "
                    "IPs read", "dangling", closes=False))
        ports = {lid(fp.get("id")): int(_props(fp).get("port") or 0)
                 for fp in _arr(p.get("frontendPorts"), "frontendPorts")}
        settings = {lid(s.get("id")): s for s in _arr(p.get("backendHttpSettingsCollection"),
                                                      "backendHttpSettingsCollection")}
        redirects = {lid(r.get("id")): r for r in _arr(p.get("redirectConfigurations"),
                                                       "redirectConfigurations")}
        listeners = {lid(h.get("id")): h for h in _arr(p.get("httpListeners"), "httpListeners")}
        profiles = {lid(s.get("id")): s for s in _arr(p.get("sslProfiles"), "sslProfiles")}
        path_maps = {lid(m.get("id")): m for m in _arr(p.get("urlPathMaps"), "urlPathMaps")}
        pools = {lid(x.get("id")): x for x in _arr(p.get("backendAddressPools"),
                                                   "backendAddressPools")}
        base_tls = _appgw_min_tls(p.get("sslPolicy"))
        subnet_nsg = None
        subnet_id = ""
        # The gateway's instances answer from addresses of its subnet (one private IP per
        # instance, https://learn.microsoft.com/azure/application-gateway/configuration-
        # infrastructure#size-of-the-subnet): the subnet NSG's rules naming that subnet (or
        # any address in it) or a private frontend IP filter its traffic.
        gw_addresses: list[str] = [str(_props(fe)["privateIPAddress"]) for fe in
                                   _arr(p.get("frontendIPConfigurations"),
                                        "frontendIPConfigurations")
                                   if _props(fe).get("privateIPAddress")]
        for cfg in _arr(p.get("gatewayIPConfigurations"), "gatewayIPConfigurations"):
            subnet_id = _ref(_props(cfg).get("subnet"), "subnet")
            sub = b.subnets().get(subnet_id)
            if sub is not None:
                sp = _props(sub)
                gw_addresses += [str(x) for x in [sp.get("addressPrefix"),
                                                  *_arr(sp.get("addressPrefixes"),
                                                        "addressPrefixes")] if x]
            nsg_id = _ref(_props(sub).get("networkSecurityGroup"),
                          "networkSecurityGroup") if sub else ""
            if subnet_id and sub is None:
                b.mark(gw_id, ("ingress",), Unread(
                    f"subnet {subnet_id} of the gateway is not in the virtual networks read",
                    "dangling", opens=False, closes=True))
            if nsg_id:
                subnet_nsg = b.get("Microsoft.Network/networkSecurityGroups", nsg_id)
                if subnet_nsg is None:
                    b.mark(gw_id, ("ingress",), Unread(
                        f"NSG {nsg_id} of subnet {subnet_id} is not in the NSGs read",
                        "dangling", closes=False))
                    subnet_nsg = {"id": nsg_id}
        waf, rate_limit = _waf(b, gw, policies)
        layers: list[RuleLayer] = [port_layer(
            "application gateway listeners",
            [("tcp", ports.get(_ref(_props(h).get("frontendPort"), "frontendPort"), 0))
             for h in listeners.values()], gw_id)]
        if subnet_nsg is not None:
            layers.append(nsg_layer(subnet_nsg, "subnet NSG", gw_addresses))
        b.add(Kind.LOAD_BALANCER, gw, {
            "public_ips": public,
            "public_hostnames": b.public_fqdns(_arr(p.get("frontendIPConfigurations"),
                                                    "frontendIPConfigurations")),
            "private_ips": [str(_props(fe)["privateIPAddress"])
                            for fe in _arr(p.get("frontendIPConfigurations"),
                                           "frontendIPConfigurations")
                            if _props(fe).get("privateIPAddress")],
            "ingress": tuple(layers),
            "waf": waf,
            "waf_rate_limit": rate_limit,
            "ddos_protection": b.ddos_of_subnet(subnet_id) if subnet_id else None,
        }, rid=gw_id)
        certs = appgw_certificates(b, gw)
        targets: set[str] = set()
        for rule in _arr(p.get("requestRoutingRules"), "requestRoutingRules"):
            rp = _props(rule)
            listener = listeners.get(_ref(rp.get("httpListener"), "httpListener"))
            if listener is None:
                continue
            hp = _props(listener)
            protocol = lid(hp.get("protocol")) or "http"
            port = ports.get(_ref(hp.get("frontendPort"), "frontendPort"))
            routes = _routes(rp, path_maps)
            setting = next((settings[s] for _, s, _ in routes if s in settings), None)
            # A plaintext listener only redirects when every route of its rule (a path
            # map's default and each path rule) is a redirect to HTTPS.
            redirects_https = bool(routes) and all(
                r and _redirects_to_https(redirects.get(r), listeners) for _, _, r in routes)
            props: dict[str, Any] = {
                "protocol": protocol,
                "port": port,
                "target_port": int(_props(setting).get("port") or 0) if setting else None,
                "redirects_to_https": redirects_https and protocol == "http",
            }
            if protocol == "https":
                profile = profiles.get(_ref(hp.get("sslProfile"), "sslProfile"))
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
            cert = _ref(hp.get("sslCertificate"), "sslCertificate")
            if cert in certs:
                b.relate(listener_id, cert, RelationType.USES_CERTIFICATE)
            # A path map forwarding to backends on other ports: one listener per port, so
            # the graph forwards to every backend port the rule uses.
            extra = sorted({int(_props(settings[s]).get("port") or 0) for _, s, r in routes
                            if s in settings and not r} - {props["target_port"]})
            for other in extra:
                more = b.add(Kind.LISTENER, listener, {**props, "target_port": other},
                             rid=f"{listener_id}#backendport{other}",
                             name=f"{gw.get('name')}/{listener.get('name')}->{other}",
                             region=_loc(gw), labels={})
                b.relate(more, gw_id, RelationType.MEMBER_OF)
            for pool_id in {pool for pool, _, _ in routes if pool}:
                pool = pools.get(pool_id)
                if pool is None:
                    b.mark(gw_id, ("ingress",), Unread(
                        f"routing rule {lid(rule.get('id'))} names backend pool {pool_id}, "
                        "which the gateway does not define", "dangling", closes=False))
                    continue
                for cfg_id in sorted(b.pool_members(
                        gw, pool_id, "applicationGatewayBackendAddressPools")):
                    owner = nic_vm.get(cfg_id.split("/ipconfigurations/")[0])
                    if owner:
                        targets.add(owner)
                    elif cfg_id not in b.cfgs():
                        b.mark(gw_id, ("ingress",), Unread(
                            f"backend pool {pool_id} names {cfg_id}, which is not in the "
                            "network interfaces read", "dangling", closes=False))
                for addr in _arr(_props(pool).get("backendAddresses"), "backendAddresses"):
                    ip = addr.get("ipAddress") if isinstance(addr, Mapping) else addr
                    owner = private_owner.get(str(ip))
                    if owner:
                        targets.add(owner)
        for vm in sorted(targets):
            b.relate(gw_id, vm, RelationType.TARGETS, private=True)


Route = tuple[str, str, str]  # (backend pool id, backend settings id, redirect id)


def _routes(rule: Mapping[str, Any], path_maps: Mapping[str, Mapping[str, Any]]
            ) -> list[Route]:
    """Where a request routing rule sends traffic: a basic rule's pool, settings or
    redirect; a path-based rule's (`urlPathMap`) default and every path rule's."""
    def route(x: Mapping[str, Any]) -> Route:
        return (_ref(x.get("backendAddressPool"), "backendAddressPool"),
                _ref(x.get("backendHttpSettings"), "backendHttpSettings"),
                _ref(x.get("redirectConfiguration"), "redirectConfiguration"))

    path_map = path_maps.get(_ref(rule.get("urlPathMap"), "urlPathMap"))
    if path_map is None:
        return [route(rule)]
    mp = _props(path_map)
    out = [(_ref(mp.get("defaultBackendAddressPool"), "defaultBackendAddressPool"),
            _ref(mp.get("defaultBackendHttpSettings"), "defaultBackendHttpSettings"),
            _ref(mp.get("defaultRedirectConfiguration"), "defaultRedirectConfiguration"))]
    out.extend(route(_props(pr)) for pr in _arr(mp.get("pathRules"), "pathRules"))
    return [r for r in out if any(r)]


def _redirects_to_https(redirect: Mapping[str, Any] | None,
                        listeners: Mapping[str, Mapping[str, Any]]) -> bool:
    if redirect is None:
        return False
    target = listeners.get(_ref(_props(redirect).get("targetListener"), "targetListener"))
    to_https = target is not None and lid(_props(target).get("protocol")) == "https"
    url = str(_props(redirect).get("targetUrl") or "")
    return to_https or url.lower().startswith("https://")


def _waf(b: Build, gw: Mapping[str, Any], policies: Mapping[str, Mapping[str, Any]]
         ) -> tuple[bool, bool | None]:
    """(WAF protects, WAF has a rate-limit rule) of an application gateway. A WAF protects
    only in Prevention mode: in Detection mode it "monitors and logs all threat alerts"
    but blocks nothing (https://learn.microsoft.com/azure/web-application-firewall/ag/
    ag-overview#waf-modes). The gateway's own `webApplicationFirewallConfiguration`
    (`enabled`, `firewallMode`) or its firewall policy's `policySettings` (`state`, `mode`);
    a policy associated with a listener or a path rule overrides the gateway's for that
    traffic, so every one of them must protect. A policy that is named but was not read
    leaves `waf` unknown."""
    gw_id = lid(gw.get("id"))
    p = _props(gw)
    waf_cfg = _obj(p.get("webApplicationFirewallConfiguration"),
                   "webApplicationFirewallConfiguration")
    policy_id = _ref(p.get("firewallPolicy"), "firewallPolicy")
    scoped = [_ref(_props(h).get("firewallPolicy"),
                   "firewallPolicy") for h in _arr(p.get("httpListeners"),
                                                                  "httpListeners")]
    scoped += [_ref(_props(pr).get("firewallPolicy"),
                    "firewallPolicy") for m in _arr(p.get("urlPathMaps"),
                                                                    "urlPathMaps")
               for pr in _arr(_props(m).get("pathRules"), "pathRules")]
    if policy_id:
        protects = True
    else:
        protects = (_flag(waf_cfg.get("enabled"), "webApplicationFirewallConfiguration.enabled")
                    and lid(waf_cfg.get("firewallMode")) == "prevention")
    rate_limit: bool | None = False
    for pid in dict.fromkeys([policy_id, *scoped]):
        if not pid:
            continue
        policy = policies.get(pid)
        if policy is None:
            b.mark(gw_id, ("waf", "waf_rate_limit"), Unread(
                f"WAF policy {pid} is not in the WAF policies read", "dangling"))
            protects, rate_limit = False, None
            continue
        settings = _obj(_props(policy).get("policySettings"), "policySettings")
        # policySettings.state defaults to Enabled, mode to Detection (the API's defaults)
        protects = protects and lid(settings.get("state") or "enabled") != "disabled" and \
            lid(settings.get("mode") or "detection") == "prevention"
        if pid == policy_id and rate_limit is not None:
            rate_limit = any(lid(_props(r).get("ruleType") or r.get("ruleType"))
                             == "ratelimitrule"
                             for r in _arr(_props(policy).get("customRules"), "customRules"))
    if not policy_id and not protects:
        rate_limit = False
    return protects, rate_limit


def appgw_certificates(b: Build, gw: Mapping[str, Any]) -> set[str]:
    out = set()
    for cert in _arr(_props(gw).get("sslCertificates"), "sslCertificates"):
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
