/* toolbar.js: the toolbar's buttons and the tool groups (Brush, Eraser, Threshold, Shapes beside the viewing
 * tools). */
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
