// Scroll the axial viewport to the slice of a world point and return the point's position on the page.
(world) => {
    const viewport = window.cornerstone.getRenderingEngines().flatMap(e => e.getViewports())
        .find(v => v.id === 'mpr-axial');
    const camera = viewport.getCamera();
    const dz = world[2] - camera.focalPoint[2];
    viewport.setCamera({
        focalPoint: [camera.focalPoint[0], camera.focalPoint[1], world[2]],
        position: [camera.position[0], camera.position[1], camera.position[2] + dz],
    });
    viewport.render();
    const [x, y] = viewport.worldToCanvas(world);
    const box = viewport.element.getBoundingClientRect();
    return [box.left + x, box.top + y];
}
