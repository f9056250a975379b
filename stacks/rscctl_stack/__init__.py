"""The rscctl-cluster Pulumi program's components (see stacks/Pulumi.yaml)."""
