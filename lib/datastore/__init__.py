from .validated_local import ValidatedLocalDatastore

__all__ = ["ValidatedLocalDatastore"]
