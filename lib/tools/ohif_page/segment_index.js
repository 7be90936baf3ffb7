// The labelmap's segment index of a segment, by its name in the panel (OHIF numbers segments in its own order).
(name) => {
    const segments = window.services.segmentationService.getSegmentation('1').segments;
    return Number(Object.keys(segments).find(i => segments[i] && segments[i].label === name));
}
