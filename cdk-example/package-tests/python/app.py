"""A user's app, outside the repository: the installed Python package's constructs (the same stack as
../consumer.ts builds from the npm package; check-synth.js compares the two)."""

from aws_cdk import App, Stack
from securityhub_member_account_cdk import (
    SecurityHubEnrollmentStackSet,
    SecurityHubMemberAccount,
    SecurityHubMemberAccountProvider,
)

app = App(analytics_reporting=False)
stack = Stack(app, "ConsumerStack")
provider = SecurityHubMemberAccountProvider.get_or_create(
    stack,
    administrator_account_ids=["111111111111"],
    organization_id="o-a1b2c3d4e5",
    organization_topic=True,
)
provider.add_alarms()
SecurityHubMemberAccount(
    stack,
    "Member",
    account_id="222222222222",
    administrator_account_id="111111111111",
    regions=["us-east-1", "eu-west-1"],
)
SecurityHubEnrollmentStackSet(
    stack,
    "Enrollment",
    administrator_account_id="111111111111",
    organizational_unit_ids=["ou-ab12-cdef3456"],
    provider=provider,
)
app.synth()
