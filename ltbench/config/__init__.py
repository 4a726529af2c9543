"""The resolve step: YAML layers and overrides -> one complete, checked config (no torch, no data, no disk writes).

``layering`` reads and merges the YAML layers, ``checks`` type- and range-checks
values, ``sections`` completes each component section from its factory's
signature (and builds it, for the engine), ``resolve`` puts them together.
"""
