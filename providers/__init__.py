"""Cloud provider adapters, one package per cloud, each registered as a `posture.providers`
entry point (see scanner.registry)."""
