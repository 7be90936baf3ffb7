from .leases import LEASE_KEYS, LeaseBook
from .leasing_strategy import LeasingStrategy
from .most_uncertain import MostUncertain
from .random_free import RandomFree

__all__ = ["LEASE_KEYS", "LeaseBook", "LeasingStrategy", "MostUncertain", "RandomFree"]
