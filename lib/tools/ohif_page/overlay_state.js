// The Uncertainty overlay as the viewer holds it: its labeled voxels (null without one), and per viewport whether it
// is shown and which segmentation the brush edits.
() => {
    const service = window.services.segmentationService;
    const volume = service.getSegmentation('uncertainty') && service.getLabelmapVolume('uncertainty');
    let voxels = null;
    if (volume) {
        voxels = 0;
        for (const v of volume.voxelManager.getCompleteScalarDataArray()) voxels += v ? 1 : 0;
    }
    const viewports = {};
    for (const viewport of window.cornerstone.getRenderingEngines().flatMap(e => e.getViewports())) {
        const representations = service.getSegmentationRepresentations(viewport.id);
        const shown = representations.find(r => r.segmentationId === 'uncertainty');
        viewports[viewport.id] = {
            shown: Boolean(shown && shown.visible && Object.values(shown.segments || {}).every(s => s.visible)),
            active: (representations.find(r => r.active) || {}).segmentationId || null,
        };
    }
    return {voxels, viewports};
}
