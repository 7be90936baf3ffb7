() => {
    const cs = window.cornerstone;
    const volumes = cs && cs.cache.getVolumes ? cs.cache.getVolumes() : [];
    return volumes.length > 0 && volumes.every(v => !v.loadStatus || v.loadStatus.loaded);
}
