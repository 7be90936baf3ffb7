from .mean_uncertainty import MeanUncertaintyScoring, SCORE_KEY, SCORE_TS_KEY

__all__ = ["MeanUncertaintyScoring", "SCORE_KEY", "SCORE_TS_KEY"]
