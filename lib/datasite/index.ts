/**
 * The datasite library: syft-job's on-disk job layout, byte-compatible with the Python `syft-job`/`syft-client`.
 * Pure codecs (pyyaml, state, config, permissions' codec, runsh, transitions, settle) and a thin fs shell (jobs,
 * permissions' edits, fsread). See each module's header for the rules it reproduces.
 */

export * from './problems';
export * from './pyyaml';
export * from './pyrepr';
export * from './time';
export * from './paths';
export * from './state';
export * from './config';
export * from './transitions';
export * from './settle';
export * from './runsh';
export * from './permissions';
export * from './fsread';
export * from './jobs';
