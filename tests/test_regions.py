"""Tests for the region catalogue (scanner/data/regions.json) and its loader (scanner.regions)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.regions import (
    Region,
    UnknownRegion,
    find_region,
    is_known_jurisdiction,
    known_jurisdictions,
    region,
    regions,
    within,
)

# The schemas of Hetzner's OpenAPI description these tests use, in the repository (MIT
# licence; tests/data/README.md says where from): the tests never skip for want of it.
HCLOUD_OPENAPI = Path(__file__).resolve().parent / "data" / "hcloud-openapi-subset.json"

EU_MEMBERS = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
}  # fmt: skip
HETZNER_LOCATIONS = {
    "fsn1": ("DE", "eu-central"),
    "nbg1": ("DE", "eu-central"),
    "hel1": ("FI", "eu-central"),
    "ash": ("US", "us-east"),
    "hil": ("US", "us-west"),
    "sin": ("SG", "ap-southeast"),
}
# Microsoft documents these pairs as bidirectional.
SYMMETRIC_AZURE_PAIRS = [
    ("westeurope", "northeurope"),
    ("uksouth", "ukwest"),
    ("germanywestcentral", "germanynorth"),
    ("francecentral", "francesouth"),
    ("swedencentral", "swedensouth"),
    ("norwayeast", "norwaywest"),
    ("switzerlandnorth", "switzerlandwest"),
    ("eastus", "westus"),
    ("eastus2", "centralus"),
    ("northcentralus", "southcentralus"),
    ("westus2", "westcentralus"),
    ("canadacentral", "canadaeast"),
    ("australiaeast", "australiasoutheast"),
    ("australiacentral", "australiacentral2"),
    ("japaneast", "japanwest"),
    ("koreacentral", "koreasouth"),
    ("eastasia", "southeastasia"),
    ("centralindia", "southindia"),
    ("uaenorth", "uaecentral"),
    ("southafricanorth", "southafricawest"),
]
# ... and these as one-directional: region -> its pair, whose own pair is elsewhere.
ASYMMETRIC_AZURE_PAIRS = [
    ("brazilsouth", "southcentralus", "northcentralus"),
    ("brazilsoutheast", "brazilsouth", "southcentralus"),
    ("westindia", "southindia", "centralindia"),
    ("westus3", "eastus", "westus"),
]
UNPAIRED_AZURE = [
    "polandcentral", "italynorth", "israelcentral", "qatarcentral", "spaincentral",
    "mexicocentral", "newzealandnorth",
]  # fmt: skip
# Microsoft's documented exceptions to "a region pair keeps data in its geography".
CROSS_BORDER_AZURE_PAIRS = {"brazilsouth", "eastasia", "southeastasia"}


def raw_catalogue() -> dict[str, Any]:
    text = (resources.files("scanner") / "data" / "regions.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


# --- jurisdictions ----------------------------------------------------------------------------


def test_frankfurt_is_in_the_eu_the_eea_and_germany() -> None:
    frankfurt = region("aws", "eu-central-1")
    assert frankfurt.country == "DE"
    assert {"EU", "EEA", "DE"} <= frankfurt.jurisdictions
    assert within("aws", "eu-central-1", ["EU"])
    assert within("aws", "eu-central-1", ["DE"])


def test_london_is_uk_and_gb_but_not_eu_or_eea() -> None:
    london = region("aws", "eu-west-2")
    assert london.country == "GB"
    assert london.jurisdictions == {"UK", "GB"}
    assert within("aws", "eu-west-2", ["UK"])
    assert not within("aws", "eu-west-2", ["EU", "EEA"])


def test_zurich_is_neither_eu_nor_eea_only_switzerland() -> None:
    zurich = region("aws", "eu-central-2")
    assert zurich.jurisdictions == {"CH"}
    assert not within("aws", "eu-central-2", ["EU", "EEA"])
    assert within("azure", "switzerlandnorth", ["CH"])
    assert not within("azure", "switzerlandnorth", ["EU", "EEA"])


def test_norway_is_eea_but_not_eu() -> None:
    for provider, code in [("azure", "norwayeast"), ("azure", "norwaywest")]:
        assert within(provider, code, ["EEA"])
        assert not within(provider, code, ["EU"])
        assert region(provider, code).jurisdictions == {"EEA", "NO"}


def test_eu_members_are_all_in_the_eea_which_adds_iceland_liechtenstein_norway() -> None:
    countries = raw_catalogue()["countries"]
    eu = {cc for cc, c in countries.items() if "EU" in c["jurisdictions"]}
    eea = {cc for cc, c in countries.items() if "EEA" in c["jurisdictions"]}
    assert eu == EU_MEMBERS
    assert eea == EU_MEMBERS | {"IS", "LI", "NO"}


def test_sovereign_govcloud_and_china_partitions_land_in_their_jurisdictions() -> None:
    assert region("aws", "eusc-de-east-1").jurisdictions == {"EU", "EEA", "DE"}
    assert within("aws", "us-gov-west-1", ["US"])
    assert within("aws", "us-gov-east-1", ["US"])
    assert within("aws", "cn-north-1", ["CN"])
    assert within("aws", "cn-northwest-1", ["CN"])
    assert not within("aws", "ap-east-1", ["CN"])  # Hong Kong is its own jurisdiction here


def test_a_regions_jurisdictions_are_its_country_blocs_plus_the_country_code() -> None:
    countries = raw_catalogue()["countries"]
    for r in regions():
        assert r.jurisdictions == {*countries[r.country]["jurisdictions"], r.country}, r


def test_every_regions_country_is_in_the_countries_table() -> None:
    data = raw_catalogue()
    countries = data["countries"]
    for provider, table in data["providers"].items():
        for code, entry in table.items():
            assert entry["country"] in countries, (provider, code)


def test_every_country_is_an_iso_alpha2_code_and_every_bloc_it_names_is_declared() -> None:
    data = raw_catalogue()
    declared = set(data["jurisdictions"])
    assert {"EU", "EEA", "UK", "US", "CN"} <= declared
    for cc, country in data["countries"].items():
        assert len(cc) == 2 and cc.isascii() and cc.isupper(), cc
        assert country["name"]
        assert set(country["jurisdictions"]) <= declared, cc


def test_known_jurisdictions_are_the_blocs_plus_every_country_code() -> None:
    data = raw_catalogue()
    assert known_jurisdictions() == set(data["jurisdictions"]) | set(data["countries"])
    assert {r.country for r in regions()} <= known_jurisdictions()


def test_is_known_jurisdiction_accepts_blocs_and_country_codes_in_any_case() -> None:
    for name in ["EU", "EEA", "UK", "US", "CN", "DE", "GB", "CH", "NO", "LU", "eu", " de "]:
        assert is_known_jurisdiction(name), name
    for name in ["XX", "Europe", "EUR", "", "UK-GB"]:
        assert not is_known_jurisdiction(name), name


# --- within() ---------------------------------------------------------------------------------


def test_within_is_true_iff_the_regions_jurisdictions_meet_the_allowed_set() -> None:
    assert within("hetzner", "fsn1", ["EU"])
    assert within("hetzner", "fsn1", ["FR", "DE"])
    assert not within("hetzner", "fsn1", ["FR"])
    assert within("hetzner", "hel1", ["FI"])
    assert not within("hetzner", "ash", ["EU", "EEA", "UK"])
    assert within("hetzner", "ash", ["US"])
    assert not within("hetzner", "sin", ["US"])


def test_within_with_nothing_allowed_is_false() -> None:
    assert not within("aws", "eu-central-1", [])


def test_within_ignores_unknown_jurisdiction_names_rather_than_failing() -> None:
    assert not within("aws", "eu-central-1", ["MARS"])
    assert within("aws", "eu-central-1", ["MARS", "EU"])


def test_within_matches_jurisdiction_names_case_insensitively() -> None:
    assert within("aws", "eu-central-1", ["eu"])
    assert within("aws", "eu-central-1", ["de"])


def test_within_accepts_any_iterable_of_names() -> None:
    assert within("aws", "eu-west-1", {"EU"})
    assert within("aws", "eu-west-1", frozenset({"IE"}))
    assert within("aws", "eu-west-1", (name for name in ["IE"]))


def test_within_rejects_a_bare_string_instead_of_silently_iterating_its_letters() -> None:
    with pytest.raises(TypeError):
        within("aws", "eu-west-1", "EU")


def test_within_raises_unknown_region_for_an_unknown_region() -> None:
    with pytest.raises(UnknownRegion, match="eu-west-9"):
        within("aws", "eu-west-9", ["EU"])


# --- lookup -----------------------------------------------------------------------------------


def test_unknown_region_raises_unknown_region_naming_the_code() -> None:
    with pytest.raises(UnknownRegion, match="mars-north-1") as excinfo:
        region("aws", "mars-north-1")
    assert isinstance(excinfo.value, LookupError)
    assert excinfo.value.provider == "aws"
    assert excinfo.value.code == "mars-north-1"


def test_unknown_region_message_suggests_close_codes() -> None:
    with pytest.raises(UnknownRegion, match="westeurope"):
        region("azure", "westeuropa")


def test_unknown_provider_raises_unknown_region_naming_provider_and_code() -> None:
    with pytest.raises(UnknownRegion, match="gcp") as excinfo:
        region("gcp", "europe-west3")
    assert "europe-west3" in str(excinfo.value)
    with pytest.raises(UnknownRegion, match="gcp"):
        regions("gcp")
    assert find_region("gcp", "europe-west3") is None


def test_find_region_returns_none_for_an_unknown_region() -> None:
    assert find_region("aws", "mars-north-1") is None
    assert find_region("hetzner", "fsn2") is None
    assert find_region("azure", "") is None


def test_west_europe_display_name_resolves_like_westeurope() -> None:
    assert region("azure", "West Europe") == region("azure", "westeurope")
    assert region("azure", "Germany West Central").code == "germanywestcentral"
    assert region("azure", "  UK South ").code == "uksouth"


def test_codes_match_case_insensitively_for_every_provider() -> None:
    assert region("aws", "EU-CENTRAL-1").code == "eu-central-1"
    assert region("AWS", "eu-central-1").code == "eu-central-1"
    assert region("azure", "WESTEUROPE").code == "westeurope"
    assert region("hetzner", "FSN1").code == "fsn1"


def test_spaces_are_only_ignored_for_azure() -> None:
    assert find_region("aws", "eu central-1") is None
    assert find_region("hetzner", "fsn 1") is None


@given(
    r=st.sampled_from(regions()),
    flips=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_any_casing_of_any_code_resolves_to_the_same_region(r: Region, flips: list[bool]) -> None:
    scrambled = "".join(c.upper() if flip else c for c, flip in zip(r.code, flips, strict=False))
    assert region(r.provider, scrambled) == r


@given(r=st.sampled_from(regions("azure")))
def test_every_azure_display_name_resolves_to_its_region(r: Region) -> None:
    assert region("azure", r.name) == r


def test_regions_are_sorted_by_provider_then_code() -> None:
    everything = regions()
    assert everything == sorted(everything, key=lambda r: (r.provider, r.code))
    assert {r.provider for r in everything} == {"aws", "azure", "hetzner"}
    for provider in ("aws", "azure", "hetzner"):
        mine = regions(provider)
        assert mine == [r for r in everything if r.provider == provider]


def test_region_is_an_immutable_value() -> None:
    r = region("aws", "eu-central-1")
    with pytest.raises(AttributeError):
        r.country = "FR"  # type: ignore[misc]
    assert r == region("aws", "eu-central-1")
    assert hash(r) == hash(region("aws", "eu-central-1"))


# --- coverage ---------------------------------------------------------------------------------


def test_catalogue_holds_at_least_30_aws_and_50_azure_regions() -> None:
    assert len(regions("aws")) >= 30
    assert len(regions("azure")) >= 50


def test_every_public_aws_region_and_the_special_partitions_are_present() -> None:
    expected = {
        "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2",
        "ap-northeast-3", "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2",
        "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
        "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
        "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1",
        "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1",
        "us-west-2",
        "us-gov-east-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1", "eusc-de-east-1",
    }  # fmt: skip
    assert {r.code for r in regions("aws")} == expected


def test_european_azure_regions_are_present_in_the_right_countries() -> None:
    expected = {
        "westeurope": "NL", "northeurope": "IE", "germanywestcentral": "DE",
        "germanynorth": "DE", "uksouth": "GB", "ukwest": "GB", "francecentral": "FR",
        "francesouth": "FR", "swedencentral": "SE", "swedensouth": "SE", "norwayeast": "NO",
        "norwaywest": "NO", "switzerlandnorth": "CH", "switzerlandwest": "CH",
        "polandcentral": "PL", "italynorth": "IT", "spaincentral": "ES",
    }  # fmt: skip
    for code, country in expected.items():
        assert region("azure", code).country == country, code


def test_every_hetzner_api_location_is_present_with_its_country_and_network_zone() -> None:
    table = raw_catalogue()["providers"]["hetzner"]
    assert set(table) == set(HETZNER_LOCATIONS)
    for code, (country, zone) in HETZNER_LOCATIONS.items():
        assert region("hetzner", code).country == country
        assert table[code]["network_zone"] == zone


def test_codes_are_lowercase_and_unique_within_a_provider_after_normalisation() -> None:
    for provider in ("aws", "azure", "hetzner"):
        codes = [r.code for r in regions(provider)]
        assert all(code == code.lower() and " " not in code for code in codes)
        assert len(set(codes)) == len(codes)


# --- Azure region pairs -----------------------------------------------------------------------


def test_every_azure_pair_refers_to_a_region_in_the_catalogue() -> None:
    for r in regions("azure"):
        if r.pair is not None:
            assert find_region("azure", r.pair) is not None, r
            assert r.pair != r.code


def test_only_azure_regions_have_pairs() -> None:
    assert all(r.pair is None for r in regions("aws") + regions("hetzner"))


@pytest.mark.parametrize(("a", "b"), SYMMETRIC_AZURE_PAIRS)
def test_documented_symmetric_azure_pairs_are_symmetric(a: str, b: str) -> None:
    assert region("azure", a).pair == b
    assert region("azure", b).pair == a


@pytest.mark.parametrize(("code", "pair", "pairs_pair"), ASYMMETRIC_AZURE_PAIRS)
def test_documented_one_way_azure_pairs_are_one_way(code: str, pair: str, pairs_pair: str) -> None:
    assert region("azure", code).pair == pair
    assert region("azure", pair).pair == pairs_pair


@pytest.mark.parametrize("code", UNPAIRED_AZURE)
def test_azure_regions_without_a_pair_have_pair_none(code: str) -> None:
    assert region("azure", code).pair is None


def test_azure_pairs_stay_in_one_country_or_the_eu_except_the_documented_exceptions() -> None:
    for r in regions("azure"):
        if r.pair is None or r.code in CROSS_BORDER_AZURE_PAIRS:
            continue
        pair = region("azure", r.pair)
        # The "Europe" geography pairs North Europe (IE) with West Europe (NL): both EU.
        assert pair.country == r.country or {"EU"} <= r.jurisdictions & pair.jurisdictions, r


def test_raw_azure_entries_spell_out_pair_even_when_null() -> None:
    for code, entry in raw_catalogue()["providers"]["azure"].items():
        assert "pair" in entry, code


# --- Hetzner's own API description ------------------------------------------------------------


def _hcloud_locations(node: Any) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """Location names in an OpenAPI document: (name, full location object or None)."""
    if isinstance(node, dict):
        if isinstance(node.get("name"), str) and isinstance(node.get("network_zone"), str):
            yield node["name"], node  # a full Location object in an example body
        for key, value in node.items():
            if key in ("location", "home_location"):
                if isinstance(value, str):  # e.g. "location": "fsn1" in a price or request
                    yield value, None
                elif isinstance(value, dict) and isinstance(value.get("example"), str):
                    yield value["example"], None  # a schema property's example
            yield from _hcloud_locations(value)
    elif isinstance(node, list):
        for item in node:
            yield from _hcloud_locations(item)


def test_hcloud_openapi_example_locations_are_all_in_the_catalogue() -> None:
    spec = json.loads(HCLOUD_OPENAPI.read_text(encoding="utf-8"))
    found = list(_hcloud_locations(spec))
    location_schema = spec.get("components", {}).get("schemas", {}).get("location", {})
    schema_example = location_schema.get("properties", {}).get("name", {}).get("example")
    if isinstance(schema_example, str):
        found.append((schema_example, None))
    assert found, "no location examples found in the Hetzner OpenAPI description"

    zones = {
        code: entry["network_zone"]
        for code, entry in raw_catalogue()["providers"]["hetzner"].items()
    }
    for name, obj in found:
        known = find_region("hetzner", name)
        assert known is not None, f"Hetzner example location {name!r} is not in the catalogue"
        if obj is not None:
            if isinstance(obj.get("country"), str):
                assert obj["country"] == known.country, name
            assert obj["network_zone"] == zones[known.code], name
