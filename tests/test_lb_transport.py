"""A load balancer forwards its listener's transport protocol, not TCP whatever the listener
is: an Azure load-balancing rule of protocol `Udp` forwards UDP, `All` both TCP and UDP
(https://learn.microsoft.com/rest/api/load-balancer/load-balancers/create-or-update#transportprotocol);
an AWS NLB `UDP` listener UDP, `TCP_UDP` both
(https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-listeners.html).
Azure over the azure-mgmt clients against the local ARM server; AWS over boto3 against moto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from providers.azure import PROVIDER
from scanner import snapshot
from scanner.engine import build_graph
from tests.azure_arm_server import ArmServer
from tests.azure_shapes import NET, RG, estate
from tests.helpers import run

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.posture-transport-token"
VM_WEB = f"{RG}/Microsoft.Compute/virtualMachines/vm-web".lower()
LB = f"{NET}/loadBalancers/lb-ip".lower()


def _azure_forwarded(tmp_path: Path, protocol: str) -> set[tuple[str, str]]:
    """(protocol, ports) of what lb-ip forwards to vm-web when its rule's protocol is
    `protocol` (vm-web's NSG admits port 80 from anywhere, every protocol)."""
    data = estate()
    sub = next(iter(data))
    lbs = data[sub]["Microsoft.Network/loadBalancers"]
    lb = next(x for x in lbs if x["name"] == "lb-ip")
    lb["properties"]["loadBalancingRules"][0]["properties"]["protocol"] = protocol
    snap = tmp_path / f"estate-{protocol}.json"
    with ArmServer(data, token=TOKEN) as arm:
        result = run("scan", "azure", "--checks", "NET-02", "--format", "json",
                     "--no-timestamps", "--record", str(snap),
                     env={"POSTURE_AZURE_ARM_ENDPOINT": arm.url,
                          "POSTURE_AZURE_ACCESS_TOKEN": TOKEN,
                          "REQUESTS_CA_BUNDLE": arm.ca_file,
                          "POSTURE_RETRY_BASE_SECONDS": "0.01"})
    assert result.exit_code in (0, 1, 3), result.stderr
    graph = build_graph([PROVIDER.normalize(snapshot.load(snap).sections[0])])
    return {(e.protocol, str(e.ports)) for r in graph.reaches(VM_WEB) if r.via == LB
            for e in r.exposures}


@pytest.mark.parametrize("protocol, forwarded", [
    ("Tcp", {("tcp", "80")}),
    ("Udp", {("udp", "80")}),
    ("All", {("tcp", "80"), ("udp", "80")}),
])
def test_azure_load_balancing_rule_forwards_its_own_transport(
        tmp_path: Path, protocol: str, forwarded: set[tuple[str, str]]) -> None:
    assert _azure_forwarded(tmp_path, protocol) == forwarded


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from tests.aws_proxy import start_moto

    server, url = start_moto()
    try:
        yield url
    finally:
        server.stop()


@pytest.mark.parametrize("protocol, forwarded", [
    ("UDP", {("udp", "53")}),
    ("TCP_UDP", {("tcp", "53"), ("udp", "53")}),
])
def test_aws_nlb_listener_forwards_its_own_transport(
        moto_url: str, tmp_path: Path, protocol: str, forwarded: set[tuple[str, str]]) -> None:
    import boto3

    from providers.aws import PROVIDER as AWS

    kw = {"region_name": "eu-central-1", "endpoint_url": moto_url,
          "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    ec2, elb = boto3.client("ec2", **kw), boto3.client("elbv2", **kw)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24",
                                 AvailabilityZone=f"eu-central-1{az}")["Subnet"]["SubnetId"]
               for i, az in enumerate("ab")]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                 SubnetId=subnets[0])["Instances"][0]["InstanceId"]
    name = protocol.lower().replace("_", "-")
    lb = elb.create_load_balancer(Name=f"dns-{name}", Subnets=subnets, Type="network",
                                  Scheme="internet-facing")["LoadBalancers"][0]
    tg = elb.create_target_group(Name=f"dns-{name}", Protocol=protocol, Port=53, VpcId=vpc,
                                 TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": instance}])
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol=protocol, Port=53,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    snap = tmp_path / "aws.json"
    env = {"AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-central-1",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
    result = run("scan", "aws", "--regions", "eu-central-1", "--checks", "NET-02",
                 "--format", "json", "--no-timestamps", "--record", str(snap), env=env)
    assert result.exit_code in (0, 1, 3), result.stderr
    graph = build_graph([AWS.normalize(snapshot.load(snap).sections[0])])
    lb_id = next(r.id for r in graph.resources.values() if r.name == f"dns-{name}")
    got = {(e.protocol, str(e.ports)) for rid in graph.resources
           for r in graph.reaches(rid) if r.via == lb_id for e in r.exposures}
    assert got == forwarded
    # the load balancer itself answers the internet on the listener's transports only
    assert {(e.protocol, str(e.ports)) for r in graph.reaches(lb_id)
            for e in r.exposures} == forwarded
