"""The accounts, regions and names the end-to-end suites share.

Account ids are what the harness's provider is configured with (harness/provider.py) or plain existing accounts
of the emulator; a suite that needs an account in another role names its own.
"""

from __future__ import annotations

import re

# The provider's own account (the emulator's default credentials): trusted by default, listed in
# ADMINISTRATOR_ACCOUNT_IDS, and the organization's management account when a test makes an organization. As an
# administrator it is entered without AssumeRole.
ADMIN = "123456789012"
# Another administrator listed in the harness's ADMINISTRATOR_ACCOUNT_IDS, entered through AssumeRole.
ADMIN2 = "210987654321"

# Existing accounts: the usual member, and another one.
MEMBER = "222233334444"
OTHER = "555566667777"
# An account outside TRUSTED_ACCOUNT_IDS with a stack of its own (a StackSet instance's, say).
STACK_ACCOUNT = "232323232323"

R1, R2, R3 = "us-east-1", "eu-west-1", "ap-southeast-2"

# The creation tags on a new account (src/enrollment/accounts.rs).
STACK_TAG = "securityhub-member-account:stack-id"
LOGICAL_ID_TAG = "securityhub-member-account:logical-id"
# The membership watch's mark on a member account: this prefix, then the administrator's id (docs/watch.md).
MARK_PREFIX = "securityhub-member-account:member-of:"
# The event of the membership watch's schedule (docs/watch.md).
WATCH_EVENT = {"SecurityHubMemberAccountWatch": {"AdministratorRoleName": "OrganizationAccountAccessRole"}}
# The key of the payload a continuation invokes the function with (docs/design.md, "Long operations").
ENVELOPE_KEY = "SecurityHubMemberAccountContinuation"
# The message of the error line of a refused request.
REFUSED = "request refused"

ACCOUNT_ID = re.compile(r"^\d{12}$")
# Operations that only read; any other operation in the call log changes something.
READ_OPERATIONS = re.compile(r"^(Get|List|Describe|BatchGet)|^AssumeRole$")
