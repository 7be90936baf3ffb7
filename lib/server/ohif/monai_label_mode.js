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
 * __APP__ is replaced by the server with {labels: {name: value}, defaultStrategy, apiRoot,
 * overlay: {model, label}}.
 */
(function () {
  'use strict';

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

  const setToolActiveToolbar = {
    commandName: 'setToolActiveToolbar',
    commandOptions: { toolGroupIds: ['default', 'mpr', 'SRToolGroup', 'volume3d'] },
  };

  function tool(id, icon, label, evaluate) {
    return { id, uiType: 'ohif.radioGroup', props: { icon, label, commands: setToolActiveToolbar, evaluate } };
  }

  function brushOptions(prefix, toolNames, radius) {
    return [
      {
        name: 'Radius (mm)', id: prefix + '-radius', type: 'range', min: 0.5, max: 99.5, step: 0.5, value: radius,
        commands: { commandName: 'setBrushSize', commandOptions: { toolNames } },
      },
      {
        name: 'Shape', type: 'radio', id: prefix + '-mode', value: toolNames[0],
        values: [{ value: toolNames[0], label: 'Circle' }, { value: toolNames[1], label: 'Sphere' }],
        commands: 'setToolActiveToolbar',
      },
    ];
  }

  const toolbarButtons = [
    tool('WindowLevel', 'tool-window-level', 'Window Level', 'evaluate.cornerstoneTool'),
    tool('Pan', 'tool-move', 'Pan', 'evaluate.cornerstoneTool'),
    tool('Zoom', 'tool-zoom', 'Zoom', 'evaluate.cornerstoneTool'),
    tool('TrackballRotate', 'tool-3d-rotate', '3D Rotate', {
      name: 'evaluate.cornerstoneTool', disabledText: 'Select a 3D viewport to enable this tool',
    }),
    {
      id: 'Capture', uiType: 'ohif.radioGroup',
      props: { icon: 'tool-capture', label: 'Capture', commands: 'showDownloadViewportModal', evaluate: 'evaluate.action' },
    },
    {
      id: 'Layout', uiType: 'ohif.layoutSelector',
      props: { rows: 3, columns: 4, evaluate: 'evaluate.action', commands: 'setViewportGridLayout' },
    },
    {
      id: 'Crosshairs', uiType: 'ohif.radioGroup',
      props: {
        icon: 'tool-crosshair', label: 'Crosshairs',
        commands: { commandName: 'setToolActiveToolbar', commandOptions: { toolGroupIds: ['mpr'] } },
        evaluate: { name: 'evaluate.cornerstoneTool', disabledText: 'Select an MPR viewport to enable this tool' },
      },
    },
    {
      id: 'Uncertainty', uiType: 'ohif.radioGroup',
      props: {
        icon: 'tool-fusion-color', label: 'Uncertainty (show / hide)', commands: 'monaiLabelToggleUncertainty',
        evaluate: 'evaluate.action',
      },
    },
    {
      id: 'SaveLabel', uiType: 'ohif.radioGroup',
      props: { icon: 'icon-upload', label: 'Save Label', commands: 'monaiLabelSaveLabel', evaluate: 'evaluate.action' },
    },
    {
      id: 'BrushTools', uiType: 'ohif.buttonGroup',
      props: {
        groupId: 'BrushTools',
        items: [
          {
            id: 'Brush', icon: 'icon-tool-brush', label: 'Brush',
            evaluate: {
              name: 'evaluate.cornerstone.segmentation', toolNames: ['CircularBrush', 'SphereBrush'],
              disabledText: 'Connect the MONAI Label panel first: it creates the segmentation to paint in.',
            },
            options: brushOptions('brush', ['CircularBrush', 'SphereBrush'], 5),
          },
          {
            id: 'Eraser', icon: 'icon-tool-eraser', label: 'Eraser',
            evaluate: { name: 'evaluate.cornerstone.segmentation', toolNames: ['CircularEraser', 'SphereEraser'] },
            options: brushOptions('eraser', ['CircularEraser', 'SphereEraser'], 5),
          },
          {
            id: 'Threshold', icon: 'icon-tool-threshold', label: 'Threshold Tool',
            evaluate: {
              name: 'evaluate.cornerstone.segmentation', toolNames: ['ThresholdCircularBrush', 'ThresholdSphereBrush'],
            },
            options: brushOptions('threshold', ['ThresholdCircularBrush', 'ThresholdSphereBrush'], 5).concat([
              {
                name: 'ThresholdRange', type: 'double-range', id: 'threshold-range',
                min: -1000, max: 1000, step: 1, value: [100, 600],
                commands: {
                  commandName: 'setThresholdRange',
                  commandOptions: { toolNames: ['ThresholdCircularBrush', 'ThresholdSphereBrush'] },
                },
              },
            ]),
          },
        ],
      },
    },
    {
      id: 'Shapes', uiType: 'ohif.radioGroup',
      props: {
        label: 'Shapes', icon: 'icon-tool-shape',
        evaluate: {
          name: 'evaluate.cornerstone.segmentation', toolNames: ['CircleScissor', 'SphereScissor', 'RectangleScissor'],
        },
        options: [
          {
            name: 'Shape', type: 'radio', value: 'CircleScissor', id: 'shape-mode',
            values: [
              { value: 'CircleScissor', label: 'Circle' },
              { value: 'SphereScissor', label: 'Sphere' },
              { value: 'RectangleScissor', label: 'Rectangle' },
            ],
            commands: 'setToolActiveToolbar',
          },
        ],
      },
    },
  ];

  function createTools(utilityModule) {
    const { toolNames, Enums } = utilityModule.exports;
    const brush = (toolName, activeStrategy) => ({ toolName, parentTool: 'Brush', configuration: { activeStrategy } });
    return {
      active: [
        { toolName: toolNames.WindowLevel, bindings: [{ mouseButton: Enums.MouseBindings.Primary }] },
        { toolName: toolNames.Pan, bindings: [{ mouseButton: Enums.MouseBindings.Auxiliary }] },
        { toolName: toolNames.Zoom, bindings: [{ mouseButton: Enums.MouseBindings.Secondary }] },
        { toolName: toolNames.StackScroll, bindings: [{ mouseButton: Enums.MouseBindings.Wheel }] },
      ],
      passive: [
        brush('CircularBrush', 'FILL_INSIDE_CIRCLE'),
        brush('CircularEraser', 'ERASE_INSIDE_CIRCLE'),
        brush('SphereBrush', 'FILL_INSIDE_SPHERE'),
        brush('SphereEraser', 'ERASE_INSIDE_SPHERE'),
        brush('ThresholdCircularBrush', 'THRESHOLD_INSIDE_CIRCLE'),
        brush('ThresholdSphereBrush', 'THRESHOLD_INSIDE_SPHERE'),
        { toolName: toolNames.CircleScissors },
        { toolName: toolNames.RectangleScissors },
        { toolName: toolNames.SphereScissors },
        { toolName: toolNames.StackScroll },
        { toolName: 'ProbeMONAILabel' },
      ],
      disabled: [{ toolName: toolNames.ReferenceLines }],
    };
  }

  function initToolGroups(extensionManager, toolGroupService) {
    const utilityModule = extensionManager.getModuleEntry('@ohif/extension-cornerstone.utilityModule.tools');
    toolGroupService.createToolGroupAndAddTools('default', createTools(utilityModule));
    const mpr = createTools(utilityModule);
    mpr.disabled.push({ toolName: utilityModule.exports.toolNames.Crosshairs, configuration: { disableOnPassive: true } });
    toolGroupService.createToolGroupAndAddTools('mpr', mpr);
    const { toolNames, Enums } = utilityModule.exports;
    toolGroupService.createToolGroupAndAddTools('volume3d', {
      active: [
        { toolName: toolNames.TrackballRotateTool, bindings: [{ mouseButton: Enums.MouseBindings.Primary }] },
        { toolName: toolNames.Zoom, bindings: [{ mouseButton: Enums.MouseBindings.Secondary }] },
        { toolName: toolNames.Pan, bindings: [{ mouseButton: Enums.MouseBindings.Auxiliary }] },
      ],
    });
  }

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

  /* A result of POST /infer?output=image as OHIF's panel asks for it: NRRD, raw one-byte voxels in the series'
   * frame order. (The bundled panel's reader is not reachable from here; this reads only that form.) */
  function parseNrrd(buffer) {
    const bytes = new Uint8Array(buffer);
    let end = -1;
    for (let i = 0; i + 1 < bytes.length && i < 65536; i++) {
      if (bytes[i] === 10 && bytes[i + 1] === 10) {
        end = i + 2;
        break;
      }
    }
    const header = end > 0 ? new TextDecoder().decode(bytes.subarray(0, end)) : '';
    if (!header.startsWith('NRRD') || !/^encoding: raw$/m.test(header) || !/^type: (unsigned char|uchar|uint8)$/m.test(header)) {
      throw new Error('not a raw one-byte NRRD');
    }
    return bytes.slice(end);
  }

  function viewportIds(servicesManager) {
    return Array.from(servicesManager.services.viewportGridService.getState().viewports.keys());
  }

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

  /* The bundled panel always asks for /activelearning/random (its strategy select has no change handler): point
   * the request at the strategy the select shows, and show APP.defaultStrategy first. Its /info/ answer loses the
   * overlay model, which the Uncertainty button runs instead. */
  function strategySelect() {
    for (const select of document.querySelectorAll('select.actionInput')) {
      if (select.querySelector('option[value="' + APP.defaultStrategy + '"]')) {
        return select;
      }
    }
    return null;
  }

  function withoutOverlayModel(xhr, name) {
    const original = Object.getOwnPropertyDescriptor(XMLHttpRequest.prototype, name).get;
    Object.defineProperty(xhr, name, {
      configurable: true,
      get() {
        const value = original.call(xhr);
        if (xhr.readyState !== 4 || xhr.status !== 200 || !value) {
          return value;
        }
        try {
          const info = typeof value === 'string' ? JSON.parse(value) : value;
          if (info.models) {
            delete info.models[APP.overlay.model];
          }
          return typeof value === 'string' ? JSON.stringify(info) : info;
        } catch (error) {
          return value;
        }
      },
    });
  }

  function steerThePanel() {
    const open = XMLHttpRequest.prototype.open;
    XMLHttpRequest.prototype.open = function (method, url) {
      const args = Array.prototype.slice.call(arguments);
      const select = strategySelect();
      if (typeof url === 'string' && select && /\/activelearning\/random(\?|$)/.test(url)) {
        args[1] = url.replace('/activelearning/random', '/activelearning/' + encodeURIComponent(select.value));
      }
      if (typeof url === 'string' && /\/info\/?(\?|$)/.test(url)) {
        withoutOverlayModel(this, 'responseText');
        withoutOverlayModel(this, 'response');
      }
      return open.apply(this, args);
    };
    new MutationObserver(() => {
      const select = strategySelect();
      if (select && !select.dataset.appDefault) {
        select.dataset.appDefault = 'set';
        select.value = APP.defaultStrategy;
      }
    }).observe(document.documentElement, { childList: true, subtree: true });
  }

  const extensionDependencies = {
    '@ohif/extension-default': '^3.0.0',
    '@ohif/extension-cornerstone': '^3.0.0',
    '@ohif/extension-cornerstone-dicom-seg': '^3.0.0',
    '@ohif/extension-monai-label': '^3.0.0',
  };

  let replaced = []; // [context, the command this mode replaced] for 'storeSegmentation'

  function modeFactory() {
    return {
      id: MODE_ID,
      routeName: 'monai-label',
      displayName: 'MONAI Label',
      onModeEnter: ({ servicesManager, extensionManager, commandsManager }) => {
        const { measurementService, toolbarService, toolGroupService } = servicesManager.services;
        measurementService.clearMeasurements();
        initToolGroups(extensionManager, toolGroupService);
        const save = { commandFn: () => saveLabel(servicesManager) };
        commandsManager.registerCommand('DEFAULT', 'monaiLabelSaveLabel', save);
        commandsManager.registerCommand('DEFAULT', 'monaiLabelToggleUncertainty', {
          commandFn: () => toggleUncertainty(servicesManager, commandsManager),
        });
        overlay = null;
        // The segmentation panel's Export DICOM SEG runs 'storeSegmentation', which in this build tears the viewer
        // down: it saves through the app instead (a SEG of the whole series in the PACS, the app's segment values).
        replaced = [];
        for (const [context, commands] of Object.entries(commandsManager.contexts || {})) {
          if (commands && commands.storeSegmentation) {
            replaced.push([context, commands.storeSegmentation]);
            commandsManager.registerCommand(context, 'storeSegmentation', save);
          }
        }
        toolbarService.addButtons(toolbarButtons);
        toolbarService.createButtonSection('primary', [
          'WindowLevel', 'Pan', 'Zoom', 'TrackballRotate', 'Capture', 'Layout', 'Crosshairs', 'Uncertainty', 'SaveLabel',
        ]);
        toolbarService.createButtonSection('segmentationToolbox', ['BrushTools', 'Shapes']);
      },
      onModeExit: ({ servicesManager, commandsManager }) => {
        for (const [context, original] of replaced) {
          commandsManager.registerCommand(context, 'storeSegmentation', original);
        }
        replaced = [];
        const s = servicesManager.services;
        s.uiDialogService.dismissAll();
        s.uiModalService.hide();
        s.toolGroupService.destroy();
        s.syncGroupService.destroy();
        s.segmentationService.destroy();
        s.cornerstoneViewportService.destroy();
      },
      validationTags: { study: [], series: [] },
      isValidMode: ({ modalities }) => {
        const list = modalities.split('\\');
        return { valid: list.includes('CT') || list.includes('MR'), description: 'Needs a CT or MR series' };
      },
      routes: [
        {
          path: 'monai-label',
          layoutTemplate: () => ({
            id: '@ohif/extension-default.layoutTemplateModule.viewerLayout',
            props: {
              rightPanelDefaultClosed: false,
              leftPanels: ['@ohif/extension-default.panelModule.seriesList'],
              rightPanels: [
                '@ohif/extension-monai-label.panelModule.monailabel',
                '@ohif/extension-cornerstone.panelModule.panelSegmentationWithTools',
              ],
              viewports: [
                {
                  namespace: '@ohif/extension-cornerstone.viewportModule.cornerstone',
                  displaySetsToDisplay: ['@ohif/extension-default.sopClassHandlerModule.stack'],
                },
                {
                  namespace: '@ohif/extension-cornerstone-dicom-seg.viewportModule.dicom-seg',
                  displaySetsToDisplay: ['@ohif/extension-cornerstone-dicom-seg.sopClassHandlerModule.dicom-seg'],
                },
              ],
            },
          }),
        },
      ],
      extensions: extensionDependencies,
      hangingProtocol: 'mpr',
      sopClassHandlers: [
        '@ohif/extension-default.sopClassHandlerModule.stack',
        '@ohif/extension-cornerstone-dicom-seg.sopClassHandlerModule.dicom-seg',
      ],
      hotkeys: [],
    };
  }

  steerThePanel();
  window.config.modes = [{ id: MODE_ID, modeFactory, extensionDependencies }];
})();
