"""The vault account's own service (docs/VAULT.md; stack infra/vault/serverless.yml, deployed
with the vault account's credentials). Nothing here runs in the source account, and nothing
in the source account can delete or re-tag what this keeps.

| module   | role                                                                       |
|----------|----------------------------------------------------------------------------|
| settings | the vault stack's configuration (its region, key, retention, the source)   |
| plan     | pure: what is shared, what the vault holds → what to copy, report, wait on |
| state    | AWS reads and writes in the vault account (shared list, copies, reports)   |
| copy     | the pass every trigger runs: report finished copies, fill the copy slots   |
| cleanup  | the vault's own retention, ownership-exact (only its tagged copies)        |

Handlers: handlers/vault_copy.py (the "shared" event, RDS-EVENT-0060 of a vault copy, and
the reconcile schedule), handlers/vault_cleanup.py (the cleanup schedule).
"""
