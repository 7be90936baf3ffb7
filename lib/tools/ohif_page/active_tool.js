// Whether the axial viewport's tool group has ``name`` as its primary (left-button) tool.
(name) => {
    const group = window.services.toolGroupService.getToolGroupForViewport('mpr-axial');
    return !!group && group.getActivePrimaryMouseButtonTool() === name;
}
