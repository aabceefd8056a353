"""Doodle Lab's convnets: the architecture registry and tools to look inside a trained model."""
