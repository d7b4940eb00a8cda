"""End-to-end harness: drives the real `bootstrap` binary through a stand-in for the Lambda Runtime API.

- `harness.runtime_api.RuntimeApi`: the Lambda Runtime API (`/2018-06-01/runtime/...`) on 127.0.0.1.
- `harness.provider.Provider`: starts the binary against that API and the AWS emulator, captures its logs.
- `harness.listener`: loopback HTTP listeners that count connections and record requests (who was contacted).
- `harness.events`: CloudFormation custom-resource request events, plain or wrapped in SNS.
- `harness.fixtures`: pytest fixtures (`bootstrap_binary`, `runtime_api`, `provider`, `cfn`, ...).
"""
