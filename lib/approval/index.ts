/** The auto-approval core: hashing, objects, validation. See the modules for the reference behaviour and fixes. */
export * from './hash';
export * from './types';
export * from './text';
export * from './paths';
export * from './snapshot';
export * from './store';
export * from './validate';
export * from './objects';
