# Fixtures live beside the code they start: the AWS emulator and the Lambda harness.
pytest_plugins = ["emulator.fixtures", "harness.fixtures"]
