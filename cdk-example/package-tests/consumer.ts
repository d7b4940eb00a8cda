// A user's app, outside the repository: the installed npm package's constructs, with its packaged Lambda code.
// python/app.py builds the same stack from the Python package; check-synth.js compares the two.
import { App, Stack } from 'aws-cdk-lib';
import { SecurityHubEnrollmentStackSet, SecurityHubMemberAccount, SecurityHubMemberAccountProvider } from 'securityhub-member-account-cdk';

const app = new App({ analyticsReporting: false });
const stack = new Stack(app, 'ConsumerStack');
const provider = SecurityHubMemberAccountProvider.getOrCreate(stack, {
  administratorAccountIds: ['111111111111'],
  organizationId: 'o-a1b2c3d4e5',
  organizationTopic: true,
});
provider.addAlarms();
new SecurityHubMemberAccount(stack, 'Member', {
  accountId: '222222222222',
  administratorAccountId: '111111111111',
  regions: ['us-east-1', 'eu-west-1'],
});
new SecurityHubEnrollmentStackSet(stack, 'Enrollment', {
  administratorAccountId: '111111111111',
  organizationalUnitIds: ['ou-ab12-cdef3456'],
  provider,
});
app.synth();
