"""Service behaviour written against a store fixture: in memory here, against DynamoDB Local in tests/integration."""
