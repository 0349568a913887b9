"""Policy: the rules from the field as typed settings (``rules``), read and checked from TOML (``load``), and the commented template (``template``)."""

from cluster_mapper.policy.load import check_policy_districts, load_policy, policy_from_dict
from cluster_mapper.policy.rules import DistrictPolicy, Policy, SupportPolicy, TravelPolicy
from cluster_mapper.policy.template import policy_template

__all__ = ["DistrictPolicy", "Policy", "SupportPolicy", "TravelPolicy", "check_policy_districts", "load_policy", "policy_from_dict", "policy_template"]
