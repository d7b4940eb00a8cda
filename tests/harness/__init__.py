"""End-to-end harness: drives the real `bootstrap` binary through a stand-in for the Lambda Runtime API.

- `harness.runtime_api.RuntimeApi`: the Lambda Runtime API (`/2018-06-01/runtime/...`) on 127.0.0.1, and
  Lambda's Invoke API that the emulator forwards its Lambda invocations to.
- `harness.provider.Provider`: starts the binary against that API and the AWS emulator, captures its logs.
- `harness.listener`: loopback HTTP listeners that count connections and record requests (who was contacted).
- `harness.events`: CloudFormation custom-resource request events, plain or wrapped in SNS.
- `harness.stacks`: the project's templates on the emulator's own CloudFormation engine, whose custom-resource
  Create the binary answers; `harness.cdk`: the CDK app synthesized and deployed there as the CDK CLI does.
- `harness.fixtures`: pytest fixtures (`bootstrap_binary`, `runtime_api`, `provider`, `cfn`, ...).
- `harness.constants`: the accounts, regions and names the suites share; `harness.scenario`: the resource's
  properties (`props`, `props_builder`) and hubs set up; `harness.assertions`: what a delivered response and the
  emulator's Security Hub state must show (`assert_delivered`, `assert_enrolled`, `assert_not_member`, ...).
- `harness.reliability`: several binaries on one Runtime API, a proxy standing in for the internet, figures.
"""
