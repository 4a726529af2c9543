"""Recipe cards (the YAML folders beside this file): each published number's settings, checked against ltbench's."""
