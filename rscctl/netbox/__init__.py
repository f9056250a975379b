"""NetBox as the source of truth: push the plan through the REST API, read the as-built back.

client.py speaks HTTP, state.py puts both sides in one form (natural keys), push.py writes the
difference, diff.py reports it. The object mapping is rscctl.export.netbox's, as for the CSVs.
"""
