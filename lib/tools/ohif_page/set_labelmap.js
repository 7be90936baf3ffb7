(values) => {
    const volume = window.services.segmentationService.getLabelmapVolume('1');
    const data = volume.voxelManager.getCompleteScalarDataArray();
    const before = Array.from(data);
    const next = values === null ? new Uint8Array(data.length) : Uint8Array.from(values);
    volume.voxelManager.setCompleteScalarDataArray(next);
    return before;
}
