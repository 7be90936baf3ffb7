/* save_label.js: the Save Label button (also behind Export DICOM SEG, see mode.js). */
/* The labelmap as the app's label values, one byte per voxel of the series in the viewer's frame order (MONAI
 * Label's binary_to_image puts label.bin on the series grid). Returns null when the panel has made none. */
function labelBytes(segmentationService) {
  const segmentation = segmentationService.getSegmentation(LABELMAP_ID);
  const volume = segmentationService.getLabelmapVolume(LABELMAP_ID);
  if (!segmentation || !volume) {
    return null;
  }
  const toApp = new Uint8Array(256);
  for (const [index, segment] of Object.entries(segmentation.segments || {})) {
    if (segment && Object.prototype.hasOwnProperty.call(APP.labels, segment.label)) {
      toApp[Number(index)] = APP.labels[segment.label];
    }
  }
  const data = volume.voxelManager.getCompleteScalarDataArray();
  const bytes = new Uint8Array(data.length);
  let labeled = 0;
  for (let i = 0; i < data.length; i++) {
    bytes[i] = toApp[data[i]];
    labeled += bytes[i] ? 1 : 0;
  }
  return { bytes, labeled };
}

async function saveLabel(servicesManager) {
  const { segmentationService } = servicesManager.services;
  const notify = notifier(servicesManager);
  const label = labelBytes(segmentationService);
  if (!label) {
    notify('error', 'Nothing to save: connect the MONAI Label panel, then segment or paint the study.');
    return;
  }
  if (!label.labeled) {
    notify('warning', 'Nothing to save: no voxel is labeled ' + Object.keys(APP.labels).join(' or ') + '.');
    return;
  }
  const series = activeSeriesUID(servicesManager);
  const form = new FormData();
  form.append('params', JSON.stringify({ client_id: CLIENT_ID }));
  form.append('label', new Blob([label.bytes], { type: 'application/octet-stream' }), 'label.bin');
  const url = APP.apiRoot + '/datastore/label?image=' + encodeURIComponent(series) + '&tag=final';
  let response;
  try {
    response = await fetch(url, { method: 'PUT', body: form });
  } catch (error) {
    notify('error', 'Label not saved: the MONAI Label server did not answer (' + error.message + ').');
    return;
  }
  if (!response.ok) {
    notify('error', 'Label not saved (' + response.status + '): ' + (await refusal(response)));
    return;
  }
  notify('success', 'Label saved: ' + label.labeled + ' labeled voxels.');
}
