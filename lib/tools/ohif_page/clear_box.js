// Background in the middle of the middle axial slice, as an annotator erasing a region the model got wrong: the barely
// trained test model sometimes labels every voxel, which leaves nowhere to paint a correction into (seen on CI).
(side) => {
    const volume = window.services.segmentationService.getLabelmapVolume('1');
    const [nx, ny, nz] = volume.dimensions;
    const data = volume.voxelManager.getCompleteScalarDataArray().slice();
    const k = Math.floor(nz / 2), i0 = Math.floor((nx - side) / 2), j0 = Math.floor((ny - side) / 2);
    for (let j = j0; j < j0 + side; j++) for (let i = i0; i < i0 + side; i++) data[i + nx * (j + ny * k)] = 0;
    volume.voxelManager.setCompleteScalarDataArray(data);
}
