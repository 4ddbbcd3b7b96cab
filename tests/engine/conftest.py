from tests.engine.support import make_rules

__all__ = ["make_rules"]
