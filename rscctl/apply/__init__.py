"""`rscctl apply`: the plan pushed to the nodes with Ansible (inventory plugin data, batches,
ansible-runner, run records)."""
