"""Local AWS emulator for the tests: moto's server plus what the provider needs and moto lacks.

Modules: server (entry point), app (WSGI wiring), securityhub (membership and hub tags model) and
securityhub_api (its moto routes), organizations (asynchronous CreateAccount, MoveAccount errors), sts
(AssumeRole refusals), regions (DescribeRegions per account), cloudformation (moto's CloudFormation engine
with Lambda invocations sent to the Runtime API stand-in), stacks (stacks held in progress, as CloudFormation
holds one while it waits for a custom resource's answer), faults (latency, faults, call log middleware),
throttle (token buckets per service, account and region, and the served and throttled counts),
identify (service/region/account/operation of a request), errors (each service's error format), calls (call
log), config (settings), control (the /_emulator/ API), state (all state and its reset), client (start it,
drive it, act as accounts) and fixtures (pytest).
"""
