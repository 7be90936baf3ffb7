"""The HTTP layer: routes in front of MONAI Label's (request guards, the labeling team's rounds, the OHIF viewer's
configuration). It imports the layers below it (validation, datastores, tasks); nothing below imports it."""
