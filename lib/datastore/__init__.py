from .dicomweb import ValidatedDICOMWebDatastore, dicomweb_client, require_dcmqi
from .validated_local import ValidatedLocalDatastore

__all__ = ["ValidatedDICOMWebDatastore", "ValidatedLocalDatastore", "dicomweb_client", "require_dcmqi"]
