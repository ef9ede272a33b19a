/** Pure codecs of the SyftBox Drive transport (protocol §3): names, tarballs, messages, state files, paths, ACLs. */
export * from './errors';
export * from './names';
export * from './tarball';
export * from './content';
export * from './proposal';
export * from './events';
export * from './state-files';
export * from './paths';
export * from './access';
export { globMatch, fnmatch } from './glob';
