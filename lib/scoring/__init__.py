from .mean_uncertainty import DISAGREEMENT_KEY, SCORE_KEY, SCORE_TS_KEY, STUDY_SCORES, MeanUncertaintyScoring

__all__ = ["DISAGREEMENT_KEY", "MeanUncertaintyScoring", "SCORE_KEY", "SCORE_TS_KEY", "STUDY_SCORES"]
