"""The command groups of `aidcal`, one module per concept; cli.py assembles them."""
