/** Peers over Google Drive (protocol reference §2): version exchange, requests, approval, the approve pass. */
export * from './version';
export * from './compat';
export * from './peers-file';
export * from './requests';
export * from './policy';
export * from './datasets';
export * from './remote';
export * from './approve-peer';
export * from './peer-pass';
