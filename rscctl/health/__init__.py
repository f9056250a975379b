"""Node health: the check shipped to the nodes (check.py, standard library only), what each
host is planned to have (planned.py) and the gatherer behind `rscctl health` (gather.py)."""
