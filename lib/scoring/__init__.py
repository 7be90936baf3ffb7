from .mean_uncertainty import SCORE_KEY, SCORE_TS_KEY, MeanUncertaintyScoring

__all__ = ["MeanUncertaintyScoring", "SCORE_KEY", "SCORE_TS_KEY"]
