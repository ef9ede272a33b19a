/**
 * Lazy access to `yaml` and `zod`. Together they take ~110 ms to load, which the `status` fast path
 * (`loadConfigCached`) must not pay, so no module under lib/config imports them at the top level:
 * type-only imports are erased, and the runtime modules are required here on first use.
 */
type YamlModule = typeof import('yaml');
type ZodModule = typeof import('zod');

let yamlModule: YamlModule | undefined;
let zodModule: ZodModule | undefined;

export function yamlLib(): YamlModule {
  if (yamlModule === undefined) yamlModule = require('yaml') as YamlModule;
  return yamlModule;
}

export function zodLib(): ZodModule['z'] {
  if (zodModule === undefined) zodModule = require('zod') as ZodModule;
  return zodModule.z;
}
