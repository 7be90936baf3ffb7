from .study_scores import DISAGREEMENT_KEY, SCORE_KEY, SCORE_TS_KEY, STUDY_SCORES, StudyScoring

__all__ = ["DISAGREEMENT_KEY", "StudyScoring", "SCORE_KEY", "SCORE_TS_KEY", "STUDY_SCORES"]
