() => {
    const volume = window.services.segmentationService.getLabelmapVolume('1');
    if (!volume) return null;
    const voxels = volume.voxelManager.getCompleteScalarDataArray(), histogram = {};
    for (let i = 0; i < voxels.length; i++) if (voxels[i]) histogram[voxels[i]] = (histogram[voxels[i]] || 0) + 1;
    return histogram;
}
