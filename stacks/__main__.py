"""The Pulumi program of the rscctl-cluster project: the stack's build, pushed per SU and node."""

from rscctl_stack.program import main

main()
