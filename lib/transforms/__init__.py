from .auto_intensity import AutoIntensityd
from .class_map import ClassMapd
from .copy_paste import CopyPaste, PastedBox
from .disagreement import SubnetDisagreementd
from .entropy import MeanUncertaintyd
from .label_counts import LabelVoxelCountsd
from .load_count import CountLoadsd, study_loads
from .preprocessing import preprocessing
from .strong_view import StrongView

__all__ = [
    "AutoIntensityd",
    "ClassMapd",
    "CopyPaste",
    "CountLoadsd",
    "LabelVoxelCountsd",
    "MeanUncertaintyd",
    "PastedBox",
    "StrongView",
    "SubnetDisagreementd",
    "preprocessing",
    "study_loads",
]
