"""Files people write (config, rules, catalogs, templates): YAML read with positions, `file:line` errors, durations."""
