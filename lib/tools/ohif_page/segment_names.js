() => Object.values(window.services.segmentationService.getSegmentation('1').segments).filter(Boolean).map(s => s.label)
