"""Rules over events: load YAML rules (rules.py), evaluate them purely (evaluate.py), match silences."""
