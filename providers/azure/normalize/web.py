"""App Service web apps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.azure.apis import SECRET_MARK, secret_in
from providers.azure.normalize.common import _arr, _flag, _obj, _parent, _props, _tls, lid
from providers.azure.normalize.context import Build
from scanner.model import Kind


def web_apps(b: Build) -> None:
    configs = {_parent(lid(c.get("id"))): c for c in b.items("Microsoft.Web/sites/config")}
    for site in b.items("Microsoft.Web/sites"):
        sid = lid(site.get("id"))
        p = _props(site)
        cfg = _props(configs.get(sid, {})) or (_obj(p.get("siteConfig"), "siteConfig"))
        if (unread := b.unread("Microsoft.Web/sites/config", sid, "its config/web")):
            b.mark(sid, ("min_tls", "plaintext_secrets"), unread)
        # GET .../config/web answers `appSettings` (and `connectionStrings`) null: the values
        # are listed only by the POST .../config/appsettings/list action (https://learn.
        # microsoft.com/rest/api/appservice/web-apps/list-application-settings), which this
        # read-only collector does not call. Not returned is not "no secret" (it was a pass):
        # None, SEC-01 says it cannot see them. A list (a snapshot holding them) is judged.
        settings = cfg.get("appSettings")
        secrets = None if settings is None else sorted(
            {f"siteConfig.appSettings.{s.get('name')}"
             for s in _arr(settings, "appSettings")
             if isinstance(s, Mapping) and _secret_value(s.get("value"))})
        hostnames = [str(h) for h in p.get("hostNames") or [p.get("defaultHostName")]
                     if h and not str(h).lower().endswith(".scm.azurewebsites.net")]
        b.add(Kind.APP_SERVICE, site, {
            "https_only": None if p.get("httpsOnly") is None else _flag(p["httpsOnly"],
                                                                          "httpsOnly"),
            "public_hostnames": hostnames,
            "min_tls": _tls(cfg.get("minTlsVersion")),
            "public_endpoint": lid(p.get("publicNetworkAccess") or "enabled") != "disabled",
            "plaintext_secrets": secrets,
        }, rid=sid)


def _secret_value(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and (value == SECRET_MARK
                                                       or secret_in(value) is True)
