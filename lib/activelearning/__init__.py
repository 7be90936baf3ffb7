from .most_uncertain import MostUncertain

__all__ = ["MostUncertain"]
