"""The acts of engine/service.py, one module per concept (tasks, units, notices, publicity,
audit, cases, identification, users). Each registers its acts (`service.op`) when imported;
`service.spec_of` imports a module on the first call of one of its acts, so a command loads
only its own concept's code."""
