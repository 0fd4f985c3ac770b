"""App Service apps in Terraform plans judged whole, as the live reading judges them
(providers/azure/normalize/web.py): `https_only` (TLS-02; azurerm default false), the site
config's minimum TLS version (TLS-01; default 1.2; `min_tls_version` on the legacy
resources), public network access, location (RES-01) and tags. Before: only SEC-01 was
judged and each app was listed NOT-ASSESSED `partly_assessed`; TLS-01 and TLS-02 gave no
verdict for them."""

from __future__ import annotations

from typing import Any

import pytest

from fixtures.terraform.build_plans import plan, res
from tests.helpers import PLAN_STAMP as STAMP
from tests.helpers import findings_of, scan_json
from tests.helpers import write_plan as write

AZURERM = {"azurerm": {"name": "azurerm", "expressions": {}}}
APP = {"location": "westeurope", "resource_group_name": "rg", "service_plan_id": "p"}


def web_app(address: str, site: dict[str, Any] | None = None, *,
            unknown: dict[str, Any] | None = None, **values: Any) -> dict[str, Any]:
    return res(address, {**APP, "name": address.split(".")[-1],
                         "site_config": [site or {}], **values},
               unknown={"id": True, **(unknown or {})})


def apps_plan() -> dict[str, Any]:
    rs = [
        web_app("azurerm_linux_web_app.plain", {"minimum_tls_version": "1.2"},
                https_only=False),
        web_app("azurerm_windows_web_app.old_tls", {"minimum_tls_version": "1.0"},
                https_only=True),
        # neither set: https_only false, minimum_tls_version 1.2 (azurerm defaults)
        web_app("azurerm_linux_function_app.defaults"),
        web_app("azurerm_windows_function_app.tls13", {"minimum_tls_version": "1.3"},
                https_only=True),
        # the legacy resource names it min_tls_version
        web_app("azurerm_app_service.legacy", {"min_tls_version": "1.1"}, https_only=True),
        web_app("azurerm_linux_web_app.later", {}, unknown={
            "https_only": True, "site_config": [{"minimum_tls_version": True}]}),
        # the whole site_config block known only after apply (a dynamic block's input)
        res("azurerm_linux_function_app_slot.blocked", {**APP, "name": "blocked",
                                                        "https_only": True},
            unknown={"id": True, "site_config": True}),
        web_app("azurerm_linux_web_app.private", {"minimum_tls_version": "1.0"},
                https_only=False, public_network_access_enabled=False),
        web_app("azurerm_linux_web_app.abroad", {"minimum_tls_version": "1.2"},
                https_only=True, location="East US", tags={"env": "prod"}),
    ]
    return plan(rs, provider_config=AZURERM, timestamp=STAMP)


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = write(tmp_path_factory.mktemp("apps"), apps_plan())
    _, out = scan_json(str(path), "--checks", "TLS-01,TLS-02,RES-01,SEC-01")
    return out


def verdict(doc: dict[str, Any], check: str, address: str) -> str | None:
    got = [f["status"] for f in findings_of(doc) if f["check"] == check
           and str(f["resource"]).split("/", 1)[-1] == address]
    assert len(got) <= 1, got
    return got[0] if got else None


@pytest.mark.parametrize(("address", "tls01", "tls02"), [
    ("azurerm_linux_web_app.plain", "pass", "fail"),
    ("azurerm_windows_web_app.old_tls", "fail", "pass"),
    ("azurerm_linux_function_app.defaults", "pass", "fail"),
    ("azurerm_windows_function_app.tls13", "pass", "pass"),
    ("azurerm_app_service.legacy", "fail", "pass"),
    ("azurerm_linux_web_app.later", "error", "error"),
    ("azurerm_linux_function_app_slot.blocked", "error", "pass"),
    ("azurerm_linux_web_app.abroad", "pass", "pass"),
])
def test_plan_app_https_and_minimum_tls_are_judged_as_live(
        doc: dict[str, Any], address: str, tls01: str, tls02: str) -> None:
    assert verdict(doc, "TLS-01", address) == tls01
    assert verdict(doc, "TLS-02", address) == tls02


def test_plan_app_without_public_network_access_is_no_external_endpoint(
        doc: dict[str, Any]) -> None:
    assert verdict(doc, "TLS-01", "azurerm_linux_web_app.private") is None
    assert verdict(doc, "TLS-02", "azurerm_linux_web_app.private") is None


def test_plan_app_location_is_judged_and_apps_are_no_longer_partly_assessed(
        doc: dict[str, Any]) -> None:
    assert verdict(doc, "RES-01", "azurerm_linux_web_app.abroad") == "fail"
    assert verdict(doc, "RES-01", "azurerm_linux_web_app.plain") == "pass"
    assert not [f for f in findings_of(doc) if f["check"] == "NOT-ASSESSED"
                and f["evidence"].get("reason") == "partly_assessed"]
