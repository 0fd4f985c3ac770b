"""Built-in checks, one module per control family. Each module is a `posture.checks` entry
point; every `Check` object in it is registered. Checks read only the provider-neutral model:
a provider difference belongs in that provider's normalizer, not in a check."""

from scanner.check import Check, CheckContext, check

__all__ = ["Check", "CheckContext", "check"]
