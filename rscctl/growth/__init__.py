"""Growth of a running build into a larger one: what changes (diff), in which order (steps),
and the work orders, sheets and labels for the floor (export).

The diff of two plans is the one source of "what moves": `rscctl diff`, `rscctl plan --from`
and the loader's refusal of a re-cabling child (rscctl.cli.common.growth_message) all count
with it.
"""
