"""Pretrained weights from where the user allows: library caches found without the network, open_clip models."""
