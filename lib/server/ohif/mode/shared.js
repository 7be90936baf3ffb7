/*
 * The app's MONAI Label mode for the OHIF 3.10.0-beta.5 viewer that monailabel 0.8.5 ships, appended by the server to
 * the stock /ohif/app-config.js (lib/server/ohif_config.py). OHIF loads window.config.modes before its bundled modes
 * and keeps the first mode of an id, so this one replaces the bundled '@ohif/mode-monai-label' without rebuilding
 * OHIF. It keeps what the bundled mode has and adds what an annotator needs to correct and save in the browser:
 *
 *  - OHIF's segmentation panel with Brush, Eraser, Threshold and Shapes beside the MONAI Label panel (the bundled mode
 *    names BrushTools/Shapes but never defines them, so the panel could not be added);
 *  - a Save Label button: the labelmap the panel fills ('1'), segments mapped to the app's label values by name (a
 *    segment the app does not label, such as one the annotator added, is never saved), sent as label.bin with
 *    PUT /datastore/label (tag final); the server's answer, or its error message, is shown;
 *  - Next Sample with the 'uncertainty' strategy (the bundled panel starts at 'random' and, lacking a change handler,
 *    always asks for 'random': the request is pointed at the strategy its select shows);
 *  - Export DICOM SEG of the segmentation panel saves through the app as Save Label does (in this build OHIF's own
 *    export tears down the viewer: OHIF/Viewers #4584);
 *  - an Uncertainty button: the app's uncertainty_region result as its own segmentation ('Uncertainty', one locked
 *    segment) that the button shows and hides, beside the labelmap to save. The bundled panel would write that
 *    result into labelmap '1' and wipe the segmentation there, so the model is kept out of the panel's list.
 *
 * The server joins the parts of this folder, in the order of lib/server/ohif_config.MODE_PARTS, inside one function
 * (no build step), and puts the app's settings in place of the placeholder below: {labels: {name: value},
 * defaultStrategy, apiRoot, overlay: {model, label}}.
 */

/* shared.js: the app's settings and what every part uses. */
const APP = __APP__;
const MODE_ID = '@ohif/mode-monai-label';
const LABELMAP_ID = '1'; // the segmentation the MONAI Label panel creates and fills
const OVERLAY_ID = 'uncertainty'; // the segmentation of the Uncertainty button
const OVERLAY_COLOR = [255, 190, 0, 255];
const CLIENT_ID = (function () {
  const key = 'monailabel-client-id';
  let id = window.sessionStorage.getItem(key);
  if (!id) {
    id = 'ohif-' + Math.random().toString(36).slice(2, 10);
    window.sessionStorage.setItem(key, id);
  }
  return id;
})();

function activeSeriesUID(servicesManager) {
  const { viewportGridService, displaySetService } = servicesManager.services;
  const { activeViewportId, viewports } = viewportGridService.getState();
  const uids = viewports.get(activeViewportId).displaySetInstanceUIDs;
  for (const uid of uids) {
    const displaySet = displaySetService.getDisplaySetByUID(uid);
    if (displaySet && displaySet.Modality !== 'SEG') {
      return displaySet.SeriesInstanceUID;
    }
  }
  return displaySetService.getDisplaySetByUID(uids[0]).SeriesInstanceUID;
}

function notifier(servicesManager) {
  const { uiNotificationService } = servicesManager.services;
  return (type, message) =>
    uiNotificationService.show({ title: 'MONAI Label', message, type, duration: /success|info/.test(type) ? 4000 : 10000 });
}

/* Why the server refused a request: its JSON detail (the app's 4xx messages), else the status text. */
async function refusal(response) {
  try {
    return (await response.json()).detail || response.statusText;
  } catch (error) {
    return response.statusText;
  }
}

function viewportIds(servicesManager) {
  return Array.from(servicesManager.services.viewportGridService.getState().viewports.keys());
}
