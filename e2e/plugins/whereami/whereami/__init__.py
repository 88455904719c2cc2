"""The e2e plugin that reports where its Python comes from."""
