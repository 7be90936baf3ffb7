"""What sits beside the app rather than in the server: starting a real server, the demo study generator, a REST
client for training and scoring, Orthanc as a loopback PACS, NIfTI to DICOM conversion, OHIF browser steps and the
``torchrun`` entry. The tests and benchmarks import these; ``sample-apps/`` holds their command lines."""
