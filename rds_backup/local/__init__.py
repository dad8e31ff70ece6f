"""The local AWS: what lets the chain run with no AWS account (tests, demo, benchmark).

Never shipped to Lambda (excluded in serverless.yml). Everything moto lacks is done here,
in the open: seeding, the Lambda context, and (later) the event emulator and runner.
"""
