/* mode.js: the mode OHIF loads, and its registration. */
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
