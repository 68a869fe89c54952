"""Operational checks: `telephony webhook test`, `telephony endpoints`, `telephony doctor`.

Library layer (below `commands`, beside `library`): functions that take a loaded `Manifest`
and return results; nothing here prints. `result.Check` is one line of a report.
"""
