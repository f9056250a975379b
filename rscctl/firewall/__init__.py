"""The isolation firewall: zones resolved from the plan, rulesets rendered, properties proved.

zones (who is where) -> rules (networkx graph of zones and flows -> ruleset data) -> render
(Jinja2 templates, the ones Ansible pushes) ; nftjson (pure parser of `nft -j`) -> prove (the
isolation properties, on what nft parsed back). Running nft lives in rscctl.verify.firewall.
"""
