// Points to correct, in patient space (LPS mm, what Cornerstone calls world coordinates), on one axial slice: the voxel
// of the model's segment ``name`` with the most in-plane neighbours of that segment (null if the model made none), and
// three background voxels near the middle of that slice, 6 voxels apart, with a clear margin of 2 voxels (a 3 mm brush),
// for painting. The slice is the one with room for both: a barely trained model may fill whole slices with organ
// (CI run of stop 19), so the slice of the most interior voxel alone can leave no background to paint on.
(name) => {
    const service = window.services.segmentationService;
    const segments = service.getSegmentation('1').segments;
    const index = Number(Object.keys(segments).find(i => segments[i] && segments[i].label === name));
    const volume = service.getLabelmapVolume('1');
    const [nx, ny, nz] = volume.dimensions;
    const data = volume.voxelManager.getCompleteScalarDataArray();
    const at = (i, j, k) => data[i + nx * (j + ny * k)];
    const count = (i, j, k, r, v) => {
        let n = 0;
        for (let a = -r; a <= r; a++) for (let b = -r; b <= r; b++) n += at(i + a, j + b, k) === v ? 1 : 0;
        return n;
    };
    const onSlice = k => {
        let inside = null, most = 0;
        for (let j = 1; j < ny - 1; j++)
            for (let i = 1; i < nx - 1; i++)
                if (at(i, j, k) === index && count(i, j, k, 1, index) > most) {
                    most = count(i, j, k, 1, index);
                    inside = [i, j, k];
                }
        const free = [];
        for (let j = 3; j < ny - 3; j++) for (let i = 3; i < nx - 3; i++)
            if (count(i, j, k, 2, 0) === 25) free.push([(i - nx / 2) ** 2 + (j - ny / 2) ** 2, [i, j, k]]);
        free.sort((a, b) => a[0] - b[0]);
        const spaced = [];  // free voxels at least 6 voxels apart, nearest the middle first
        for (const f of free)
            if (spaced.every(g => Math.abs(f[1][0] - g[0]) + Math.abs(f[1][1] - g[1]) >= 6)) spaced.push(f[1]);
        // Room for every stroke first (two background points, three without the segment), then the most interior
        // voxel of the segment, then the middle slice.
        const room = spaced.length >= (inside ? 2 : 3) ? 1 : 0;
        return {inside, spaced, rank: [room, most, -Math.abs(k - nz / 2)]};
    };
    const ahead = (a, b) => {  // a ranks before b (lexicographic)
        const n = a.findIndex((v, m) => v !== b[m]);
        return n >= 0 && a[n] > b[n];
    };
    let best = null;
    for (let k = 0; k < nz; k++) {
        const slice = onSlice(k);
        if (!best || ahead(slice.rank, best.rank)) best = slice;
    }
    const world = ijk => (ijk ? Array.from(volume.imageData.indexToWorld(ijk)) : null);
    return {
        inside: world(best.inside),
        background: world(best.spaced[0]),
        background2: world(best.spaced[1]),
        background3: world(best.spaced[2]),
    };
}
