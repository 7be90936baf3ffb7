// The labelmap's value at a world point, and whether it is the expected one.
(world) => {
    const volume = window.services.segmentationService.getLabelmapVolume('1');
    const [nx, ny] = volume.dimensions;
    const [i, j, k] = volume.imageData.worldToIndex(world).map(Math.round);
    return volume.voxelManager.getCompleteScalarDataArray()[i + nx * (j + ny * k)];
}
