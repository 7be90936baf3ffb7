/* uncertainty_overlay.js: the Uncertainty button. */
let overlay = null; // {series, visible} of the Uncertainty segmentation in the viewer

function showOverlay(servicesManager, visible) {
  const { segmentationService } = servicesManager.services;
  for (const viewportId of viewportIds(servicesManager)) {
    segmentationService.setSegmentVisibility(viewportId, OVERLAY_ID, 1, visible);
  }
  overlay.visible = visible;
}

/* First press on a series: run the app's uncertainty_region model and show its mask; later presses hide and show
 * it. The labelmap the annotator corrects and saves ('1') stays untouched and stays the active one. */
async function toggleUncertainty(servicesManager, commandsManager) {
  const { segmentationService } = servicesManager.services;
  const notify = notifier(servicesManager);
  const series = activeSeriesUID(servicesManager);
  if (overlay && overlay.series === series && segmentationService.getSegmentation(OVERLAY_ID)) {
    showOverlay(servicesManager, !overlay.visible);
    return;
  }
  const form = new FormData();
  const params = { result_extension: '.nrrd', result_dtype: 'uint8', result_compress: false, restore_label_idx: false };
  form.append('params', JSON.stringify(params));
  const url = APP.apiRoot + '/infer/' + encodeURIComponent(APP.overlay.model) + '?image=' +
    encodeURIComponent(series) + '&output=image';
  let mask;
  try {
    const response = await fetch(url, { method: 'POST', body: form });
    if (!response.ok) {
      notify('error', 'Uncertainty not shown (' + response.status + '): ' + (await refusal(response)));
      return;
    }
    mask = parseNrrd(await response.arrayBuffer());
  } catch (error) {
    notify('error', 'Uncertainty not shown: ' + error.message);
    return;
  }
  if (segmentationService.getSegmentation(OVERLAY_ID)) {
    segmentationService.remove(OVERLAY_ID);
  }
  const segments = { 1: { segmentIndex: 1, label: APP.overlay.label, active: false, locked: true } };
  await commandsManager.runCommand('loadSegmentationsForViewport', {
    segmentations: [
      { segmentationId: OVERLAY_ID, representation: { type: 'Labelmap' }, config: { label: 'Uncertainty', segments } },
    ],
  });
  const volume = segmentationService.getLabelmapVolume(OVERLAY_ID);
  const voxels = volume.voxelManager.getCompleteScalarDataArray().length;
  if (mask.length !== voxels) {
    segmentationService.remove(OVERLAY_ID);
    notify('error', 'Uncertainty not shown: ' + mask.length + ' voxels from the server, ' + voxels + ' in the viewer.');
    return;
  }
  volume.voxelManager.setCompleteScalarDataArray(mask);
  window.cornerstoneTools.segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(OVERLAY_ID);
  const shown = segmentationService.getSegmentationRepresentations;
  for (const viewportId of viewportIds(servicesManager)) {
    if (!shown.call(segmentationService, viewportId).some(r => r.segmentationId === OVERLAY_ID)) {
      await segmentationService.addSegmentationRepresentation(viewportId, { segmentationId: OVERLAY_ID });
    }
    segmentationService.setSegmentColor(viewportId, OVERLAY_ID, 1, OVERLAY_COLOR);
    if (segmentationService.getSegmentation(LABELMAP_ID)) {
      segmentationService.setActiveSegmentation(viewportId, LABELMAP_ID);
    }
  }
  overlay = { series, visible: true };
  showOverlay(servicesManager, true);
  let uncertain = 0;
  for (let i = 0; i < mask.length; i++) {
    uncertain += mask[i] ? 1 : 0;
  }
  notify('info', 'Uncertainty: ' + uncertain + ' voxels (' + (100 * uncertain / mask.length).toFixed(1) +
    ' % of the series) where the model is unsure. Press again to hide.');
}
