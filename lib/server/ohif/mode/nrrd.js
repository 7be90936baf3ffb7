/* nrrd.js: the one result format the Uncertainty button reads. */
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
