"""Resource types mapped without checks: they carry no property posture's checks judge
(resource groups, DNS, routes and their associations, naming and placement), or what they
hold is judged live, not from a plan (identities and their grants: the IAM checks are one
`skip` per plan, see providers.terraform.TerraformProvider.not_visible). A plan's instances
of these types are read (some are context for others: an ENI's security groups, the
account's EBS encryption by default) and never listed as NOT-ASSESSED.

A type with a property a check could judge is not listed here: it is mapped to a model
kind, or stays NOT-ASSESSED (docs/terraform.md lists both).
"""

from __future__ import annotations

AWS = frozenset({
    # identities and what is judged live of them (IAM-01/04); their grants are judged by
    # IAM-02 through providers.terraform.iam (aws_iam_policy: read for the attachments that
    # name it)
    "aws_iam_policy", "aws_iam_instance_profile",
    "aws_iam_openid_connect_provider", "aws_iam_saml_provider", "aws_iam_service_linked_role",
    "aws_iam_access_key", "aws_iam_account_password_policy", "aws_iam_user_login_profile",
    "aws_iam_role_policies_exclusive", "aws_iam_user_policies_exclusive",
    "aws_iam_group_policies_exclusive",  # inline policies by name: their documents are
    # the aws_iam_*_policy resources'
    "aws_iam_policy_document",
    # routing (a public address is taken as routed to an internet gateway: docs/terraform.md)
    "aws_route_table", "aws_route", "aws_route_table_association", "aws_internet_gateway",
    "aws_egress_only_internet_gateway", "aws_nat_gateway", "aws_main_route_table_association",
    "aws_default_route_table", "aws_vpc_dhcp_options", "aws_vpc_dhcp_options_association",
    "aws_internet_gateway_attachment", "aws_vpc_ipv4_cidr_block_association",
    # names, placement, grouping, monitoring, lifecycle
    "aws_db_subnet_group", "aws_elasticache_subnet_group", "aws_neptune_subnet_group",
    "aws_docdb_subnet_group", "aws_db_parameter_group", "aws_db_option_group",
    "aws_rds_cluster_parameter_group", "aws_neptune_parameter_group",
    "aws_neptune_cluster_parameter_group", "aws_docdb_cluster_parameter_group", "aws_route53_zone",
    "aws_route53_record", "aws_route53_query_log", "aws_cloudwatch_log_group",
    "aws_cloudwatch_log_stream", "aws_cloudwatch_log_resource_policy",
    "aws_cloudwatch_metric_alarm", "aws_cloudwatch_dashboard", "aws_cloudwatch_event_rule",
    "aws_cloudwatch_event_target", "aws_flow_log", "aws_key_pair", "aws_placement_group",
    "aws_s3_bucket_lifecycle_configuration", "aws_s3_bucket_logging", "aws_s3_bucket_object",
    "aws_s3_object", "aws_s3_bucket_notification", "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_cors_configuration", "aws_s3_bucket_website_configuration",
    "aws_acm_certificate_validation", "aws_cloudfront_origin_access_identity",
    "aws_cloudfront_origin_access_control", "aws_ecr_lifecycle_policy",
    "aws_lambda_permission", "aws_lambda_layer_version", "aws_autoscaling_policy",
    "aws_appautoscaling_target", "aws_appautoscaling_policy", "aws_sns_topic_subscription",
    "aws_ssm_parameter", "aws_lb_listener_rule",
    "aws_network_interface_attachment",
})

AZURERM = frozenset({
    "azurerm_resource_group", "azurerm_virtual_network", "azurerm_virtual_network_peering",
    # identities and grants (judged live)
    # (azurerm_role_definition: read for the role assignments that use it, grants.py)
    "azurerm_role_definition", "azurerm_user_assigned_identity",
    "azurerm_key_vault_access_policy", "azurerm_federated_identity_credential",
    # names, routing, placement, monitoring
    "azurerm_private_dns_zone", "azurerm_private_dns_zone_virtual_network_link",
    "azurerm_private_dns_a_record", "azurerm_dns_zone", "azurerm_dns_a_record",
    "azurerm_dns_cname_record", "azurerm_route_table", "azurerm_route",
    "azurerm_subnet_route_table_association", "azurerm_nat_gateway",
    "azurerm_nat_gateway_public_ip_association", "azurerm_subnet_nat_gateway_association",
    "azurerm_network_watcher", "azurerm_availability_set", "azurerm_proximity_placement_group",
    "azurerm_log_analytics_workspace", "azurerm_log_analytics_solution",
    "azurerm_application_insights", "azurerm_monitor_action_group",
    "azurerm_monitor_metric_alert", "azurerm_monitor_log_profile",
    "azurerm_monitor_diagnostic_setting", "azurerm_management_lock", "azurerm_service_plan",
    "azurerm_app_service_plan", "azurerm_virtual_machine_extension",
    "azurerm_virtual_machine_data_disk_attachment", "azurerm_ssh_public_key",
    "azurerm_key_vault_secret", "azurerm_private_endpoint", "azurerm_bastion_host",
})

HCLOUD = frozenset({
    "hcloud_rdns", "hcloud_placement_group", "hcloud_snapshot",
})

TYPES = AWS | AZURERM | HCLOUD
